// A run's summary (runs/<runId>/summary.json): the listing's already-archived images, the batches' outcomes, and the
// images of batches that failed, each with its archive and sidecar names, and the totals recomputed from them.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { archiveBlobName, sidecarBlobName } from "../storage/blobNames.js";
import { archiveRunInputSchema, type ImageOutcome, type RunSummary, type RunTotals } from "./archiveRun.js";
import { getArchivedImageInfo } from "../storage/archiveStore.js";
import { readBatchOutcomes, readListing, writeSummary } from "./runStore.js";
import { addOutcome, emptyTotals } from "./runTotals.js";

export const writeRunSummaryInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  batchCount: z.number().int().min(0).max(1_000_000),
  /** Batches whose sub-orchestration failed: their images are failed with this reason (unless outcomes were kept). */
  failedBatches: z
    .array(z.strictObject({ batchIndex: z.number().int().min(0), message: z.string().max(300) }))
    .max(100_000)
    .default([]),
  startedAtUtc: z.iso.datetime(),
  endedAtUtc: z.iso.datetime(),
  jobExecutions: z.number().int().min(0),
});
export type WriteRunSummaryInput = z.input<typeof writeRunSummaryInputSchema>;

/** Listing + batch outcomes → runs/<runId>/summary.json. Returns the blob name and the totals. */
export async function writeRunSummary(
  input: z.output<typeof writeRunSummaryInputSchema>,
  deps: { container: ContainerClient },
): Promise<{ summaryBlob: string; totals: RunTotals }> {
  const { run } = input;
  const failedBatches = new Map(input.failedBatches.map((b) => [b.batchIndex, b.message]));
  const listing = await readListing(deps.container, run.runId);
  const outcomes: ImageOutcome[] = [];
  for (const image of listing.filter((i) => i.archived)) {
    outcomes.push({
      repository: image.repository,
      digest: image.digest,
      tags: image.tags,
      status: "already-archived",
      ...(image.bytes !== undefined && { bytes: image.bytes }),
      ...(image.sha256 && { sha256: image.sha256 }),
      attempts: 0,
      durationSeconds: 0,
    });
  }
  if (run.dryRun) {
    for (const image of listing.filter((i) => !i.archived))
      outcomes.push({
        repository: image.repository,
        digest: image.digest,
        tags: image.tags,
        status: "would-archive",
        attempts: 0,
        durationSeconds: 0,
      });
  }
  const toArchive = listing.filter((i) => !i.archived);
  for (let batch = 0; batch < input.batchCount; batch++) {
    const kept = await readBatchOutcomes(deps.container, run.runId, batch);
    const reason = failedBatches.get(batch);
    if (reason === undefined || kept.length > 0) {
      outcomes.push(...kept);
      continue;
    }
    // The batch's sub-orchestration failed before it kept outcomes: its images (the listing's slice) failed with why,
    // unless an image got archived before the failure (its sidecar exists: then it is archived, whatever the batch).
    for (const image of toArchive.slice(batch * run.batchSize, (batch + 1) * run.batchSize)) {
      const { repository, digest, tags } = image;
      const archived = await getArchivedImageInfo(deps.container, { registry: run.registry, repository, digest });
      if (archived.archived) {
        outcomes.push({
          repository,
          digest,
          tags,
          status: "archived",
          bytes: archived.bytes ?? 0,
          ...(archived.sha256 && { sha256: archived.sha256 }),
          attempts: 1,
          durationSeconds: 0,
        });
        continue;
      }
      const error = { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: ${reason}` };
      outcomes.push({ repository, digest, tags, status: "failed", attempts: 0, durationSeconds: 0, error });
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
  // Written once: if it already stands (a retried activity), that one is the run's, totals included.
  const written = await writeSummary(deps.container, summary);
  return { summaryBlob: written.name, totals: { ...written.summary.totals } };
}
