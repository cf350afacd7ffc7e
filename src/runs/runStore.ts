// The blobs a run keeps for itself in the archive container (names from storage/blobNames.ts): the listing, the
// batches the orchestrations work through, their outcomes and the summary. Orchestrations pass run ids and batch
// numbers; the data lives here. An image's own blobs (archive, sidecar, worker result): storage/archiveStore.ts.
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { batchBlobName, batchOutcomesBlobName, listingBlobName, summaryBlobName } from "../storage/blobNames.js";
import { ensureContainer } from "../storage/blobServiceClient.js";
import { readJsonBlob, writeJsonBlob } from "../storage/jsonBlob.js";
import type { ImageOutcome, ImageWorkItem, ListedImage, RunSummary } from "./archiveRun.js";

/** Writes the listing and, when batchSize > 0, the batches of images still to archive. Returns the batch count. */
export async function writeListing(
  container: ContainerClient,
  runId: string,
  images: ListedImage[],
  batchSize: number,
): Promise<number> {
  await ensureContainer(container);
  await writeJsonBlob(container, listingBlobName(runId), images);
  if (batchSize <= 0) return 0;
  const todo: ImageWorkItem[] = images
    .filter((i) => !i.archived)
    .map(({ repository, digest, tags }) => ({ repository, digest, tags }));
  return writeBatches(container, runId, todo, batchSize);
}

/** Cuts the work items of a run (either kind) into batch blobs of batchSize. Returns the batch count. */
export async function writeBatches(
  container: ContainerClient,
  runId: string,
  todo: ImageWorkItem[],
  batchSize: number,
): Promise<number> {
  let batchCount = 0;
  for (let start = 0; start < todo.length; start += batchSize) {
    await writeJsonBlob(container, batchBlobName(runId, batchCount++), todo.slice(start, start + batchSize));
  }
  return batchCount;
}

export async function readListing(container: ContainerClient, runId: string): Promise<ListedImage[]> {
  return (await readJsonBlob<ListedImage[]>(container, listingBlobName(runId))) ?? [];
}

export async function readBatch(
  container: ContainerClient,
  runId: string,
  batchIndex: number,
): Promise<ImageWorkItem[]> {
  const batch = await readJsonBlob<ImageWorkItem[]>(container, batchBlobName(runId, batchIndex));
  if (!batch) throw new ArchiveError("STORAGE_ERROR", `batch ${batchIndex} of run ${runId} is missing`);
  return batch;
}

export async function writeBatchOutcomes(
  container: ContainerClient,
  runId: string,
  batchIndex: number,
  outcomes: ImageOutcome[],
): Promise<void> {
  await writeJsonBlob(container, batchOutcomesBlobName(runId, batchIndex), outcomes);
}

export async function readBatchOutcomes(
  container: ContainerClient,
  runId: string,
  batchIndex: number,
): Promise<ImageOutcome[]> {
  return (await readJsonBlob<ImageOutcome[]>(container, batchOutcomesBlobName(runId, batchIndex))) ?? [];
}

/**
 * Writes the summary once: a run's records are final when it exists (a retried activity, or a forged start under a
 * finished run's id, finds it and keeps it). Answers the summary that stands.
 */
export async function writeSummary<S extends { runId: string } = RunSummary>(
  container: ContainerClient,
  summary: S,
): Promise<{ name: string; summary: S }> {
  const name = summaryBlobName(summary.runId);
  if (await writeJsonBlob(container, name, summary, { pretty: true, ifNotExists: true })) return { name, summary };
  const existing = await readJsonBlob<S>(container, name);
  return { name, summary: existing ?? summary };
}

/** Refuses to touch the working records of a run whose summary is written: they are final. */
export async function assertRunNotEnded(container: ContainerClient, runId: string): Promise<void> {
  if (await container.getBlockBlobClient(summaryBlobName(runId)).exists()) {
    throw new ArchiveError("INVALID_ARGUMENT", `run ${runId} has ended: its records are final`);
  }
}
