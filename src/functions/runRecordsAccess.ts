// What the run-reading triggers (listRuns, getRun) share: the records' dependencies for one request (the archive
// container, the Durable client, status URLs on the request's origin). No registration here.
import type { HttpRequest, InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { durableRunInstances } from "../durable/runInstances.js";
import type { RunRecordsDependencies } from "../runs/runRecords.js";

export function runRecordsDependencies(
  request: HttpRequest,
  context: InvocationContext,
): RunRecordsDependencies & { containerName: string } {
  const { config, getContainer } = getAppDependencies();
  const origin = new URL(request.url).origin;
  return {
    containerName: config.archiveContainer,
    container: getContainer(config.archiveContainer),
    instances: durableRunInstances(df.getClient(context)),
    statusUrl: (kind, instanceId) => `${origin}/api/${kind}/${encodeURIComponent(instanceId)}`,
  };
}
