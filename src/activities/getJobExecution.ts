// Activity: the status of one job execution (polled by archiveImage between durable timers).
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { JobExecution } from "../jobs/jobRunner.js";
import { getRunDependencies } from "../runs/runDependencies.js";

export const getJobExecutionActivityName = "getJobExecution";

const getJobExecution: ActivityHandler = async (input: { name: string }): Promise<JobExecution> => {
  return getRunDependencies().jobRunner().getExecution(input.name);
};

df.app.activity(getJobExecutionActivityName, { handler: getJobExecution });
