// Activity: start one attempt's job execution (runs/startJobExecution.ts): its per-item setting is ARCHIVE_REQUEST, or
// RESTORE_REQUEST for a restore, and either way the worker's share of the registry's request budget; never a secret.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { JobExecution } from "../jobs/jobRunner.js";
import { startJobExecution as startJobExecutionOf } from "../runs/startJobExecution.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";
import { archiveRequestShape } from "../archive/archiveRequest.js";
import { restoreRequestSchema } from "../archive/restoreRequest.js";

export const startJobExecutionInputSchema = z.union([
  z.strictObject({
    /** The app's request names the image by digest, always within a run and an attempt. */
    request: archiveRequestShape.required({ digest: true, runId: true, attemptId: true }),
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
  const { reconcile, workers, ...attempt } = parseInput(
    ActivityNames.startJobExecution,
    startJobExecutionInputSchema,
    raw,
  );
  const { config, jobRunner } = getAppDependencies();
  return startJobExecutionOf(
    jobRunner(),
    attempt,
    { ...config, registryReadsPerMinute: config.registry.readsPerMinute ?? 0 },
    { reconcile, workers },
  );
};

df.app.activity(ActivityNames.startJobExecution, { handler: startJobExecution });
