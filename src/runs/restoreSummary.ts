// A restore run's summary (runs/<runId>/summary.json, kind "restore"): the listing's images that had no archive
// (failed, with why), the batches' outcomes, and the images of batches that failed; each with its target, archive blob
// and rehydrate priority, and the totals recomputed from them. Written once, like an archive run's.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { listingBlobName } from "../storage/blobNames.js";
import { readJsonBlob } from "../storage/jsonBlob.js";
import type { ImageOutcome } from "./archiveRun.js";
import {
  restoreRunInputSchema,
  targetRepository,
  type RestoreListedImage,
  type RestoreSummary,
  type RestoreTotals,
} from "./restoreRun.js";
import { restoreArchiveBlob } from "./restoreTarget.js";
import { readBatchOutcomes, writeSummary } from "./runStore.js";
import { addRestoreOutcome, emptyRestoreTotals } from "./runTotals.js";

export const writeRestoreSummaryInputSchema = z.strictObject({
  run: restoreRunInputSchema,
  batchCount: z.number().int().min(0).max(1_000_000),
  failedBatches: z
    .array(z.strictObject({ batchIndex: z.number().int().min(0), message: z.string().max(300) }))
    .max(100_000)
    .default([]),
  startedAtUtc: z.iso.datetime(),
  endedAtUtc: z.iso.datetime(),
  jobExecutions: z.number().int().min(0),
});
export type WriteRestoreSummaryInput = z.input<typeof writeRestoreSummaryInputSchema>;

export async function writeRestoreSummary(
  input: z.output<typeof writeRestoreSummaryInputSchema>,
  deps: { container: ContainerClient },
): Promise<{ summaryBlob: string; totals: RestoreTotals }> {
  const { run } = input;
  const failedBatches = new Map(input.failedBatches.map((b) => [b.batchIndex, b.message]));
  const listing = (await readJsonBlob<RestoreListedImage[]>(deps.container, listingBlobName(run.runId))) ?? [];
  const outcomes: ImageOutcome[] = [];
  for (const image of listing.filter((i) => i.problem)) {
    const { repository, digest, tags, problem } = image;
    outcomes.push({ repository, digest, tags, status: "failed", attempts: 0, durationSeconds: 0, error: problem! });
  }
  const todo = listing.filter((i) => !i.problem);
  for (let batch = 0; batch < input.batchCount; batch++) {
    const kept = await readBatchOutcomes(deps.container, run.runId, batch);
    const reason = failedBatches.get(batch);
    if (reason === undefined || kept.length > 0) {
      outcomes.push(...kept);
      continue;
    }
    for (const { repository, digest, tags } of todo.slice(batch * run.batchSize, (batch + 1) * run.batchSize)) {
      const error = { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: ${reason}` };
      outcomes.push({ repository, digest, tags, status: "failed", attempts: 0, durationSeconds: 0, error });
    }
  }
  let totals = emptyRestoreTotals();
  for (const outcome of outcomes) totals = addRestoreOutcome(totals, outcome);
  const summary: RestoreSummary = {
    schemaVersion: 1,
    kind: "restore",
    runId: run.runId,
    registry: run.registry,
    container: run.container,
    target: run.target,
    selection: run.selection,
    rehydratePriority: run.rehydratePriority,
    dryRun: run.dryRun,
    startedAtUtc: input.startedAtUtc,
    endedAtUtc: input.endedAtUtc,
    totals: { ...totals, jobExecutions: input.jobExecutions },
    images: outcomes
      .sort((a, b) => a.repository.localeCompare(b.repository) || a.digest.localeCompare(b.digest))
      .map((o) => ({
        ...o,
        target: `${run.target.registry}/${targetRepository(run.target, o.repository)}`,
        archiveBlob: restoreArchiveBlob({ run, repository: o.repository, digest: o.digest }),
        priority: run.rehydratePriority,
      })),
  };
  const written = await writeSummary(deps.container, summary);
  return { summaryBlob: written.name, totals: { ...written.summary.totals } };
}
