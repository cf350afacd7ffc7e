// The one mapping of Azure Storage failures: the HTTP status and service code an error carries, and the
// ArchiveError (STORAGE_ERROR, retryable) a failed blob operation becomes, with the original kept as `cause`.
import { ArchiveError, describeError, isArchiveError } from "../errors.js";

/** Azure storage errors carry `statusCode` and `code` (`BlobAlreadyExists`, `BlobNotFound`, …). */
export function storageErrorCode(error: unknown): { statusCode?: number; code?: string } {
  const e = error as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return { statusCode: e?.statusCode, code: e?.code ?? e?.details?.errorCode };
}

/** `<message>: <code> (HTTP <status>)` as a STORAGE_ERROR; an ArchiveError passes through unchanged. */
export function storageError(message: string, error: unknown): ArchiveError {
  if (isArchiveError(error)) return error;
  const { statusCode, code } = storageErrorCode(error);
  return new ArchiveError(
    "STORAGE_ERROR",
    `${message}: ${code ?? describeError(error)}${statusCode ? ` (HTTP ${statusCode})` : ""}`,
    {
      cause: error,
      ...(statusCode && { statusCode }),
    },
  );
}
