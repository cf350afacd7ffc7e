// One error type for the whole app: a closed set of codes the caller can act on, a retryable flag,
// and the original error kept as `cause`. Check `isArchiveError` (by name), not instanceof, so it
// works across duplicate package copies and across the worker/orchestrator process boundary.

/** Every code an ArchiveError (and an image outcome's error) may carry: a closed set. */
export const ARCHIVE_ERROR_CODES = [
  "INVALID_ARGUMENT", // bad input from a user or a request body
  "ARCHIVE_INVALID", // an archive (or its sidecar) whose content is damaged or not an archive this tool can restore
  "INVALID_REFERENCE", // an image reference that does not parse
  "CONFIG_INVALID", // environment / settings that do not validate
  "REGISTRY_UNREACHABLE", // DNS, connection refused, TLS, timeouts after retries
  "REGISTRY_AUTH_FAILED", // 401/403 after authenticating
  "REGISTRY_NOT_FOUND", // 404: repository, tag or blob unknown
  "REGISTRY_ERROR", // any other registry answer; `registryCode` carries the spec code
  "REGISTRY_LOCKED", // ACR refused what a lock forbids (405 REGISTRY_DISALLOWED_OPERATION: read-, write- or delete-disabled)
  "UNSUPPORTED_MEDIA_TYPE", // a manifest we cannot archive faithfully
  "DIGEST_MISMATCH", // bytes that do not hash to the digest they were fetched by
  "REFERRER_GRAPH_INVALID", // an image's referrers (signatures, SBOMs) form a cycle, pass a bound, or name another subject
  "SIZE_MISMATCH", // bytes longer or shorter than their descriptor says
  "STORAGE_ERROR", // Blob Storage refused or failed
  "ARCHIVE_CONFLICT", // the archive's name is taken by another digest (explicit blobBaseName of a moved tag)
  "JOB_FAILED", // a job execution ended without success
  "REHYDRATION_TIMEOUT", // an archive's copy out of Archive tier did not complete within the run's limit
  "ORCHESTRATION_FAILED", // an orchestration step kept failing after its retries (a batch, an image's activities)
  "INTERNAL", // an error that is not ours (a bug, or a library's unexpected failure)
  "ABORTED", // cancelled through an AbortSignal
] as const;
export type ArchiveErrorCode = (typeof ARCHIVE_ERROR_CODES)[number];

/** An error as a result or an outcome carries it: a code of the catalogue and one line. */
export interface ErrorSummary {
  code: ArchiveErrorCode;
  message: string;
}

/**
 * An error reported by another process (a worker's result blob, which can be forged or stale): its code if it is one of
 * the catalogue's, else `fallback` with the reported code kept in the message.
 */
export function errorSummaryOf(
  reported: { code?: unknown; message?: unknown },
  fallback: ArchiveErrorCode,
): ErrorSummary {
  const message = typeof reported.message === "string" ? reported.message : "";
  if (isArchiveErrorCode(reported.code)) return { code: reported.code, message };
  return { code: fallback, message: `${String(reported.code).slice(0, 64)}: ${message}` };
}

export function isArchiveErrorCode(value: unknown): value is ArchiveErrorCode {
  return typeof value === "string" && (ARCHIVE_ERROR_CODES as readonly string[]).includes(value);
}

const RETRYABLE: ReadonlySet<ArchiveErrorCode> = new Set(["REGISTRY_UNREACHABLE", "STORAGE_ERROR", "JOB_FAILED"]);

export interface ArchiveErrorOptions {
  statusCode?: number;
  /** Distribution-spec error code (`BLOB_UNKNOWN`, `DENIED`, …) when the registry gave one. */
  registryCode?: string;
  retryable?: boolean;
  cause?: unknown;
}

export class ArchiveError extends Error {
  readonly code: ArchiveErrorCode;
  readonly statusCode?: number;
  readonly registryCode?: string;
  readonly retryable: boolean;

  constructor(code: ArchiveErrorCode, message: string, options: ArchiveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, "name", { value: "ArchiveError", enumerable: false });
    this.code = code;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options.registryCode !== undefined) this.registryCode = options.registryCode;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }

  /** A plain object that survives JSON (activity results, result blobs). */
  toJSON(): { code: ArchiveErrorCode; message: string; statusCode?: number; registryCode?: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.statusCode !== undefined && { statusCode: this.statusCode }),
      ...(this.registryCode !== undefined && { registryCode: this.registryCode }),
    };
  }
}

export function isArchiveError(error: unknown): error is ArchiveError {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "ArchiveError";
}

/** One line that says why, for a CLI exit or a summary entry: never a stack trace. */
export function describeError(error: unknown): string {
  if (isArchiveError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return firstLine(error) || error.name;
  return String(error);
}

/**
 * The first non-empty line of an error's message (or of a text), trimmed and cut to `maxLength` with an ellipsis:
 * what a summary entry, an execution's error or a log line keeps of a multi-line message or a stack.
 */
export function firstLine(errorOrText: unknown, maxLength = 300): string {
  const text = errorOrText instanceof Error ? errorOrText.message : String(errorOrText);
  const line = (text.split(/\r?\n/).find((l) => l.trim()) ?? "").trim();
  return line.length > maxLength ? `${line.slice(0, maxLength - 3)}...` : line;
}
