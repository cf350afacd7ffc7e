// The blobs a run keeps for itself in the archive container (names from storage/blobNames.ts): the listing pages, the
// batches the orchestrations work through, their outcomes and the summary. Orchestrations pass run ids and batch
// numbers; the data lives here. An image's own blobs (archive, sidecar, worker result): storage/archiveStore.ts.
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import {
  batchBlobName,
  batchOutcomesBlobName,
  listingPageBlobName,
  referrerProbeCursorBlobName,
  summaryBlobName,
} from "../storage/blobNames.js";
import { isValidRepository } from "../registry/reference.js";
import { ensureContainer } from "../storage/blobServiceClient.js";
import { readJsonBlob, writeJsonBlob } from "../storage/jsonBlob.js";
import type { ListedImage, ReferrerRefreshCounts } from "./archiveRun.js";
import type { ImageOutcome, ImageWorkItem } from "./engine/workItem.js";
import { referrerProbeCursorSchema, type ReferrerProbeCursor, type ReferrerProbeState } from "./referrerProbe.js";

/** One page of a run's listing, as kept in `runs/<runId>/listing/<page>.json`. */
export interface ListingPage {
  images: ListedImage[];
  /** The batches this page's images still to archive went into: firstBatch … firstBatch + batchCount - 1. */
  firstBatch: number;
  batchCount: number;
  /** The repository the catalog continues after; absent on the last page. */
  next?: string;
  /** Registry requests the page took (token requests and retries included). */
  registryRequests: number;
  /** refreshReferrers: what the page's referrer probes did (their requests are in registryRequests too). */
  referrers?: ReferrerRefreshCounts;
  /** refreshReferrers: the probes' cursor after this page, and whether the budget has left an image unprobed. */
  referrerProbe?: ReferrerProbeState;
}

/**
 * The work of a listing page, in its batches' order: the images to archive, and the archived ones whose new referrers
 * are to be archived. The summary slices the page's batches out of the same list.
 */
export function pageWorkItems(images: ListedImage[]): ImageWorkItem[] {
  return images
    .filter((i) => !i.archived || i.refreshReferrers)
    .map(({ repository, digest, tags, refreshReferrers }) => ({
      repository,
      digest,
      tags,
      ...(refreshReferrers && { refreshReferrers }),
    }));
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

/**
 * Writes one listing page: its batches first (when batchSize > 0), then the page itself, which marks it done: a retry
 * that finds the page blob answers it instead of listing again, and one that does not rewrites the same batches.
 */
export async function writeListingPage(
  container: ContainerClient,
  runId: string,
  page: number,
  listed: {
    images: ListedImage[];
    firstBatch: number;
    batchSize: number;
    next?: string;
    registryRequests: number;
    referrers?: ReferrerRefreshCounts;
    referrerProbe?: ReferrerProbeState;
  },
): Promise<ListingPage> {
  await ensureContainer(container);
  let batchCount = 0;
  if (listed.batchSize > 0) {
    const todo = pageWorkItems(listed.images);
    for (let start = 0; start < todo.length; start += listed.batchSize) {
      const batch = todo.slice(start, start + listed.batchSize);
      await writeJsonBlob(container, batchBlobName(runId, listed.firstBatch + batchCount++), batch);
    }
  }
  const written: ListingPage = {
    images: listed.images,
    firstBatch: listed.firstBatch,
    batchCount,
    ...(listed.next !== undefined && { next: listed.next }),
    registryRequests: listed.registryRequests,
    ...(listed.referrers && { referrers: listed.referrers }),
    ...(listed.referrerProbe && { referrerProbe: listed.referrerProbe }),
  };
  await writeJsonBlob(container, listingPageBlobName(runId, page), written);
  return written;
}

/**
 * Where a registry's refreshReferrers probes are in their round (see referrerProbeCursorBlobName); none, or one that
 * does not parse: the next run starts a round, from the first repository (nothing is skipped).
 */
export async function readReferrerProbeCursor(
  container: ContainerClient,
  registry: string,
): Promise<ReferrerProbeCursor> {
  const stored = await readJsonBlob<unknown>(container, referrerProbeCursorBlobName(registry));
  const parsed = referrerProbeCursorSchema.safeParse(stored ?? {});
  if (parsed.success) return parsed.data;
  // Written before positions inside a repository, `{ from }`: that repository from its first image, the ones before done.
  const from = (stored as { from?: unknown } | null)?.from;
  if (typeof from === "string" && isValidRepository(from)) return { through: from, resume: [{ repository: from }] };
  return {};
}

export async function writeReferrerProbeCursor(
  container: ContainerClient,
  registry: string,
  cursor: ReferrerProbeCursor,
): Promise<void> {
  await writeJsonBlob(container, referrerProbeCursorBlobName(registry), cursor);
}

/** A listing page, or undefined when it was not written (yet). */
export async function readListingPage(
  container: ContainerClient,
  runId: string,
  page: number,
): Promise<ListingPage | undefined> {
  return readJsonBlob<ListingPage>(container, listingPageBlobName(runId, page));
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

/** Refuses to touch the working records of a run whose summary is written: they are final. */
export async function assertRunNotEnded(container: ContainerClient, runId: string): Promise<void> {
  if (await container.getBlockBlobClient(summaryBlobName(runId)).exists()) {
    throw new ArchiveError("INVALID_ARGUMENT", `run ${runId} has ended: its records are final`);
  }
}
