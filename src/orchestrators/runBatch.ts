// Orchestration: one batch of a run of any kind (BATCH_SIZE items), in waves of at most `maxParallel` item
// sub-orchestrations joined with Task.all (archiveImage for an archive run, restoreImage for a restore run: the kind's
// `itemOrchestration`, runs/runKinds.ts). Not a sliding window over Task.any: a new Task.any over tasks an earlier one
// already scheduled makes the extension start them again (azure-functions-durable-js#574, open; the out-of-process
// protocol has no task ids). Its history is bounded by the batch size, whatever the registry's size. Outcomes go to a
// blob; the parent gets counts.
import type { ErrorSummary } from "../errors.js";
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { formatIssues, parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import { z } from "zod";
import { batchRunContextSchema } from "../runs/archiveRun.js";
import {
  imageWorkItemSchema,
  type BatchProgress,
  type ImageOutcome,
  type ImageWorkItem,
} from "../runs/engine/workItem.js";
import { restoreBatchRunContextSchema } from "../runs/restoreRun.js";
import { assertInstanceOfRun, imageInstanceId } from "../runs/instanceIds.js";
import { addOutcome, emptyTotals, type Totals } from "../runs/engine/outcomeCounting.js";
import { runKinds, type RunKind } from "../durable/runKinds.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import "./archiveImage.js"; // registers the item orchestrations
import "./restoreImage.js";

const batchIndexSchema = z.number().int().min(0).max(1_000_000);

/** The batch of a run: its kind, what the batch needs of the run (that kind's context), and its index. */
export const runBatchInputSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("archive"), run: batchRunContextSchema, batchIndex: batchIndexSchema }),
  z.strictObject({ kind: z.literal("restore"), run: restoreBatchRunContextSchema, batchIndex: batchIndexSchema }),
]);
export type RunBatchInput = z.output<typeof runBatchInputSchema>;

/** What a batch returns to its run: the kind's totals of its items, its index and the job executions it started. */
export type RunBatchResult<T> = T & { batchIndex: number; jobExecutions: number };

const runBatch: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseInput(OrchestrationNames.runBatch, runBatchInputSchema, context.df.getInput());
  const { run, batchIndex } = input;
  assertInstanceOfRun("batch", context.df.instanceId, run.runId, batchIndex);
  return input.kind === "restore"
    ? yield* runItems(context, input.run, batchIndex, runKinds.restore)
    : yield* runItems(context, input.run, batchIndex, runKinds.archive);
};

function* runItems<T extends Totals<T>, BatchRun extends RunBatchInput["run"], ItemRun>(
  context: OrchestrationContext,
  run: BatchRun,
  batchIndex: number,
  kind: RunKind<T, BatchRun, ItemRun>,
): Generator<Task, RunBatchResult<T>, unknown> {
  const items: ImageWorkItem[] = (yield callActivityWithRetry(context, "readBatch", activityRetryOptions, {
    run,
    batchIndex,
  })) as ImageWorkItem[];
  const { counting } = kind;
  const outcomes: ImageOutcome[] = [];
  let totals = emptyTotals(counting);
  let jobExecutions = 0;
  for (let start = 0; start < items.length; start += run.maxParallel) {
    const wave = items.slice(start, start + run.maxParallel);
    context.df.setCustomStatus({ running: wave.length, done: totals, waveStart: start } satisfies BatchProgress<T>);
    // An item its schema refuses (a damaged batch blob) fails alone, here: its orchestration would fail outright on
    // it, and Task.all with it. Item orchestrations never throw otherwise, so every other outcome arrives.
    const refused = new Map<number, ImageOutcome>();
    const tasks: Task[] = [];
    wave.forEach((item, offset) => {
      const checked = imageWorkItemSchema.safeParse(item);
      if (!checked.success) {
        const error: ErrorSummary = {
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
          kind.itemOrchestration,
          { run: kind.itemRun(run), item: checked.data },
          imageInstanceId(context.df.instanceId, start + offset),
        ),
      );
    });
    const started = (tasks.length ? yield context.df.Task.all(tasks) : []) as ImageOutcome[];
    for (let offset = 0, next = 0; offset < wave.length; offset++) {
      const outcome = refused.get(offset) ?? started[next++]!;
      outcomes.push(outcome);
      totals = addOutcome(counting, totals, outcome);
      jobExecutions += outcome.attempts;
    }
  }
  context.df.setCustomStatus({ running: 0, done: totals, waveStart: items.length } satisfies BatchProgress<T>);
  yield callActivityWithRetry(context, "writeBatchOutcomes", activityRetryOptions, {
    runId: run.runId,
    container: run.container,
    batchIndex,
    outcomes,
  });
  return { ...totals, batchIndex, jobExecutions };
}

df.app.orchestration(OrchestrationNames.runBatch, runBatch);
