// Orchestration: one restore run, the second kind of run on the archive run's engine. Resolves what it restores over
// the archive container (one activity: tags through their markers, globs, an archive run's summary; written as
// batches), runs the batches with the same batch loop and runBatch sub-orchestration as an archive run (each image
// a restoreImage), and writes the summary (kind "restore"). Counts only in custom status; history bounded
// (continue-as-new every 100 batches).
import * as df from "durable-functions";
import type { OrchestrationContext, OrchestrationHandler } from "durable-functions";
import { z } from "zod";
import { batchLoopStateShape, totalsSchema } from "../runs/engine/runState.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import {
  restoreBatchRunContext,
  restoreCounting,
  restoreRunInputSchema,
  type ResolveRestoreImagesResult,
  type RestoreProgress,
  type RestoreRunOutput,
  type RestoreTotals,
} from "../runs/restoreRun.js";
import { emptyTotals } from "../runs/engine/outcomeCounting.js";
import { parseInput } from "../validation.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import { runBatchLoop, type BatchLoopState } from "./batchLoop.js";
import "./runBatch.js"; // registers the batch (and its per-image) orchestrations

const count = z.number().int().min(0);
const restoreRunStateSchema = z.strictObject({
  ...batchLoopStateShape,
  startedAtUtc: z.iso.datetime(),
  totals: totalsSchema(restoreCounting),
  /** Selected images the listing could not resolve to an archive (in `totals.failed`, in no batch). */
  unresolved: count,
});
type RestoreRunState = z.output<typeof restoreRunStateSchema> & BatchLoopState<RestoreTotals>;

export const restoreRunOrchestrationInputSchema = restoreRunInputSchema.extend({
  state: restoreRunStateSchema.optional(),
});

const restoreRun: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { state: savedState, ...run } = parseInput(
    OrchestrationNames.restoreRun,
    restoreRunOrchestrationInputSchema,
    context.df.getInput(),
  );
  assertInstanceOfRun("run", context.df.instanceId, run.runId);
  const progress = (state: RestoreRunState | undefined, phase: RestoreProgress["phase"]): RestoreProgress => ({
    ...(state?.totals ?? emptyTotals(restoreCounting)),
    rehydrating: 0,
    restoring: 0,
    batches: state?.batchCount ?? 0,
    batchesDone: state?.nextBatch ?? 0,
    phase,
  });

  let state: RestoreRunState | undefined = savedState;
  if (!state) {
    context.df.setCustomStatus(progress(undefined, "resolving"));
    const listing = (yield callActivityWithRetry(context, "resolveRestoreImages", activityRetryOptions, {
      run,
    })) as ResolveRestoreImagesResult;
    state = {
      startedAtUtc: run.requestedAtUtc,
      batchCount: listing.batchCount,
      nextBatch: 0,
      totals: { ...emptyTotals(restoreCounting), total: listing.total, failed: listing.unresolved },
      jobExecutions: 0,
      unresolved: listing.unresolved,
      failedBatches: [],
    };
  }

  const finished = yield* runBatchLoop<RestoreTotals, RestoreRunState>(context, state, {
    runId: run.runId,
    batchInput: (batchIndex) => ({ kind: "restore", run: restoreBatchRunContext(run), batchIndex }),
    counting: restoreCounting,
    failBatch: (s, batchIndex) => {
      // Batches are consecutive slices of batchSize over the images the listing resolved.
      const todo = s.totals.total - s.unresolved;
      const size = Math.max(0, Math.min(run.batchSize, todo - batchIndex * run.batchSize));
      return { ...s.totals, failed: s.totals.failed + size };
    },
    onProgress: (s) => context.df.setCustomStatus(progress(s, "restoring")),
    continueAsNew: (s) => context.df.continueAsNew({ ...run, state: s }),
  });
  if (!finished) return undefined;

  context.df.setCustomStatus(progress(finished, "summarizing"));
  const summary = (yield callActivityWithRetry(context, "writeRestoreSummary", activityRetryOptions, {
    run,
    batchCount: finished.batchCount,
    failedBatches: finished.failedBatches,
    startedAtUtc: finished.startedAtUtc,
    endedAtUtc: context.df.currentUtcDateTime.toISOString(),
    jobExecutions: finished.jobExecutions,
  })) as { summaryBlob: string; totals: RestoreTotals };
  context.df.setCustomStatus({ ...progress(finished, "done"), ...summary.totals });
  const output: RestoreRunOutput = {
    runId: run.runId,
    registry: run.registry,
    summaryBlob: summary.summaryBlob,
    container: run.container,
    dryRun: run.dryRun,
    totals: { ...summary.totals, jobExecutions: finished.jobExecutions },
  };
  return output;
};

df.app.orchestration(OrchestrationNames.restoreRun, restoreRun);
