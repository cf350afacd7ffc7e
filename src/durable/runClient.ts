// Adapts the Durable Functions client to the plain RunClient a kind's starter uses (runs/engine/startRun.ts): the
// kind's runs still going, with what each holds, and the start of its run orchestration.
import type { DurableClient } from "durable-functions";
import type { RunClient } from "../runs/engine/startRun.js";
import type { RunKind } from "./runKinds.js";
import { listActiveRuns } from "./runStatus.js";

export function runClient<I>(client: DurableClient, kind: RunKind<never, never, unknown>): RunClient<I> {
  return {
    async listRunningRuns() {
      return (await listActiveRuns(client, kind.isRunInstanceId)).map((s) => ({
        instanceId: s.instanceId,
        subject: kind.subjectOf(s.input, s.instanceId),
      }));
    },
    async startNew(instanceId, input) {
      await client.startNew(kind.runOrchestration, { instanceId, input });
    },
  };
}
