// Starting one attempt's job execution, at most once. A start is never retried underneath (the runners say so); when
// an earlier start of the same attempt failed, its answer may have been lost after the execution began, so the job's
// executions are searched for this attempt (runId, image, attemptId in ARCHIVE_REQUEST) before a new one is started.
import type { JobExecution, JobRunner, JobRunnerOperationOptions } from "../jobs/jobRunner.js";
import type { ArchiveRequest } from "../archive/archiveRequest.js";
import type { RestoreRequest } from "../archive/restoreRequest.js";

export interface StartArchiveJobOptions extends JobRunnerOperationOptions {
  /** An earlier start of this attempt failed: adopt its execution if it exists. */
  reconcile?: boolean;
  /** The execution's REGISTRY_READS_PER_MINUTE (its share of the registry's read budget; 0: none). */
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
  options: StartArchiveJobOptions = {},
): Promise<JobExecution> {
  const operation = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (options.reconcile) {
    const existing = await runner.findExecution((env) => isSameAttempt(env.ARCHIVE_REQUEST, request), operation);
    if (existing) return existing;
  }
  const env: Record<string, string> = { ARCHIVE_REQUEST: JSON.stringify(request) };
  if (options.readsPerMinute !== undefined) env.REGISTRY_READS_PER_MINUTE = String(options.readsPerMinute);
  return runner.startExecution(env, operation);
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

/** The restore mode's start: the same at-most-once rule, with RESTORE_REQUEST as the execution's one setting. */
export async function startRestoreJob(
  runner: JobRunner,
  request: RestoreRequest,
  options: StartArchiveJobOptions = {},
): Promise<JobExecution> {
  const operation = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (options.reconcile) {
    const existing = await runner.findExecution((env) => isSameRestoreAttempt(env.RESTORE_REQUEST, request), operation);
    if (existing) return existing;
  }
  return runner.startExecution({ RESTORE_REQUEST: JSON.stringify(request) }, operation);
}
