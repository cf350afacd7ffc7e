// Activity: stop an execution that ran past the run's timeout.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import type { z } from "zod";
import { executionRefSchema } from "../jobs/jobRunner.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseInput } from "../validation.js";

export type StopJobExecutionInput = z.output<typeof executionRefSchema>;

const stopJobExecution: ActivityHandler = async (raw: unknown): Promise<void> => {
  const { name } = parseInput(ActivityNames.stopJobExecution, executionRefSchema, raw);
  await getAppDependencies().jobRunner().stopExecution(name);
};

df.app.activity(ActivityNames.stopJobExecution, { handler: stopJobExecution });
