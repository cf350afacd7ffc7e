// Starting one attempt's job execution, at most once. A start is never retried underneath (the runners say so); when
// an earlier start of the same attempt failed, its answer may have been lost after the execution began, so the job's
// executions are searched for this attempt (runId, image or archive, attemptId in its request) before a new one is
// started. Archive and restore executions get the same env besides their request: their share of the registry's
// request budget (a restore reads and writes a registry, maybe the source itself).
import type { ExecutionEnvMatch, JobExecution, JobRunner, JobRunnerOperationOptions } from "../jobs/jobRunner.js";
import type { ArchiveRequest } from "../archive/archiveRequest.js";
import type { RestoreRequest } from "../archive/restoreRequest.js";

export interface StartJobOptions extends JobRunnerOperationOptions {
  /** An earlier start of this attempt failed: adopt its execution if it exists. */
  reconcile?: boolean;
  /** The execution's REGISTRY_READS_PER_MINUTE (its share of the registry's request budget; 0: none). */
  readsPerMinute?: number;
}
/**
 * One job execution's share of the registry's read budget: the budget over the executions that run at once (at least
 * one request a minute, so a share never turns into "no budget"); 0 stays 0, no budget.
 */
export function workerReadsPerMinute(readsPerMinute: number, workers: number): number {
  if (readsPerMinute <= 0) return 0;
  return Math.max(1, Math.floor(readsPerMinute / Math.max(1, workers)));
}

/** Whether an execution's ARCHIVE_REQUEST is this attempt's (the same run, image and attempt). */
export function isSameAttempt(archiveRequestJson: string | undefined, request: ArchiveRequest): boolean {
  if (!archiveRequestJson) return false;
  try {
    const other = JSON.parse(archiveRequestJson) as Partial<ArchiveRequest>;
    return other.runId === request.runId && other.image === request.image && other.attemptId === request.attemptId;
  } catch {
    return false;
  }
}

export async function startArchiveJob(
  runner: JobRunner,
  request: ArchiveRequest,
  options: StartJobOptions = {},
): Promise<JobExecution> {
  return startJobOnce(
    runner,
    "ARCHIVE_REQUEST",
    request,
    (env) => isSameAttempt(env.ARCHIVE_REQUEST, request),
    options,
  );
}

/** Whether an execution's RESTORE_REQUEST is this attempt's (the same run, archive, target and attempt). */
export function isSameRestoreAttempt(restoreRequestJson: string | undefined, request: RestoreRequest): boolean {
  if (!restoreRequestJson) return false;
  try {
    const other = JSON.parse(restoreRequestJson) as Partial<RestoreRequest>;
    return (
      other.runId === request.runId &&
      other.archiveBlob === request.archiveBlob &&
      other.target?.registry === request.target.registry &&
      other.target?.repository === request.target.repository &&
      other.attemptId === request.attemptId
    );
  } catch {
    return false;
  }
}

/** The restore mode's start: the same at-most-once rule and the same share, with RESTORE_REQUEST as its request. */
export async function startRestoreJob(
  runner: JobRunner,
  request: RestoreRequest,
  options: StartJobOptions = {},
): Promise<JobExecution> {
  return startJobOnce(
    runner,
    "RESTORE_REQUEST",
    request,
    (env) => isSameRestoreAttempt(env.RESTORE_REQUEST, request),
    options,
  );
}

/**
 * One attempt's start, archive or restore: the execution's share of the registry's request budget is computed here,
 * once for both kinds, from the run's executions at once (`workers`, its maxParallel).
 */
export async function startJobAttempt(
  runner: JobRunner,
  attempt: { request: ArchiveRequest } | { restoreRequest: RestoreRequest },
  options: JobRunnerOperationOptions & { reconcile?: boolean; workers: number; registryReadsPerMinute: number },
): Promise<JobExecution> {
  const start: StartJobOptions = {
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
    ...(options.reconcile !== undefined && { reconcile: options.reconcile }),
    readsPerMinute: workerReadsPerMinute(options.registryReadsPerMinute, options.workers),
  };
  return "restoreRequest" in attempt
    ? startRestoreJob(runner, attempt.restoreRequest, start)
    : startArchiveJob(runner, attempt.request, start);
}

async function startJobOnce(
  runner: JobRunner,
  setting: "ARCHIVE_REQUEST" | "RESTORE_REQUEST",
  request: ArchiveRequest | RestoreRequest,
  isThisAttempt: ExecutionEnvMatch,
  options: StartJobOptions,
): Promise<JobExecution> {
  const operation = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (options.reconcile) {
    const existing = await runner.findExecution(isThisAttempt, operation);
    if (existing) return existing;
  }
  const env: Record<string, string> = { [setting]: JSON.stringify(request) };
  if (options.readsPerMinute !== undefined) env.REGISTRY_READS_PER_MINUTE = String(options.readsPerMinute);
  return runner.startExecution(env, operation);
}
