// The batch phase every kind of run shares (archiveRun, restoreRun): the run's batches one after another as
// runBatch sub-orchestrations (instance `<run>:batch:<n>`), their counts added up, a batch whose
// sub-orchestration failed counted as failed images (the summary says why), and continue-as-new after
// BATCHES_PER_GENERATION batches so that the run's history stays bounded whatever the number of images.
import type { OrchestrationContext, Task } from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { firstLine } from "../errors.js";
import { batchInstanceId } from "../runs/instanceIds.js";
import type { RunBatchInput, RunBatchResult } from "./runBatch.js";
import { addTotals, type OutcomeCounting, type Totals } from "../runs/engine/outcomeCounting.js";
import type { FailedBatches } from "../runs/engine/runState.js";

/** Steps (batches, and an archive run's listing pages) per generation: ~4 history events each. */
export const BATCHES_PER_GENERATION = 100;

export interface BatchLoopState<T> {
  batchCount: number;
  nextBatch: number;
  totals: T;
  jobExecutions: number;
  failedBatches: FailedBatches;
}

export interface BatchLoop<T extends Totals<T>, S extends BatchLoopState<T>> {
  runId: string;
  /** Steps this generation has already taken (an archive run's listing pages): they share its budget. */
  stepsTaken?: number;
  batchInput: (batchIndex: number) => RunBatchInput;
  /** How the run's kind counts: a finished batch's counts are added to the run's, less `total` (the listing counted it). */
  counting: OutcomeCounting<T>;
  /** A batch whose sub-orchestration failed: its images counted as failed. */
  failBatch: (state: S, batchIndex: number) => T;
  onProgress: (state: S) => void;
  /** Continues the run as new with this state (the generator then returns undefined). */
  continueAsNew: (state: S) => void;
}

/** Runs the remaining batches; the final state, or undefined when the run continued as new. */
export function* runBatchLoop<T extends Totals<T>, S extends BatchLoopState<T>>(
  context: OrchestrationContext,
  initial: S,
  loop: BatchLoop<T, S>,
): Generator<Task, S | undefined, unknown> {
  let state = initial;
  const generationStart = state.nextBatch;
  while (state.nextBatch < state.batchCount) {
    if (state.nextBatch - generationStart + (loop.stepsTaken ?? 0) >= BATCHES_PER_GENERATION) {
      loop.continueAsNew(state);
      return undefined;
    }
    loop.onProgress(state);
    try {
      const batch = (yield context.df.callSubOrchestrator(
        OrchestrationNames.runBatch,
        loop.batchInput(state.nextBatch),
        batchInstanceId(loop.runId, state.nextBatch),
      )) as RunBatchResult<T>;
      // The listing already counted these items in `total`: a batch only says how each one ended.
      const ended = { ...(batch as T), total: 0 };
      state = {
        ...state,
        nextBatch: state.nextBatch + 1,
        totals: addTotals(loop.counting, state.totals, ended),
        jobExecutions: state.jobExecutions + batch.jobExecutions,
      };
    } catch (failure) {
      // Its reads or writes kept failing: its images are failed with the reason, the run goes on, and the summary
      // is written all the same.
      state = {
        ...state,
        nextBatch: state.nextBatch + 1,
        totals: loop.failBatch(state, state.nextBatch),
        failedBatches: [...state.failedBatches, { batchIndex: state.nextBatch, message: firstLine(failure) }],
      };
    }
  }
  return state;
}
