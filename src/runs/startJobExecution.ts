// Starting one attempt's job execution for either kind of item (jobs/jobAttempt.ts does it at most once): the request
// held to what the app may act on (the registry allowed, the archive container; a restore's target in
// RESTORE_TARGET_REGISTRIES: an orchestration input can be forged, and the worker checks once more against its own
// env), and the execution's share of the registry's request budget, from the run's executions at once.
import { archiveJobRequest, assertRequestInScope, type ArchiveRequest } from "../archive/archiveRequest.js";
import { assertRestoreRequestInScope, restoreJobRequest, type RestoreRequest } from "../archive/restoreRequest.js";
import { startJobAttempt, workerReadsPerMinute } from "../jobs/jobAttempt.js";
import type { JobExecution, JobRunner, JobRunnerOperationOptions } from "../jobs/jobRunner.js";

/** One attempt's request, by kind (the startJobExecution activity's input). */
export type JobAttemptRequest = { request: ArchiveRequest } | { restoreRequest: RestoreRequest };

export interface StartJobExecutionScope {
  allowedRegistries: readonly string[];
  restoreTargetRegistries: readonly string[];
  archiveContainer: string;
  /** The app's REGISTRY_READS_PER_MINUTE, shared by the run's executions. */
  registryReadsPerMinute: number;
}

export async function startJobExecution(
  runner: JobRunner,
  attempt: JobAttemptRequest,
  scope: StartJobExecutionScope,
  options: JobRunnerOperationOptions & { reconcile?: boolean; workers: number },
): Promise<JobExecution> {
  const start = {
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
    ...(options.reconcile !== undefined && { reconcile: options.reconcile }),
    // A forged `workers` can only give one worker up to the whole budget, never more.
    readsPerMinute: workerReadsPerMinute(scope.registryReadsPerMinute, options.workers),
  };
  if ("restoreRequest" in attempt) {
    assertRestoreRequestInScope(attempt.restoreRequest, scope, { requireTargets: true });
    return startJobAttempt(runner, restoreJobRequest, attempt.restoreRequest, start);
  }
  assertRequestInScope(attempt.request, scope);
  return startJobAttempt(runner, archiveJobRequest, attempt.request, start);
}
