// Orchestration: one batch of images (BATCH_SIZE), in waves of at most `maxParallel` per-image sub-orchestrations
// joined with Task.all: archiveImage for an archive run, restoreImage for a restore run (the run's `kind`). Not a sliding window over Task.any: a new Task.any over tasks an
// earlier one already scheduled makes the extension start them again (azure-functions-durable-js#574, open;
// the out-of-process protocol has no task ids). Its history is bounded by the batch size, whatever the
// registry's size. Outcomes go to a blob; the parent gets counts.
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import { z } from "zod";
import {
  batchRunContextSchema,
  imageRunContext,
  imageWorkItemSchema,
  type BatchProgress,
  type BatchResult,
  type ImageOutcome,
  type ImageWorkItem,
} from "../runs/archiveRun.js";
import { formatIssues } from "../validation.js";
import { assertInstanceOfRun, imageInstanceId } from "../runs/instanceIds.js";
import { outcomeCounter, type OutcomeCounter } from "../runs/runTotals.js";
import { restoreBatchRunContextSchema, restoreImageRunContext, type RestoreTotals } from "../runs/restoreRun.js";
import type { RunTotals } from "../runs/archiveRun.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import type { ArchiveImageInput } from "./archiveImage.js";
import type { RestoreImageInput } from "./restoreImage.js";
import "./archiveImage.js"; // registers the child orchestrations
import "./restoreImage.js";

/** What a batch needs of its run, either kind: an archive run's context, or a restore run's (`kind: "restore"`). */
export const anyBatchRunContextSchema = z.union([batchRunContextSchema, restoreBatchRunContextSchema]);
export type AnyBatchRunContext = z.output<typeof anyBatchRunContextSchema>;

export const archiveBatchInputSchema = z.strictObject({
  run: anyBatchRunContextSchema,
  batchIndex: z.number().int().min(0).max(1_000_000),
});
export type ArchiveBatchInput = z.output<typeof archiveBatchInputSchema>;

const archiveBatch: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { run, batchIndex } = parseInput(
    OrchestrationNames.archiveBatch,
    archiveBatchInputSchema,
    context.df.getInput(),
  );
  assertInstanceOfRun("batch", context.df.instanceId, run.runId, batchIndex);
  const items: ImageWorkItem[] = yield callActivityWithRetry(context, "readBatch", activityRetryOptions, {
    run,
    batchIndex,
  });

  const restore = "kind" in run && run.kind === "restore";
  const counter = outcomeCounter(restore ? "restore" : "archive") as OutcomeCounter<RunTotals | RestoreTotals>;
  const childName = restore ? OrchestrationNames.restoreImage : OrchestrationNames.archiveImage;
  const childInput = (item: ImageWorkItem): ArchiveImageInput | RestoreImageInput =>
    "kind" in run ? { run: restoreImageRunContext(run), item } : { run: imageRunContext(run), item };
  const outcomes: ImageOutcome[] = [];
  let totals = counter.empty();
  let jobExecutions = 0;
  for (let start = 0; start < items.length; start += run.maxParallel) {
    const wave = items.slice(start, start + run.maxParallel);
    const progress: BatchProgress<RunTotals | RestoreTotals> = { running: wave.length, done: totals, waveStart: start };
    context.df.setCustomStatus(progress);
    // An item its schema refuses (a damaged batch blob) fails alone, here: archiveImage would fail outright on it,
    // and Task.all with it. archiveImage never throws otherwise, so every other outcome arrives.
    const refused = new Map<number, ImageOutcome>();
    const tasks: Task[] = [];
    wave.forEach((item, offset) => {
      const checked = imageWorkItemSchema.safeParse(item);
      if (!checked.success) {
        const error = {
          code: "INVALID_ARGUMENT",
          message: `batch item ${start + offset}: ${formatIssues(checked.error).join("; ")}`.slice(0, 500),
        };
        refused.set(offset, {
          repository: String(item?.repository ?? ""),
          digest: String(item?.digest ?? ""),
          tags: [],
          status: "failed",
          attempts: 0,
          durationSeconds: 0,
          error,
        });
        return;
      }
      tasks.push(
        context.df.callSubOrchestrator(
          childName,
          childInput(checked.data),
          imageInstanceId(context.df.instanceId, start + offset),
        ),
      );
    });
    const started: ImageOutcome[] = tasks.length ? yield context.df.Task.all(tasks) : [];
    const results: ImageOutcome[] = [];
    for (let offset = 0, next = 0; offset < wave.length; offset++)
      results.push(refused.get(offset) ?? started[next++]!);
    for (const outcome of results) {
      outcomes.push(outcome);
      totals = counter.add(totals, outcome);
      jobExecutions += outcome.attempts;
    }
  }
  context.df.setCustomStatus({ running: 0, done: totals, waveStart: items.length } satisfies BatchProgress<
    RunTotals | RestoreTotals
  >);
  yield callActivityWithRetry(context, "writeBatchOutcomes", activityRetryOptions, {
    runId: run.runId,
    container: run.container,
    batchIndex,
    outcomes,
  });
  const result: (BatchResult | (RestoreTotals & { batchIndex: number })) & { jobExecutions: number } = {
    batchIndex,
    ...totals,
    jobExecutions,
  };
  return result;
};

df.app.orchestration(OrchestrationNames.archiveBatch, archiveBatch);
