// The one parser of Container Apps job resource ids (JOB_RESOURCE_ID). Its own module so that the configuration, which
// every process reads, does not load the ARM SDK with the job runner.
import { ArchiveError } from "../errors.js";

export interface JobResourceId {
  subscriptionId: string;
  resourceGroupName: string;
  jobName: string;
}

const JOB_RESOURCE_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.App\/jobs\/([^/]+)\/?$/i;

export function parseJobResourceId(resourceId: string): JobResourceId {
  const match = JOB_RESOURCE_ID.exec(resourceId.trim());
  if (!match)
    throw new ArchiveError(
      "CONFIG_INVALID",
      `JOB_RESOURCE_ID: must be a Container Apps job resource id: /subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/<name> (got ${JSON.stringify(resourceId)})`,
    );
  return {
    subscriptionId: decodeURIComponent(match[1]!),
    resourceGroupName: decodeURIComponent(match[2]!),
    jobName: decodeURIComponent(match[3]!),
  };
}
