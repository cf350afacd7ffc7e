// A restore run's summary (runs/<runId>/summary.json, kind "restore"): the listing's images that had no archive
// (failed, with why), the batches' outcomes, and the images of batches that failed; each with its target, archive blob
// and rehydrate priority, and the totals recomputed from them. Written once, like an archive run's.
import type { ErrorSummary } from "../errors.js";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { failedBatchesSchema } from "./engine/runState.js";
import { listingBlobName, summaryBlobName } from "../storage/blobNames.js";
import { readJsonBlob } from "../storage/jsonBlob.js";
import type { ImageOutcome } from "./engine/workItem.js";
import {
  requestedSelection,
  restoreCounting,
  restoreRunInputSchema,
  targetRepository,
  type RestoreListedImage,
  type RestoreSummary,
} from "./restoreRun.js";
import { restoreArchiveBlob } from "./restoreTarget.js";
import { readBatchOutcomes } from "./runStore.js";
import { DEFAULT_PRICES, restoreRunCost, type PriceSheet } from "../cost/costEstimate.js";
import { addOutcome, emptyTotals } from "./engine/outcomeCounting.js";
import {
  byImage,
  commitSummary,
  failedWithoutRunning,
  openSummary,
  writtenSummaryTotals,
  type SummaryWriteOptions,
} from "./summaryBlob.js";

export const writeRestoreSummaryInputSchema = z.strictObject({
  run: restoreRunInputSchema,
  batchCount: z.number().int().min(0).max(1_000_000),
  failedBatches: failedBatchesSchema,
  startedAtUtc: z.iso.datetime(),
  endedAtUtc: z.iso.datetime(),
  jobExecutions: z.number().int().min(0),
});
export type WriteRestoreSummaryInput = z.input<typeof writeRestoreSummaryInputSchema>;

/**
 * The listing's unresolved images and the batches' outcomes → runs/<runId>/summary.json, streamed: one batch's
 * outcomes at a time, merged in order with the unresolved images (the listing is sorted, and batches are its slices).
 * Returns the blob name and the totals of the summary that stands (written once).
 */
export async function writeRestoreSummary(
  input: z.output<typeof writeRestoreSummaryInputSchema>,
  deps: {
    container: ContainerClient;
    /** The cost report's prices (COST_*; default: the list prices cost/costEstimate.ts names). */
    prices?: PriceSheet;
  } & SummaryWriteOptions,
): Promise<{ summaryBlob: string; totals: RestoreSummary["totals"] }> {
  const { run } = input;
  const summaryBlob = summaryBlobName(run.runId);
  const standing = await writtenSummaryTotals<RestoreSummary["totals"]>(deps.container, run.runId);
  if (standing) return { summaryBlob, totals: { ...standing } };

  const failedBatches = new Map(input.failedBatches.map((b) => [b.batchIndex, b.message]));
  // The listing is one blob (resolveRestoreImages writes it whole): its identities are held, never the outcomes.
  const listing = (await readJsonBlob<RestoreListedImage[]>(deps.container, listingBlobName(run.runId))) ?? [];
  const unresolved = listing.filter((i) => i.problem).map((i) => failedWithoutRunning(i, i.problem!));
  const todo = listing.filter((i) => !i.problem);
  const writer = openSummary(deps.container, run.runId, deps);
  let totals = emptyTotals(restoreCounting);
  /** What was (a dry run: would be) rehydrated: the archives of restored and would-restore images. */
  const rehydrated = { bytes: 0, archives: 0 };
  const write = async (outcome: ImageOutcome) => {
    totals = addOutcome(restoreCounting, totals, outcome);
    if (outcome.status === "restored" || outcome.status === "would-restore") {
      rehydrated.bytes += outcome.bytes ?? 0;
      rehydrated.archives++;
    }
    await writer.append({
      ...outcome,
      target: `${run.target.registry}/${targetRepository(run.target, outcome.repository)}`,
      archiveBlob: restoreArchiveBlob({ run, repository: outcome.repository, digest: outcome.digest }),
      priority: run.rehydratePriority,
    });
  };
  let next = 0; // the next unresolved image to write
  for (let batch = 0; batch < input.batchCount; batch++) {
    let outcomes = await readBatchOutcomes(deps.container, run.runId, batch);
    const reason = failedBatches.get(batch);
    if (reason !== undefined && outcomes.length === 0) {
      const error: ErrorSummary = { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: ${reason}` };
      outcomes = todo
        .slice(batch * run.batchSize, (batch + 1) * run.batchSize)
        .map((i) => failedWithoutRunning(i, error));
    }
    for (const outcome of outcomes.sort(byImage)) {
      while (next < unresolved.length && byImage(unresolved[next]!, outcome) < 0) await write(unresolved[next++]!);
      await write(outcome);
    }
  }
  while (next < unresolved.length) await write(unresolved[next++]!);
  const head: Omit<RestoreSummary, "images"> = {
    schemaVersion: 1,
    kind: "restore",
    runId: run.runId,
    registry: run.registry,
    container: run.container,
    target: run.target,
    selection: requestedSelection(run.selection),
    rehydratePriority: run.rehydratePriority,
    dryRun: run.dryRun,
    startedAtUtc: input.startedAtUtc,
    endedAtUtc: input.endedAtUtc,
    totals: { ...totals, jobExecutions: input.jobExecutions },
    cost: restoreRunCost({ ...rehydrated, priority: run.rehydratePriority }, deps.prices ?? DEFAULT_PRICES),
  };
  return { summaryBlob, totals: { ...(await commitSummary(writer, deps.container, run.runId, head)) } };
}
