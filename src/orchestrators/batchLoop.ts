// The batch phase both kinds of run share (archiveRegistry, restoreRun): the run's batches one after another as
// archiveBatch sub-orchestrations (instance `<run>:batch:<n>`), their counts added up, a batch whose
// sub-orchestration failed counted as failed images (the summary says why), and continue-as-new after
// BATCHES_PER_GENERATION batches so that the run's history stays bounded whatever the number of images.
import type { OrchestrationContext, Task } from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { firstLine } from "../errors.js";
import { batchInstanceId } from "../runs/instanceIds.js";
import type { ArchiveBatchInput } from "./archiveBatch.js";

/** Steps (batches, and an archive run's listing pages) per generation: ~4 history events each. */
export const BATCHES_PER_GENERATION = 100;

export interface BatchLoopState<T> {
  batchCount: number;
  nextBatch: number;
  totals: T;
  jobExecutions: number;
  failedBatches: { batchIndex: number; message: string }[];
}

export interface BatchLoop<T, S extends BatchLoopState<T>> {
  runId: string;
  /** Steps this generation has already taken (an archive run's listing pages): they share its budget. */
  stepsTaken?: number;
  batchInput: (batchIndex: number) => ArchiveBatchInput;
  /** A finished batch's counts (its result, less jobExecutions and batchIndex) added to the run's. */
  addBatch: (totals: T, batch: T) => T;
  /** A batch whose sub-orchestration failed: its images counted as failed. */
  failBatch: (state: S, batchIndex: number) => T;
  onProgress: (state: S) => void;
  /** Continues the run as new with this state (the generator then returns undefined). */
  continueAsNew: (state: S) => void;
}

/** Runs the remaining batches; the final state, or undefined when the run continued as new. */
export function* runBatchLoop<T, S extends BatchLoopState<T>>(
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
        OrchestrationNames.archiveBatch,
        loop.batchInput(state.nextBatch),
        batchInstanceId(loop.runId, state.nextBatch),
      )) as T & { jobExecutions: number; batchIndex: number };
      const { jobExecutions, ...counts } = batch;
      state = {
        ...state,
        nextBatch: state.nextBatch + 1,
        totals: loop.addBatch(state.totals, counts as unknown as T),
        jobExecutions: state.jobExecutions + jobExecutions,
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
