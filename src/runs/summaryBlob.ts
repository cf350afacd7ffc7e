// A run's summary blob (runs/<runId>/summary.json), for both kinds of run: streamed (storage/jsonArrayBlob.ts: the
// images are staged as they are read, one listing page or batch at a time, the head with the totals last) and written
// once: a run's records are final when it exists, so a retried activity, or a forged start under a finished run's id,
// finds it and keeps it. Its totals are also in its metadata, so that finding it reads no image.
import type { ContainerClient } from "@azure/storage-blob";
import { parseSummaryTotals, summaryBlobMetadata } from "../storage/blobMetadata.js";
import { summaryBlobName } from "../storage/blobNames.js";
import { JsonArrayBlobWriter } from "../storage/jsonArrayBlob.js";
import { readJsonBlob } from "../storage/jsonBlob.js";
import { storageError, storageErrorCode } from "../storage/storageError.js";
import type { ImageOutcome } from "./engine/workItem.js";

/** What a summary records for an image that never ran: it could not be resolved, or its batch failed. */
export function failedWithoutRunning(
  { repository, digest, tags }: Pick<ImageOutcome, "repository" | "digest" | "tags">,
  error: NonNullable<ImageOutcome["error"]>,
): ImageOutcome {
  return { repository, digest, tags, status: "failed", attempts: 0, durationSeconds: 0, error };
}

export interface SummaryWriteOptions {
  /** Bytes of images gathered before they are staged as one block (default 4 MiB). */
  blockBytes?: number;
}

/** The totals of the run's summary when it is written, else undefined. */
export async function writtenSummaryTotals<T>(container: ContainerClient, runId: string): Promise<T | undefined> {
  const name = summaryBlobName(runId);
  let metadata: Record<string, string> | undefined;
  try {
    metadata = (await container.getBlockBlobClient(name).getProperties()).metadata;
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return undefined;
    throw storageError(`cannot read ${name}`, error);
  }
  const totals = parseSummaryTotals<T>(metadata);
  if (totals !== undefined) return totals;
  // A summary written before its totals were kept in metadata: read whole, once.
  return (await readJsonBlob<{ totals: T }>(container, name))?.totals;
}

/** A writer of the run's summary; its images go under `images`, after the head. */
export function openSummary(
  container: ContainerClient,
  runId: string,
  options: SummaryWriteOptions = {},
): JsonArrayBlobWriter {
  return new JsonArrayBlobWriter(container, summaryBlobName(runId), "images", {
    pretty: true,
    ...(options.blockBytes !== undefined && { blockBytes: options.blockBytes }),
  });
}

/**
 * Commits the summary unless one is written already. Answers the totals of the summary that stands: these, or the
 * existing one's.
 */
export async function commitSummary<T>(
  writer: JsonArrayBlobWriter,
  container: ContainerClient,
  runId: string,
  head: { totals: T } & Record<string, unknown>,
): Promise<T> {
  let written: boolean;
  try {
    written = await writer.commit(head, {
      ifNotExists: true,
      metadata: summaryBlobMetadata(head.totals),
    });
  } catch (error) {
    throw storageError(`cannot write ${writer.name}`, error);
  }
  if (written) return head.totals;
  return (await writtenSummaryTotals<T>(container, runId)) ?? head.totals;
}

/** The order of a summary's images: by repository, then digest. */
export function byImage(a: { repository: string; digest: string }, b: { repository: string; digest: string }): number {
  return a.repository.localeCompare(b.repository) || a.digest.localeCompare(b.digest);
}
