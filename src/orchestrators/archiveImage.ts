// Orchestration: ONE image. Skip it when its digest is already archived; otherwise start a job execution with
// the image's request, poll it with durable timers (backing off to POLL_MAX_INTERVAL_SECONDS, stopping it after
// JOB_TIMEOUT_MINUTES), read the worker's result blob, and retry a failed execution with backoff up to
// maxAttempts. It never throws: a failure is an outcome with its reason. Deterministic: time comes only from
// currentUtcDateTime, and everything it knows arrives through activities.
import * as df from "durable-functions";
import type { OrchestrationContext, OrchestrationHandler } from "durable-functions";
import type { ArchiveImageRequest, ArchiveImageResult } from "../archive/archiveImage.js";
import { TERMINAL_JOB_STATUSES, type JobExecution } from "../jobs/jobRunner.js";
import { isPermanentFailure, MAX_TAGS_PER_REQUEST, outcomeFromResult, pollDelaySeconds, retryDelaySeconds, workerImageReference, type ArchiveRunInput, type ImageOutcome, type ImageWorkItem } from "../runs/archiveRun.js";
import type { ArchivedImageInfo } from "../runs/runStore.js";
import { checkArchivedActivityName } from "../activities/checkArchived.js";
import { getJobExecutionActivityName } from "../activities/getJobExecution.js";
import { readWorkerResultActivityName } from "../activities/readWorkerResult.js";
import { startJobExecutionActivityName } from "../activities/startJobExecution.js";
import { stopJobExecutionActivityName } from "../activities/stopJobExecution.js";

export const archiveImageOrchestrationName = "archiveImage";

export interface ArchiveImageInput {
  run: ArchiveRunInput;
  item: ImageWorkItem;
}

// Starting an execution is an ARM call: transient failures are retried by the framework, 3 times from 5 s.
const START_RETRY = new df.RetryOptions(5_000, 3);

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

const archiveImage: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { run, item } = context.df.getInput() as ArchiveImageInput;
  const started = context.df.currentUtcDateTime;
  const elapsed = () => Math.round((context.df.currentUtcDateTime.getTime() - started.getTime()) / 10) / 100;
  const image = { registry: run.registry, repository: item.repository, digest: item.digest };

  const existing: ArchivedImageInfo = yield context.df.callActivity(checkArchivedActivityName, { ...image, container: run.container });
  if (existing.archived) {
    const outcome: ImageOutcome = { ...item, status: "already-archived", ...(existing.bytes !== undefined && { bytes: existing.bytes }), ...(existing.sha256 && { sha256: existing.sha256 }), attempts: 0, durationSeconds: elapsed() };
    return outcome;
  }

  const request: ArchiveImageRequest = { image: workerImageReference(run.registry, item), blobContainer: run.container, runId: run.runId, tags: item.tags.slice(0, MAX_TAGS_PER_REQUEST) };
  let error: { code: string; message: string } = { code: "JOB_FAILED", message: "no attempt was made" };
  let attempt = 0;
  while (attempt < run.maxAttempts) {
    attempt++;
    let execution: JobExecution;
    try {
      execution = yield context.df.callActivityWithRetry(startJobExecutionActivityName, START_RETRY, { request });
    } catch (failure) {
      error = { code: "JOB_FAILED", message: `could not start a job execution: ${firstLine(failure)}` };
      if (attempt >= run.maxAttempts) break;
      yield context.df.createTimer(addSeconds(context.df.currentUtcDateTime, retryDelaySeconds(attempt)));
      continue;
    }

    const deadline = addSeconds(context.df.currentUtcDateTime, run.jobTimeoutMinutes * 60);
    let timedOut = false;
    for (let poll = 0; !TERMINAL_JOB_STATUSES.has(execution.status); poll++) {
      if (context.df.currentUtcDateTime >= deadline) {
        yield context.df.callActivity(stopJobExecutionActivityName, { name: execution.name });
        timedOut = true;
        break;
      }
      const next = addSeconds(context.df.currentUtcDateTime, pollDelaySeconds(poll, run.pollMaxIntervalSeconds));
      yield context.df.createTimer(next < deadline ? next : deadline);
      execution = yield context.df.callActivity(getJobExecutionActivityName, { name: execution.name });
    }

    const result: ArchiveImageResult | null = yield context.df.callActivity(readWorkerResultActivityName, { ...image, runId: run.runId, container: run.container });
    if (execution.status === "Succeeded" && result && result.status !== "failed") return outcomeFromResult(item, result, attempt, elapsed());
    error =
      (!timedOut && result?.status === "failed" && result.error) ||
      (timedOut
        ? { code: "JOB_FAILED", message: `execution ${execution.name} ran longer than ${run.jobTimeoutMinutes} min and was stopped` }
        : { code: "JOB_FAILED", message: `execution ${execution.name} ended ${execution.status}${execution.error ? `: ${execution.error}` : ""}` });
    if (isPermanentFailure(error.code) || attempt >= run.maxAttempts) break;
    yield context.df.createTimer(addSeconds(context.df.currentUtcDateTime, retryDelaySeconds(attempt)));
  }
  const failed: ImageOutcome = { ...item, status: "failed", attempts: attempt, durationSeconds: elapsed(), error: { code: error.code, message: error.message.slice(0, 500) } };
  return failed;
};

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 300);
}

df.app.orchestration(archiveImageOrchestrationName, archiveImage);
