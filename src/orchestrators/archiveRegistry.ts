// Orchestration: one archive run of one registry. Lists the images (one activity: filters applied, already
// archived ones counted and left out, the rest written as batches), runs the batches one after another as
// sub-orchestrations, and writes the run summary. Progress (counts only) goes to custom status. After
// BATCHES_PER_GENERATION batches it continues as new, so its history stays bounded for any registry size.
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler } from "durable-functions";
import { z } from "zod";
import {
  archiveRunInputSchema,
  batchRunContext,
  type ArchiveRegistryOutput,
  type ListImagesResult,
  type RunProgress,
  type RunTotals,
} from "../runs/archiveRun.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import { addTotals, emptyTotals } from "../runs/runTotals.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import type { ArchiveBatchInput } from "./archiveBatch.js";
import "./archiveBatch.js"; // registers the child orchestration
import { runBatchLoop } from "./batchLoop.js";

const count = z.number().int().min(0);
const runStateSchema = z.strictObject({
  startedAtUtc: z.iso.datetime(),
  batchCount: count,
  nextBatch: count,
  totals: z.strictObject({
    total: count,
    archived: count,
    alreadyArchived: count,
    failed: count,
    bytesArchived: count,
  }),
  jobExecutions: count,
  /** Batches whose sub-orchestration failed (after its activities' retries): their images are failed in the summary. */
  failedBatches: z
    .array(z.strictObject({ batchIndex: count, message: z.string().max(300) }))
    .max(100_000)
    .default([]),
});
type RunState = z.output<typeof runStateSchema>;

/** The run, plus (after continue-as-new) where it is. */
export const archiveRegistryInputSchema = archiveRunInputSchema.extend({ state: runStateSchema.optional() });
type ArchiveRegistryInput = z.output<typeof archiveRegistryInputSchema>;

const archiveRegistry: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { state: savedState, ...run } = parseInput(
    OrchestrationNames.archiveRegistry,
    archiveRegistryInputSchema,
    context.df.getInput(),
  );
  assertInstanceOfRun("run", context.df.instanceId, run.runId);
  const progress = (state: RunState | undefined, phase: RunProgress["phase"]): RunProgress => ({
    ...(state?.totals ?? emptyTotals()),
    running: 0,
    batches: state?.batchCount ?? 0,
    batchesDone: state?.nextBatch ?? 0,
    phase,
  });

  let state = savedState;
  if (!state) {
    context.df.setCustomStatus(progress(undefined, "listing"));
    const listing: ListImagesResult = yield callActivityWithRetry(context, "listImages", activityRetryOptions, {
      run,
      nowUtc: context.df.currentUtcDateTime.toISOString(),
    });
    state = {
      startedAtUtc: run.requestedAtUtc,
      batchCount: listing.batchCount,
      nextBatch: 0,
      totals: { ...emptyTotals(), total: listing.total, alreadyArchived: listing.alreadyArchived },
      jobExecutions: 0,
      failedBatches: [],
    };
  }

  const finished = yield* runBatchLoop<RunTotals, RunState>(context, state, {
    runId: run.runId,
    batchInput: (batchIndex): ArchiveBatchInput => ({ run: batchRunContext(run), batchIndex }),
    // The listing already counted these images in `total`; a batch only says how each one ended.
    addBatch: (totals, batch) => addTotals(totals, { ...batch, total: 0 }),
    failBatch: (s, batchIndex) => ({
      ...s.totals,
      failed: s.totals.failed + batchSizeOf(s, run.batchSize, batchIndex),
    }),
    onProgress: (s) => context.df.setCustomStatus(progress(s, "archiving")),
    continueAsNew: (s) => context.df.continueAsNew({ ...run, state: s } satisfies ArchiveRegistryInput),
  });
  if (!finished) return undefined;
  state = finished;

  context.df.setCustomStatus(progress(state, "summarizing"));
  const summary: { summaryBlob: string; totals: RunTotals } = yield callActivityWithRetry(
    context,
    "writeRunSummary",
    activityRetryOptions,
    {
      run,
      batchCount: state.batchCount,
      failedBatches: state.failedBatches,
      startedAtUtc: state.startedAtUtc,
      endedAtUtc: context.df.currentUtcDateTime.toISOString(),
      jobExecutions: state.jobExecutions,
    },
  );
  context.df.setCustomStatus({ ...progress(state, "done"), ...summary.totals });
  const output: ArchiveRegistryOutput = {
    runId: run.runId,
    registry: run.registry,
    summaryBlob: summary.summaryBlob,
    container: run.container,
    dryRun: run.dryRun,
    totals: { ...summary.totals, jobExecutions: state.jobExecutions },
  };
  return output;
};

/** Images in batch `index`: batches are consecutive slices of batchSize over the images still to archive. */
function batchSizeOf(state: RunState, batchSize: number, index: number): number {
  const toArchive = state.totals.total - state.totals.alreadyArchived;
  return Math.max(0, Math.min(batchSize, toArchive - index * batchSize));
}

df.app.orchestration(OrchestrationNames.archiveRegistry, archiveRegistry);
