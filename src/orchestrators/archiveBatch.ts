// Orchestration: one batch of images (BATCH_SIZE), in waves of at most `maxParallel` archiveImage
// sub-orchestrations joined with Task.all. Not a sliding window over Task.any: a new Task.any over tasks an
// earlier one already scheduled makes the extension start them again (azure-functions-durable-js#574, open;
// the out-of-process protocol has no task ids). Its history is bounded by the batch size, whatever the
// registry's size. Outcomes go to a blob; the parent gets counts.
import * as df from "durable-functions";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import { z } from "zod";
import { addOutcome, archiveRunInputSchema, emptyTotals, type BatchResult, type ImageOutcome, type ImageWorkItem } from "../runs/archiveRun.js";
import { readBatchActivityName, type ReadBatchInput } from "../activities/readBatch.js";
import { writeBatchOutcomesActivityName, type WriteBatchOutcomesInput } from "../activities/writeBatchOutcomes.js";
import { archiveImageOrchestrationName, type ArchiveImageInput } from "./archiveImage.js";

export const archiveBatchOrchestrationName = "archiveBatch";

export const archiveBatchInputSchema = z.strictObject({ run: archiveRunInputSchema, batchIndex: z.number().int().min(0).max(1_000_000) });
export type ArchiveBatchInput = z.output<typeof archiveBatchInputSchema>;

/** Custom status of a batch: what the status endpoint adds to the parent's counts while the batch runs. */
export interface BatchProgress {
  running: number;
  done: ReturnType<typeof emptyTotals>;
  /** The wave in flight: image instances `<batch instance>:<waveStart … waveStart+running-1>`. */
  waveStart: number;
}

const archiveBatch: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { run, batchIndex } = parseInput(archiveBatchOrchestrationName, archiveBatchInputSchema, context.df.getInput());
  const batch: ReadBatchInput = { runId: run.runId, container: run.container, batchIndex };
  const items: ImageWorkItem[] = yield context.df.callActivityWithRetry(readBatchActivityName, activityRetryOptions, batch);

  const outcomes: ImageOutcome[] = [];
  let totals = emptyTotals();
  let jobExecutions = 0;
  for (let start = 0; start < items.length; start += run.maxParallel) {
    const wave = items.slice(start, start + run.maxParallel);
    const progress: BatchProgress = { running: wave.length, done: totals, waveStart: start };
    context.df.setCustomStatus(progress);
    const tasks: Task[] = wave.map((item, offset) => {
      const input: ArchiveImageInput = { run, item };
      return context.df.callSubOrchestrator(archiveImageOrchestrationName, input, `${context.df.instanceId}:${start + offset}`);
    });
    // archiveImage never throws, so Task.all does not fail early: every outcome arrives.
    const results: ImageOutcome[] = yield context.df.Task.all(tasks);
    for (const outcome of results) {
      outcomes.push(outcome);
      totals = addOutcome(totals, outcome);
      jobExecutions += outcome.attempts;
    }
  }
  context.df.setCustomStatus({ running: 0, done: totals, waveStart: items.length } satisfies BatchProgress);
  const keep: WriteBatchOutcomesInput = { ...batch, outcomes };
  yield context.df.callActivityWithRetry(writeBatchOutcomesActivityName, activityRetryOptions, keep);
  const result: BatchResult & { jobExecutions: number } = { batchIndex, ...totals, jobExecutions };
  return result;
};

df.app.orchestration(archiveBatchOrchestrationName, archiveBatch);
