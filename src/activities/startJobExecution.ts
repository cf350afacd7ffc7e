// Activity: start one attempt's job execution; its per-image settings are ARCHIVE_REQUEST, or RESTORE_REQUEST for a
// restore, and either way the worker's share of the registry's request budget (REGISTRY_READS_PER_MINUTE); never a
// secret. The request is checked here too (its registry allowed, the archive container; a restore's target in
// RESTORE_TARGET_REGISTRIES), since an orchestration input can be forged; the worker checks it once more against its
// own env.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { JobExecution } from "../jobs/jobRunner.js";
import { startJobAttempt } from "../runs/archiveJob.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";
import { archiveRequestSchema, assertRequestInScope } from "../archive/archiveRequest.js";
import { assertRestoreRequestInScope, restoreRequestSchema } from "../archive/restoreRequest.js";

export const startJobExecutionInputSchema = z.union([
  z.strictObject({
    request: archiveRequestSchema.required({ runId: true, attemptId: true }),
    /** An earlier start of this attempt failed: look for its execution before starting one. */
    reconcile: z.boolean().default(false),
    /** Job executions of the run at once (its maxParallel): each gets that share of REGISTRY_READS_PER_MINUTE. */
    workers: z.number().int().min(1).max(100).default(1),
  }),
  z.strictObject({
    restoreRequest: restoreRequestSchema.safeExtend({
      runId: restoreRequestSchema.shape.runId.unwrap(),
      attemptId: restoreRequestSchema.shape.attemptId.unwrap(),
    }),
    reconcile: z.boolean().default(false),
    /** Job executions of the run at once (its maxParallel), as for an archive. */
    workers: z.number().int().min(1).max(100).default(1),
  }),
]);
export type StartJobExecutionInput = z.input<typeof startJobExecutionInputSchema>;

const startJobExecution: ActivityHandler = async (raw: unknown): Promise<JobExecution> => {
  const input = parseInput(ActivityNames.startJobExecution, startJobExecutionInputSchema, raw);
  const deps = getAppDependencies();
  if ("restoreRequest" in input)
    assertRestoreRequestInScope(
      input.restoreRequest,
      { restoreTargetRegistries: deps.config.restoreTargetRegistries, archiveContainer: deps.config.archiveContainer },
      { requireTargets: true },
    );
  else
    assertRequestInScope(input.request, {
      allowedRegistries: deps.config.allowedRegistries,
      archiveContainer: deps.config.archiveContainer,
    });
  // A forged `workers` can only give one worker up to the whole budget, never more.
  return startJobAttempt(deps.jobRunner(), input, {
    reconcile: input.reconcile,
    workers: input.workers,
    registryReadsPerMinute: deps.config.registry.readsPerMinute ?? 0,
  });
};

df.app.activity(ActivityNames.startJobExecution, { handler: startJobExecution });
