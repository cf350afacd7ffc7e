// Retry options for idempotent activities (blob and ARM reads, run blobs), from the plain policy in runs/runPolicy.
import * as df from "durable-functions";
import { ACTIVITY_RETRY } from "../runs/runPolicy.js";

export const activityRetryOptions: df.RetryOptions = Object.assign(
  new df.RetryOptions(ACTIVITY_RETRY.firstRetryIntervalInMilliseconds, ACTIVITY_RETRY.maxNumberOfAttempts),
  {
    backoffCoefficient: ACTIVITY_RETRY.backoffCoefficient,
  },
);
