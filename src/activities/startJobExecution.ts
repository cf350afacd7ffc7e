// Activity: start one job execution for one image; its only per-image setting is ARCHIVE_REQUEST (no secrets).
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ArchiveImageRequest } from "../archive/archiveImage.js";
import type { JobExecution } from "../jobs/jobRunner.js";
import { getRunDependencies } from "../runs/runDependencies.js";

export const startJobExecutionActivityName = "startJobExecution";

const startJobExecution: ActivityHandler = async (input: { request: ArchiveImageRequest }): Promise<JobExecution> => {
  return getRunDependencies().jobRunner().startExecution({ ARCHIVE_REQUEST: JSON.stringify(input.request) });
};

df.app.activity(startJobExecutionActivityName, { handler: startJobExecution });
