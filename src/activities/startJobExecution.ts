// Activity: start one attempt's job execution; its only per-image setting is ARCHIVE_REQUEST (no secrets). The
// request is checked here too (its registry allowed, the archive container), since an orchestration input can be
// forged; the worker checks it once more against its own env.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { JobExecution } from "../jobs/jobRunner.js";
import { startArchiveJob } from "../runs/archiveJob.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";
import { archiveRequestSchema, assertRequestInScope } from "../archive/archiveRequest.js";

export const startJobExecutionInputSchema = z.strictObject({
  request: archiveRequestSchema.required({ runId: true, attemptId: true }),
  /** An earlier start of this attempt failed: look for its execution before starting one. */
  reconcile: z.boolean().default(false),
});
export type StartJobExecutionInput = z.input<typeof startJobExecutionInputSchema>;

const startJobExecution: ActivityHandler = async (raw: unknown): Promise<JobExecution> => {
  const { request, reconcile } = parseInput(ActivityNames.startJobExecution, startJobExecutionInputSchema, raw);
  const deps = getAppDependencies();
  assertRequestInScope(request, {
    allowedRegistries: deps.config.allowedRegistries,
    archiveContainer: deps.config.archiveContainer,
  });
  return startArchiveJob(deps.jobRunner(), request, { reconcile });
};

df.app.activity(ActivityNames.startJobExecution, { handler: startJobExecution });
