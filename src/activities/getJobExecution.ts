// Activity: the status of one job execution (polled by archiveImage between durable timers).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import type { z } from "zod";
import { executionRefSchema, type JobExecution } from "../jobs/jobRunner.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";

export type GetJobExecutionInput = z.output<typeof executionRefSchema>;

const getJobExecution: ActivityHandler = async (raw: unknown): Promise<JobExecution> => {
  const { name } = parseInput(ActivityNames.getJobExecution, executionRefSchema, raw);
  return getAppDependencies().jobRunner().getExecution(name);
};

df.app.activity(ActivityNames.getJobExecution, { handler: getJobExecution });
