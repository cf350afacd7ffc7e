// Activity: stop an execution that ran past the run's timeout.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import { getRunDependencies } from "../runs/runDependencies.js";

export const stopJobExecutionActivityName = "stopJobExecution";

const stopJobExecution: ActivityHandler = async (input: { name: string }): Promise<void> => {
  await getRunDependencies().jobRunner().stopExecution(input.name);
};

df.app.activity(stopJobExecutionActivityName, { handler: stopJobExecution });
