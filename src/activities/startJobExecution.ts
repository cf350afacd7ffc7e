// Activity: start one attempt's job execution; its per-image settings are ARCHIVE_REQUEST and the worker's share of
// the registry's read budget (REGISTRY_READS_PER_MINUTE), never a secret. The
// request is checked here too (its registry allowed, the archive container), since an orchestration input can be
// forged; the worker checks it once more against its own env.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { JobExecution } from "../jobs/jobRunner.js";
import { startArchiveJob, workerReadsPerMinute } from "../runs/archiveJob.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";
import { archiveRequestSchema, assertRequestInScope } from "../archive/archiveRequest.js";

export const startJobExecutionInputSchema = z.strictObject({
  request: archiveRequestSchema.required({ runId: true, attemptId: true }),
  /** An earlier start of this attempt failed: look for its execution before starting one. */
  reconcile: z.boolean().default(false),
  /** Job executions of the run at once (its maxParallel): each gets that share of REGISTRY_READS_PER_MINUTE. */
  workers: z.number().int().min(1).max(100).default(1),
});
export type StartJobExecutionInput = z.input<typeof startJobExecutionInputSchema>;

const startJobExecution: ActivityHandler = async (raw: unknown): Promise<JobExecution> => {
  const { request, reconcile, workers } = parseInput(
    ActivityNames.startJobExecution,
    startJobExecutionInputSchema,
    raw,
  );
  const deps = getAppDependencies();
  assertRequestInScope(request, {
    allowedRegistries: deps.config.allowedRegistries,
    archiveContainer: deps.config.archiveContainer,
  });
  // A forged `workers` can only give one worker up to the whole budget, never more.
  const readsPerMinute = workerReadsPerMinute(deps.config.registry.readsPerMinute ?? 0, workers);
  return startArchiveJob(deps.jobRunner(), request, { reconcile, readsPerMinute });
};

df.app.activity(ActivityNames.startJobExecution, { handler: startJobExecution });
