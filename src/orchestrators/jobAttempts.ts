// The per-image job loop both kinds of run share (archiveImage, restoreImage): start an execution with the attempt's
// request, poll it with durable timers (backing off to POLL_MAX_INTERVAL_SECONDS, stopping it after
// JOB_TIMEOUT_MINUTES), read the worker's result blob of that attempt, and retry a failed execution with backoff up to
// maxAttempts (permanent failures are not retried). Deterministic: time only from currentUtcDateTime.
import type { OrchestrationContext, Task } from "durable-functions";
import { errorSummaryOf, firstLine, type ErrorSummary } from "../errors.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import { TERMINAL_JOB_STATUSES, type JobExecution } from "../jobs/jobRunner.js";
import { isPermanentFailure, pollDelaySeconds, retryDelaySeconds } from "../runs/runPolicy.js";
import { callActivity, callActivityWithRetry, type ActivityInputs } from "../activities/activityCalls.js";
import type { ImageOutcome, ImageWorkItem } from "../runs/engine/workItem.js";

// Reads (blob and ARM status) are idempotent: transient failures are retried by the framework, 4 times from 5 s.
// Starting an execution is not (a start whose answer was lost already runs), so it is never retried here: a
// failed start is a failed attempt, retried by the attempt loop after its backoff.
const READ_RETRY = activityRetryOptions;

export const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

/**
 * One image's flow (archive or restore), timed from the orchestration's start. Whatever breaks in it (an activity that
 * kept failing after its retries) fails this image alone, as ORCHESTRATION_FAILED: the batch and the run go on and the
 * summary says why.
 */
export function* eachImageFailsAlone(
  context: OrchestrationContext,
  item: ImageWorkItem,
  flow: (elapsed: () => number) => Generator<Task, ImageOutcome, unknown>,
): Generator<Task, ImageOutcome, unknown> {
  const started = context.df.currentUtcDateTime;
  const elapsed = () => Math.round((context.df.currentUtcDateTime.getTime() - started.getTime()) / 10) / 100;
  try {
    return yield* flow(elapsed);
  } catch (failure) {
    return {
      ...item,
      status: "failed",
      attempts: 0,
      durationSeconds: elapsed(),
      error: { code: "ORCHESTRATION_FAILED", message: firstLine(failure) },
    };
  }
}

export interface JobAttemptsRun {
  maxAttempts: number;
  jobTimeoutMinutes: number;
  pollMaxIntervalSeconds: number;
}

/** A worker's result blob, as far as the loop reads it. */
export interface WorkerResultStatus {
  status: string;
  error?: ErrorSummary;
  /** Requests the attempt's worker made to the registry. */
  registryRequests?: number;
}

export interface JobAttempts {
  /** This attempt's start input (its attempt id is the execution id, 1, 2, …). */
  start: (attemptId: string, reconcile: boolean) => ActivityInputs["startJobExecution"];
  /** Where this attempt's worker writes its result. */
  result: (attemptId: string) => ActivityInputs["readWorkerResult"];
}

/**
 * How the attempts ended. A success's `result` is the last attempt's, its `registryRequests` summed over every
 * attempt's result that reported them; a failure's `registryRequests` likewise (absent when no result reported any).
 */
export type JobAttemptsOutcome<R> =
  | { succeeded: true; result: R; attempts: number }
  | { succeeded: false; attempts: number; error: ErrorSummary; registryRequests?: number };

export function* runJobAttempts<R extends WorkerResultStatus>(
  context: OrchestrationContext,
  run: JobAttemptsRun,
  job: JobAttempts,
): Generator<Task, JobAttemptsOutcome<R>, unknown> {
  let error: ErrorSummary = { code: "JOB_FAILED", message: "no attempt was made" };
  let attempt = 0;
  // Execution ids go 1, 2, …: one per execution actually started. A failed start keeps its id, and the next try
  // first looks for an execution of that id (a start whose answer was lost may have begun one) before starting.
  let executionId = 1;
  let reconcile = false;
  let registryRequests: number | undefined;
  const requests = () => (registryRequests !== undefined ? { registryRequests } : {});
  while (attempt < run.maxAttempts) {
    attempt++;
    const attemptId = String(executionId);
    let execution: JobExecution;
    try {
      execution = (yield callActivity(context, "startJobExecution", job.start(attemptId, reconcile))) as JobExecution;
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
    const result = (yield callActivityWithRetry(
      context,
      "readWorkerResult",
      READ_RETRY,
      job.result(attemptId),
    )) as R | null;
    // A result blob is the worker's word: a count that is not a plain count is left out.
    const sent = result?.registryRequests;
    if (typeof sent === "number" && Number.isSafeInteger(sent) && sent >= 0)
      registryRequests = (registryRequests ?? 0) + sent;
    if (execution.status === "Succeeded" && result && result.status !== "failed") {
      const counted: R = { ...result };
      delete counted.registryRequests;
      return { succeeded: true, result: { ...counted, ...requests() }, attempts: attempt };
    }
    error =
      // The worker's word: a code outside the catalogue is a failed job, with that code in the message.
      (!timedOut && result?.status === "failed" && result.error && errorSummaryOf(result.error, "JOB_FAILED")) ||
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
  return {
    succeeded: false,
    attempts: attempt,
    error: { code: error.code, message: error.message.slice(0, 500) },
    ...requests(),
  };
}
