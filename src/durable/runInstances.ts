// The Durable client as runs/runRecords.ts asks it (RunInstances): the top-level runs going, and one run's instance
// with its input (a run's input names its registry and target, never a secret).
import type { DurableClient, DurableOrchestrationStatus } from "durable-functions";
import { parseRunInstanceId } from "../runs/instanceIds.js";
import type { RunInstance, RunInstances } from "../runs/runRecords.js";
import { listActiveRuns } from "./runStatus.js";

function toRunInstance(status: DurableOrchestrationStatus): RunInstance {
  return {
    instanceId: status.instanceId,
    runtimeStatus: String(status.runtimeStatus),
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
    input: status.input,
    customStatus: status.customStatus,
    output: status.output,
  };
}

export function durableRunInstances(client: DurableClient): RunInstances {
  return {
    listActive: async () =>
      (await listActiveRuns(client, (id) => parseRunInstanceId(id) !== undefined)).map(toRunInstance),
    get: async (instanceId) => {
      try {
        const status = await client.getStatus(instanceId, { showInput: true });
        return status?.instanceId ? toRunInstance(status) : undefined;
      } catch {
        // The client throws on 404: no such instance (purged, or never started).
        return undefined;
      }
    },
  };
}
