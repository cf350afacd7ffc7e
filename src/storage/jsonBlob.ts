// JSON blobs (run records, worker results): read whole (a missing blob is undefined) and written with a JSON
// content type. Shared by the run's store (runs/runStore.ts) and the image's (archiveStore.ts).
import type { ContainerClient } from "@azure/storage-blob";
import { storageError, storageErrorCode } from "./storageError.js";

export interface JsonBlobOptions {
  abortSignal?: AbortSignal;
}

export interface WriteJsonBlobOptions extends JsonBlobOptions {
  /** Indented, with a final newline: for blobs people read (a run's summary). */
  pretty?: boolean;
  /** Write once: an existing blob is kept, and the call answers false. */
  ifNotExists?: boolean;
}

/** The blob's JSON, or undefined when it does not exist; any other failure (or a body that is not JSON) is STORAGE_ERROR. */
export async function readJsonBlob<T>(
  container: ContainerClient,
  name: string,
  options: JsonBlobOptions = {},
): Promise<T | undefined> {
  try {
    const buffer = await container.getBlockBlobClient(name).downloadToBuffer(0, undefined, options);
    return JSON.parse(buffer.toString("utf8")) as T;
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return undefined;
    throw storageError(`cannot read ${name}`, error);
  }
}

/**
 * Writes (or replaces) the blob, and answers true; with `ifNotExists`, an existing blob is kept and the answer is false.
 * Other failures are the storage client's own errors, for the caller to map.
 */
export async function writeJsonBlob(
  container: ContainerClient,
  name: string,
  value: unknown,
  options: WriteJsonBlobOptions = {},
): Promise<boolean> {
  const body = Buffer.from(options.pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value));
  try {
    await container.getBlockBlobClient(name).uploadData(body, {
      blobHTTPHeaders: { blobContentType: "application/json" },
      ...(options.ifNotExists && { conditions: { ifNoneMatch: "*" } }),
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    return true;
  } catch (error) {
    const { statusCode } = storageErrorCode(error);
    if (options.ifNotExists && (statusCode === 409 || statusCode === 412)) return false;
    throw error;
  }
}
