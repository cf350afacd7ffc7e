// Orchestration: ONE image. Skip it when its digest is already archived; otherwise start a job execution with
// the image's request, poll it with durable timers (backing off to POLL_MAX_INTERVAL_SECONDS, stopping it after
// JOB_TIMEOUT_MINUTES), read the worker's result blob, and retry a failed execution with backoff up to
// maxAttempts. It never throws: a failure is an outcome with its reason. Deterministic: time comes only from
// currentUtcDateTime, and everything it knows arrives through activities.
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { firstLine } from "../errors.js";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import { TERMINAL_JOB_STATUSES, type JobExecution } from "../jobs/jobRunner.js";
import { z } from "zod";
import {
  imageRunContextSchema,
  imageWorkItemSchema,
  type ImageOutcome,
  type ImageRunContext,
  type ImageWorkItem,
} from "../runs/archiveRun.js";
import {
  isPermanentFailure,
  MAX_TAGS_PER_REQUEST,
  pollDelaySeconds,
  retryDelaySeconds,
  workerImageReference,
} from "../runs/runPolicy.js";
import { outcomeFromResult } from "../runs/runTotals.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import type { ArchivedImageInfo } from "../storage/archiveStore.js";
import { callActivity, callActivityWithRetry } from "../activities/activityCalls.js";

export const archiveImageInputSchema = z.strictObject({ run: imageRunContextSchema, item: imageWorkItemSchema });
export type ArchiveImageInput = z.output<typeof archiveImageInputSchema>;

// Reads (blob and ARM status) are idempotent: transient failures are retried by the framework, 4 times from 5 s.
// Starting an execution is not (a start whose answer was lost already runs), so it is never retried here: a
// failed start is a failed attempt, retried by the attempt loop after its backoff.
const READ_RETRY = activityRetryOptions;

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

const archiveImage: OrchestrationHandler = function* (context: OrchestrationContext) {
  // A forged input (the webhook key starts any orchestration) ends here, Failed with what was wrong.
  const { run, item } = parseInput(OrchestrationNames.archiveImage, archiveImageInputSchema, context.df.getInput());
  assertInstanceOfRun("image", context.df.instanceId, run.runId);
  const started = context.df.currentUtcDateTime;
  const elapsed = () => Math.round((context.df.currentUtcDateTime.getTime() - started.getTime()) / 10) / 100;
  try {
    return yield* archiveOneImage(context, run, item, elapsed);
  } catch (failure) {
    // Whatever broke (an activity that kept failing after its retries), this image fails alone: the batch and the
    // run go on and the summary says why.
    const outcome: ImageOutcome = {
      ...item,
      status: "failed",
      attempts: 0,
      durationSeconds: elapsed(),
      error: { code: "ORCHESTRATION_FAILED", message: firstLine(failure) },
    };
    return outcome;
  }
};

function* archiveOneImage(
  context: OrchestrationContext,
  run: ImageRunContext,
  item: ImageWorkItem,
  elapsed: () => number,
): Generator<Task, ImageOutcome, unknown> {
  const image = { registry: run.registry, repository: item.repository, digest: item.digest };
  const existing = (yield callActivityWithRetry(context, "checkArchived", READ_RETRY, {
    run,
    repository: item.repository,
    digest: item.digest,
  })) as ArchivedImageInfo;
  if (existing.archived) {
    const outcome: ImageOutcome = {
      ...item,
      status: "already-archived",
      ...(existing.bytes !== undefined && { bytes: existing.bytes }),
      ...(existing.sha256 && { sha256: existing.sha256 }),
      attempts: 0,
      durationSeconds: elapsed(),
    };
    return outcome;
  }

  if (item.tags.length > MAX_TAGS_PER_REQUEST) {
    const error = {
      code: "INVALID_ARGUMENT",
      message: `${item.tags.length} tags point at this digest; an archive records at most ${MAX_TAGS_PER_REQUEST}`,
    };
    const refused: ImageOutcome = { ...item, status: "failed", attempts: 0, durationSeconds: elapsed(), error };
    return refused;
  }
  const base = {
    image: workerImageReference(run.registry, item),
    blobContainer: run.container,
    runId: run.runId,
    tags: item.tags,
  };
  let error: { code: string; message: string } = { code: "JOB_FAILED", message: "no attempt was made" };
  let attempt = 0;
  // Execution ids go 1, 2, …: one per execution actually started. A failed start keeps its id, and the next try
  // first looks for an execution of that id (a start whose answer was lost may have begun one) before starting.
  let executionId = 1;
  let reconcile = false;
  while (attempt < run.maxAttempts) {
    attempt++;
    const request = { ...base, attemptId: String(executionId) };
    let execution: JobExecution;
    try {
      const workers = run.maxParallel !== undefined ? { workers: run.maxParallel } : {};
      execution = (yield callActivity(context, "startJobExecution", {
        request,
        reconcile,
        ...workers,
      })) as JobExecution;
    } catch (failure) {
      error = { code: "JOB_FAILED", message: `could not start a job execution: ${firstLine(failure)}` };
      reconcile = true;
      if (attempt >= run.maxAttempts) break;
      yield context.df.createTimer(addSeconds(context.df.currentUtcDateTime, retryDelaySeconds(attempt)));
      continue;
    }
    reconcile = false;
    executionId++;

    const deadline = addSeconds(context.df.currentUtcDateTime, run.jobTimeoutMinutes * 60);
    let timedOut = false;
    for (let poll = 0; !TERMINAL_JOB_STATUSES.has(execution.status); poll++) {
      if (context.df.currentUtcDateTime >= deadline) {
        try {
          yield callActivityWithRetry(context, "stopJobExecution", READ_RETRY, { name: execution.name });
        } catch {
          // Could not stop it: it is still counted as a failed attempt; the job's own replica timeout ends it.
        }
        timedOut = true;
        break;
      }
      const next = addSeconds(context.df.currentUtcDateTime, pollDelaySeconds(poll, run.pollMaxIntervalSeconds));
      yield context.df.createTimer(next < deadline ? next : deadline);
      try {
        execution = (yield callActivityWithRetry(context, "getJobExecution", READ_RETRY, {
          name: execution.name,
        })) as JobExecution;
      } catch {
        // Status unknown for now: keep polling until the deadline.
      }
    }

    // This attempt's result only: an orphaned execution of another attempt writes a result of its own.
    const read = { ...image, runId: run.runId, container: run.container, attemptId: request.attemptId };
    const result = (yield callActivityWithRetry(
      context,
      "readWorkerResult",
      READ_RETRY,
      read,
    )) as ArchiveImageResult | null;
    if (execution.status === "Succeeded" && result && result.status !== "failed")
      return outcomeFromResult(item, result, attempt, elapsed());
    error =
      (!timedOut && result?.status === "failed" && result.error) ||
      (timedOut
        ? {
            code: "JOB_FAILED",
            message: `execution ${execution.name} ran longer than ${run.jobTimeoutMinutes} min and was stopped`,
          }
        : {
            code: "JOB_FAILED",
            message: `execution ${execution.name} ended ${execution.status}${execution.error ? `: ${execution.error}` : ""}`,
          });
    if (isPermanentFailure(error.code) || attempt >= run.maxAttempts) break;
    yield context.df.createTimer(addSeconds(context.df.currentUtcDateTime, retryDelaySeconds(attempt)));
  }
  const failed: ImageOutcome = {
    ...item,
    status: "failed",
    attempts: attempt,
    durationSeconds: elapsed(),
    error: { code: error.code, message: error.message.slice(0, 500) },
  };
  return failed;
}

df.app.orchestration(OrchestrationNames.archiveImage, archiveImage);
