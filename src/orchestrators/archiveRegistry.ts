// Orchestration: one archive run of one registry. Lists the images (one activity: filters applied, already
// archived ones counted and left out, the rest written as batches), runs the batches one after another as
// sub-orchestrations, and writes the run summary. Progress (counts only) goes to custom status. After
// BATCHES_PER_GENERATION batches it continues as new, so its history stays bounded for any registry size.
import * as df from "durable-functions";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler } from "durable-functions";
import { addTotals, emptyTotals, type ArchiveRunInput, type BatchResult, type ListImagesResult, type RunProgress, type RunTotals } from "../runs/archiveRun.js";
import { listImagesActivityName } from "../activities/listImages.js";
import { writeRunSummaryActivityName } from "../activities/writeRunSummary.js";
import { archiveBatchOrchestrationName, type ArchiveBatchInput } from "./archiveBatch.js";

export const archiveRegistryOrchestrationName = "archiveRegistry";
const BATCHES_PER_GENERATION = 100;

interface RunState {
  startedAtUtc: string;
  batchCount: number;
  nextBatch: number;
  totals: RunTotals;
  jobExecutions: number;
}

/** continue-as-new input: the run plus where it is. */
interface ArchiveRegistryInput extends ArchiveRunInput {
  state?: RunState;
}

export interface ArchiveRegistryOutput {
  runId: string;
  registry: string;
  summaryBlob: string;
  container: string;
  dryRun: boolean;
  totals: RunTotals & { jobExecutions: number };
}

const archiveRegistry: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { state: savedState, ...run } = context.df.getInput() as ArchiveRegistryInput;
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
    const listing: ListImagesResult = yield context.df.callActivityWithRetry(listImagesActivityName, activityRetryOptions, { run, nowUtc: context.df.currentUtcDateTime.toISOString() });
    state = { startedAtUtc: run.requestedAtUtc, batchCount: listing.batchCount, nextBatch: 0, totals: { ...emptyTotals(), total: listing.total, alreadyArchived: listing.alreadyArchived }, jobExecutions: 0 };
  }

  const generationStart = state.nextBatch;
  while (state.nextBatch < state.batchCount) {
    if (state.nextBatch - generationStart >= BATCHES_PER_GENERATION) {
      context.df.continueAsNew({ ...run, state } satisfies ArchiveRegistryInput);
      return undefined;
    }
    context.df.setCustomStatus(progress(state, "archiving"));
    const input: ArchiveBatchInput = { run, batchIndex: state.nextBatch };
    const batch: BatchResult & { jobExecutions: number } = yield context.df.callSubOrchestrator(archiveBatchOrchestrationName, input, `${run.runId}:batch:${state.nextBatch}`);
    // The listing already counted these images in `total`; a batch only says how each one ended.
    state = { ...state, nextBatch: state.nextBatch + 1, totals: { ...addTotals(state.totals, { ...batch, total: 0 }) }, jobExecutions: state.jobExecutions + batch.jobExecutions };
  }

  context.df.setCustomStatus(progress(state, "summarizing"));
  const summary: { summaryBlob: string; totals: RunTotals } = yield context.df.callActivityWithRetry(writeRunSummaryActivityName, activityRetryOptions, {
    run,
    batchCount: state.batchCount,
    startedAtUtc: state.startedAtUtc,
    endedAtUtc: context.df.currentUtcDateTime.toISOString(),
    jobExecutions: state.jobExecutions,
  });
  context.df.setCustomStatus({ ...progress(state, "done"), ...summary.totals });
  const output: ArchiveRegistryOutput = { runId: run.runId, registry: run.registry, summaryBlob: summary.summaryBlob, container: run.container, dryRun: run.dryRun, totals: { ...summary.totals, jobExecutions: state.jobExecutions } };
  return output;
};

df.app.orchestration(archiveRegistryOrchestrationName, archiveRegistry);
