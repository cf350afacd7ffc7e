// One attempt's job execution, started at most once, for any kind of worker request. A start is never retried
// underneath (the runners say so); when an earlier start of the same attempt failed, its answer may have been lost after
// the execution began, so the job's executions are searched for this attempt (the request's attempt key in the env
// setting that carries it) before a new one is started. Every execution gets the same env besides its request: its
// share of the registry's request budget.
import type { JobExecution, JobRunner, JobRunnerOperationOptions } from "./jobRunner.js";

/** A kind of worker request, as a job start sees it. */
export interface JobRequestKind<R> {
  /** The env setting that carries the request (the worker's mode). */
  setting: "ARCHIVE_REQUEST" | "RESTORE_REQUEST";
  /** What names one attempt: two requests with equal keys are the same attempt (a request read back may be partial). */
  attemptKey: (request: Partial<R>) => readonly unknown[];
}

/** Whether an execution's request (the JSON of its setting) is this attempt's. */
export function isSameAttempt<R>(kind: JobRequestKind<R>, requestJson: string | undefined, request: R): boolean {
  if (!requestJson) return false;
  let other: Partial<R>;
  try {
    other = JSON.parse(requestJson) as Partial<R>;
  } catch {
    return false;
  }
  if (typeof other !== "object" || other === null) return false;
  const mine = kind.attemptKey(request as Partial<R>);
  const theirs = kind.attemptKey(other);
  return mine.length === theirs.length && mine.every((value, i) => value === theirs[i]);
}

/**
 * One job execution's share of the registry's request budget: the budget over the executions that run at once (at
 * least one request a minute, so a share never turns into "no budget"); 0 stays 0, no budget.
 */
export function workerReadsPerMinute(readsPerMinute: number, workers: number): number {
  if (readsPerMinute <= 0) return 0;
  return Math.max(1, Math.floor(readsPerMinute / Math.max(1, workers)));
}

export interface StartJobAttemptOptions extends JobRunnerOperationOptions {
  /** An earlier start of this attempt failed: adopt its execution if it exists. */
  reconcile?: boolean;
  /** The execution's REGISTRY_READS_PER_MINUTE (its share of the registry's request budget; 0: none). */
  readsPerMinute?: number;
}

export async function startJobAttempt<R>(
  runner: JobRunner,
  kind: JobRequestKind<R>,
  request: R,
  options: StartJobAttemptOptions = {},
): Promise<JobExecution> {
  const operation = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (options.reconcile) {
    const existing = await runner.findExecution((env) => isSameAttempt(kind, env[kind.setting], request), operation);
    if (existing) return existing;
  }
  const env: Record<string, string> = { [kind.setting]: JSON.stringify(request) };
  if (options.readsPerMinute !== undefined) env.REGISTRY_READS_PER_MINUTE = String(options.readsPerMinute);
  return runner.startExecution(env, operation);
}
