// The work behind the run's activities, as plain functions over explicit dependencies (a container, a registry
// client, a job runner): listing a registry into batches, and assembling the run summary.
import type { ContainerClient } from "@azure/storage-blob";
import type { RegistryClient } from "../registry/registryClient.js";
import { archiveBlobName, sidecarBlobName, tagMarkerBlobName } from "../storage/blobNames.js";
import { listTagMarkers, writeTagMarker } from "../storage/tagMarkers.js";
import { z } from "zod";
import { emptyTotals, addOutcome, archiveRunInputSchema, type ImageOutcome, type ListImagesResult, type ListedImage, type RunSummary, type RunTotals } from "./archiveRun.js";
import { listRegistryImages } from "./imageListing.js";
import { listArchivedDigests, type ArchivedImageInfo } from "../storage/archiveStore.js";
import { readBatchOutcomes, readListing, writeListing, writeSummary } from "./runStore.js";

export const listRunImagesInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  /** The orchestration's current time (olderThanDays is measured from it). */
  nowUtc: z.iso.datetime(),
});
export type ListRunImagesInput = z.output<typeof listRunImagesInputSchema>;

export async function listRunImages(input: ListRunImagesInput, deps: { registry: RegistryClient; container: ContainerClient; abortSignal?: AbortSignal }): Promise<ListImagesResult> {
  const { run } = input;
  const images: ListedImage[] = [];
  const archivedByRepository = new Map<string, Map<string, ArchivedImageInfo>>();
  for await (const item of listRegistryImages(deps.registry, run.filters, { now: new Date(input.nowUtc), ...(deps.abortSignal && { abortSignal: deps.abortSignal }) })) {
    let archived = archivedByRepository.get(item.repository);
    if (!archived) {
      archived = await listArchivedDigests(deps.container, run.registry, item.repository);
      archivedByRepository.set(item.repository, archived);
    }
    const info = archived.get(item.digest);
    images.push({ ...item, archived: info?.archived ?? false, ...(info?.bytes !== undefined && { bytes: info.bytes }), ...(info?.sha256 && { sha256: info.sha256 }) });
  }
  if (!run.dryRun) await completeTagMarkers(deps.container, run.registry, images);
  // A dry run keeps the listing (for its summary) but makes no batches: nothing will be started.
  const batchCount = await writeListing(deps.container, run.runId, images, run.dryRun ? 0 : run.batchSize);
  const alreadyArchived = images.filter((i) => i.archived).length;
  return { total: images.length, toArchive: images.length - alreadyArchived, alreadyArchived, batchCount };
}

/** Tags added to an already-archived digest since it was archived get their marker (one listing per repository). */
async function completeTagMarkers(container: ContainerClient, registry: string, images: ListedImage[]): Promise<void> {
  const markersByRepository = new Map<string, Set<string>>();
  for (const image of images.filter((i) => i.archived && i.tags.length > 0)) {
    let markers = markersByRepository.get(image.repository);
    if (!markers) {
      markers = await listTagMarkers(container, registry, image.repository);
      markersByRepository.set(image.repository, markers);
    }
    const identity = { registry, repository: image.repository, digest: image.digest };
    for (const tag of image.tags) {
      if (!markers.has(tagMarkerBlobName(identity, tag))) await writeTagMarker(container, identity, archiveBlobName(identity), tag);
    }
  }
}

export const writeRunSummaryInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  batchCount: z.number().int().min(0).max(1_000_000),
  /** Batches whose sub-orchestration failed: their images are failed with this reason (unless outcomes were kept). */
  failedBatches: z.array(z.strictObject({ batchIndex: z.number().int().min(0), message: z.string().max(300) })).max(100_000).default([]),
  startedAtUtc: z.iso.datetime(),
  endedAtUtc: z.iso.datetime(),
  jobExecutions: z.number().int().min(0),
});
export type WriteRunSummaryInput = z.input<typeof writeRunSummaryInputSchema>;

/** Listing + batch outcomes → runs/<runId>/summary.json. Returns the blob name and the totals. */
export async function writeRunSummary(input: z.output<typeof writeRunSummaryInputSchema>, deps: { container: ContainerClient }): Promise<{ summaryBlob: string; totals: RunTotals }> {
  const { run } = input;
  const failedBatches = new Map(input.failedBatches.map((b) => [b.batchIndex, b.message]));
  const listing = await readListing(deps.container, run.runId);
  const outcomes: ImageOutcome[] = [];
  for (const image of listing.filter((i) => i.archived)) {
    outcomes.push({ repository: image.repository, digest: image.digest, tags: image.tags, status: "already-archived", ...(image.bytes !== undefined && { bytes: image.bytes }), ...(image.sha256 && { sha256: image.sha256 }), attempts: 0, durationSeconds: 0 });
  }
  if (run.dryRun) {
    for (const image of listing.filter((i) => !i.archived)) outcomes.push({ repository: image.repository, digest: image.digest, tags: image.tags, status: "would-archive", attempts: 0, durationSeconds: 0 });
  }
  const toArchive = listing.filter((i) => !i.archived);
  for (let batch = 0; batch < input.batchCount; batch++) {
    const kept = await readBatchOutcomes(deps.container, run.runId, batch);
    const reason = failedBatches.get(batch);
    if (reason === undefined || kept.length > 0) {
      outcomes.push(...kept);
      continue;
    }
    // The batch's sub-orchestration failed before it kept outcomes: its images (the listing's slice) failed with why.
    for (const image of toArchive.slice(batch * run.batchSize, (batch + 1) * run.batchSize)) {
      const error = { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: ${reason}` };
      outcomes.push({ repository: image.repository, digest: image.digest, tags: image.tags, status: "failed", attempts: 0, durationSeconds: 0, error });
    }
  }
  let totals = emptyTotals();
  for (const outcome of outcomes) totals = addOutcome(totals, outcome);
  const summary: RunSummary = {
    schemaVersion: 1,
    runId: run.runId,
    registry: run.registry,
    container: run.container,
    filters: run.filters,
    dryRun: run.dryRun,
    requestedBy: run.requestedBy,
    startedAtUtc: input.startedAtUtc,
    endedAtUtc: input.endedAtUtc,
    totals: { ...totals, jobExecutions: input.jobExecutions },
    images: outcomes
      .sort((a, b) => a.repository.localeCompare(b.repository) || a.digest.localeCompare(b.digest))
      .map((o) => {
        const archiveBlob = archiveBlobName({ registry: run.registry, repository: o.repository, digest: o.digest });
        return { ...o, archiveBlob, sidecarBlob: sidecarBlobName(archiveBlob) };
      }),
  };
  return { summaryBlob: await writeSummary(deps.container, summary), totals };
}
