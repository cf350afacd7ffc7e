// A run's summary (runs/<runId>/summary.json): the listing pages' already-archived images, the batches' outcomes, and the
// images of batches that failed, each with its archive and sidecar names, and the totals recomputed from them; the
// registry requests of the listing and of the workers (what their results reported).
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { failedBatchesSchema } from "./engine/runState.js";
import { archiveBlobName, sidecarBlobName, summaryBlobName } from "../storage/blobNames.js";
import { ArchiveError, type ErrorSummary } from "../errors.js";
import { archiveCounting, archiveRunInputSchema, type ArchiveRunInput, type RunSummary } from "./archiveRun.js";
import { type ImageOutcome, type ImageWorkItem } from "./engine/workItem.js";
import { getArchivedImageInfo } from "../storage/archiveStore.js";
import { archiveRunCost, DEFAULT_PRICES, type PriceSheet } from "../cost/costEstimate.js";
import { pageWorkItems, readBatchOutcomes, readListingPage } from "./runStore.js";
import { addReferrerRefreshCounts, emptyReferrerRefreshCounts } from "./referrerProbe.js";
import { addOutcome, emptyTotals } from "./engine/outcomeCounting.js";
import {
  byImage,
  commitSummary,
  failedWithoutRunning,
  openSummary,
  writtenSummaryTotals,
  type SummaryWriteOptions,
} from "./summaryBlob.js";

export const writeRunSummaryInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  /** Pages of the listing (runs/<runId>/listing/<page>.json, 0 … listingPages - 1). */
  listingPages: z.number().int().min(0).max(1_000_000),
  batchCount: z.number().int().min(0).max(1_000_000),
  /** Batches whose sub-orchestration failed: their images are failed with this reason (unless outcomes were kept). */
  failedBatches: failedBatchesSchema,
  startedAtUtc: z.iso.datetime(),
  endedAtUtc: z.iso.datetime(),
  jobExecutions: z.number().int().min(0),
  /** Requests the listing made to the registry. */
  registryRequests: z.number().int().min(0).default(0),
  /** What the run's catalog backfill did (archives indexed, whether the registry's are all done). */
  catalogBackfill: z
    .strictObject({
      examined: z.number().int().min(0),
      indexed: z.number().int().min(0),
      done: z.boolean(),
      error: z.string().max(1000).optional(),
    })
    .optional(),
});
export type WriteRunSummaryInput = z.input<typeof writeRunSummaryInputSchema>;

/**
 * Listing pages + batch outcomes → runs/<runId>/summary.json, streamed: one listing page at a time, its images (the
 * already-archived ones and its batches' outcomes) sorted and staged before the next page is read, the totals counted
 * on the way. Images are ordered by repository and digest within a page, and pages follow the catalog's order. Returns
 * the blob name and the totals of the summary that stands (written once).
 */
export async function writeRunSummary(
  input: z.output<typeof writeRunSummaryInputSchema>,
  deps: {
    container: ContainerClient;
    /** refreshReferrers: the run's probe budget (REFRESH_REFERRERS_MAX_REQUESTS), for the summary to say. */
    referrerMaxRequests?: number;
    /** The cost report's prices (COST_*; default: the list prices cost/costEstimate.ts names). */
    prices?: PriceSheet;
  } & SummaryWriteOptions,
): Promise<{ summaryBlob: string; totals: RunSummary["totals"] }> {
  const { run } = input;
  const summaryBlob = summaryBlobName(run.runId);
  // A retried activity (or a forged start under a finished run's id): the summary that stands, no page read.
  const standing = await writtenSummaryTotals<RunSummary["totals"]>(deps.container, run.runId);
  if (standing) return { summaryBlob, totals: { ...standing } };

  const failedBatches = new Map(input.failedBatches.map((b) => [b.batchIndex, b.message]));
  const writer = openSummary(deps.container, run.runId, deps);
  let totals = emptyTotals(archiveCounting);
  let workerRequests = 0;
  /** Bytes of the selection's archives: this run's and those archived before it (the cost report's `held`). */
  let heldBytes = 0;
  /** refreshReferrers: the supplements the jobs wrote, and the referrers in them. */
  const refreshed = { supplements: 0, newReferrers: 0 };
  const write = async (outcomes: ImageOutcome[]) => {
    for (const outcome of outcomes.sort(byImage)) {
      totals = addOutcome(archiveCounting, totals, outcome);
      workerRequests += outcome.registryRequests ?? 0;
      if (outcome.status === "archived" || outcome.status === "already-archived") heldBytes += outcome.bytes ?? 0;
      if (outcome.referrersSupplementBlob) {
        refreshed.supplements++;
        refreshed.newReferrers += outcome.newReferrers ?? 0;
      }
      const archiveBlob = archiveBlobName({
        registry: run.registry,
        repository: outcome.repository,
        digest: outcome.digest,
      });
      await writer.append({ ...outcome, archiveBlob, sidecarBlob: sidecarBlobName(archiveBlob) });
    }
  };
  let batchesSeen = 0;
  let referrers = emptyReferrerRefreshCounts();
  // One page at a time: its already-archived (or, dry, would-archive) images, then its batches' outcomes.
  for (let pageIndex = 0; pageIndex < input.listingPages; pageIndex++) {
    const page = await readListingPage(deps.container, run.runId, pageIndex);
    if (!page) throw new ArchiveError("STORAGE_ERROR", `listing page ${pageIndex} of run ${run.runId} is missing`);
    if (page.referrers) referrers = addReferrerRefreshCounts(referrers, page.referrers);
    const outcomes: ImageOutcome[] = [];
    // (An archived image whose new referrers went into a batch is reported by its batch.)
    for (const image of page.images.filter((i) => i.archived && !i.refreshReferrers)) {
      outcomes.push({
        repository: image.repository,
        digest: image.digest,
        tags: image.tags,
        status: "already-archived",
        ...(image.bytes !== undefined && { bytes: image.bytes }),
        ...(image.sha256 && { sha256: image.sha256 }),
        ...(image.newReferrers && { newReferrers: image.newReferrers }),
        ...(image.verified && { verified: true as const }),
        attempts: 0,
        durationSeconds: 0,
      });
    }
    const toArchive = page.images.filter((i) => !i.archived);
    if (run.dryRun) {
      for (const image of toArchive)
        outcomes.push({
          repository: image.repository,
          digest: image.digest,
          tags: image.tags,
          status: "would-archive",
          attempts: 0,
          durationSeconds: 0,
        });
    } else {
      const work = pageWorkItems(page.images);
      for (let offset = 0; offset < page.batchCount; offset++) {
        const batch = page.firstBatch + offset;
        if (batch >= input.batchCount) break;
        batchesSeen = Math.max(batchesSeen, batch + 1);
        const slice = work.slice(offset * run.batchSize, (offset + 1) * run.batchSize);
        outcomes.push(...(await batchOutcomes(deps.container, run, batch, slice, failedBatches.get(batch))));
      }
    }
    await write(outcomes);
  }
  // Batches no page accounts for (a run resumed with a forged state): what they kept, if anything, after the pages.
  for (let batch = batchesSeen; batch < input.batchCount; batch++)
    await write(await readBatchOutcomes(deps.container, run.runId, batch));
  const head: Omit<RunSummary, "images"> = {
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
    registryRequests: { listing: input.registryRequests, workers: workerRequests },
    ...(run.refreshReferrers && {
      referrers: {
        ...referrers,
        ...(deps.referrerMaxRequests !== undefined && { maxRequests: deps.referrerMaxRequests }),
        ...refreshed,
      },
    }),
    cost: archiveRunCost(
      { archivedBytes: totals.bytesArchived, heldBytes, endedAt: new Date(input.endedAtUtc) },
      deps.prices ?? DEFAULT_PRICES,
    ),
    ...(input.catalogBackfill && { catalogBackfill: input.catalogBackfill }),
  };
  // Written once: if one was committed meanwhile, that one is the run's, totals included.
  return { summaryBlob, totals: { ...(await commitSummary(writer, deps.container, run.runId, head)) } };
}

/**
 * One batch's outcomes: what it kept, or, when its sub-orchestration failed before it kept any, its images (the
 * page's slice) failed with why, unless an image got archived before the failure (its sidecar exists).
 */
async function batchOutcomes(
  container: ContainerClient,
  run: ArchiveRunInput,
  batch: number,
  images: ImageWorkItem[],
  failure: string | undefined,
): Promise<ImageOutcome[]> {
  const kept = await readBatchOutcomes(container, run.runId, batch);
  if (failure === undefined || kept.length > 0) return kept;
  const outcomes: ImageOutcome[] = [];
  for (const { repository, digest, tags, refreshReferrers } of images) {
    const archived = await getArchivedImageInfo(container, { registry: run.registry, repository, digest });
    // (An image whose referrers were to be refreshed was archived before: whether they were is not known here.)
    if (archived.archived && !refreshReferrers) {
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
    const error: ErrorSummary = { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: ${failure}` };
    outcomes.push(failedWithoutRunning({ repository, digest, tags }, error));
  }
  return outcomes;
}
