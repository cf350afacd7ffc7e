// Adapts the Durable Functions client to the plain ArchiveRunClient the run starter uses, and reads a run's
// progress (the parent's counts plus the running batch's) for the status endpoint.
import type { DurableClient } from "durable-functions";
import type { ImageOutcome, RunProgress, RunTotals } from "../runs/archiveRun.js";
import { isRunInstanceId, registryOfRunInstanceId } from "../runs/instanceIds.js";
import { addOutcome } from "../runs/runTotals.js";
import type { ArchiveRunClient } from "../runs/startArchiveRun.js";
import { OrchestrationNames } from "./orchestrationNames.js";
import {
  getRunInstance,
  listActiveRuns,
  readWaveInFlight,
  runStatusEnvelope,
  type RunStatusEnvelope,
} from "./runStatus.js";

export function archiveRunClient(client: DurableClient): ArchiveRunClient {
  return {
    async listRunningRuns() {
      return (await listActiveRuns(client, isRunInstanceId)).map((s) => ({
        instanceId: s.instanceId,
        registry: (s.input as { registry?: string } | undefined)?.registry ?? registryOfRunInstanceId(s.instanceId)!,
      }));
    },
    async startNew(instanceId, input) {
      await client.startNew(OrchestrationNames.archiveRegistry, { instanceId, input });
    },
  };
}

export interface ArchiveRunStatus extends RunStatusEnvelope {
  progress: Omit<RunProgress, "phase"> & { phase: RunProgress["phase"] | "unknown" };
}

/** A run's status with live counts, or undefined when no such run exists. */
export async function getArchiveRunStatus(
  client: DurableClient,
  instanceId: string,
): Promise<ArchiveRunStatus | undefined> {
  if (!isRunInstanceId(instanceId)) return undefined;
  const status = await getRunInstance(client, instanceId);
  if (!status) return undefined;
  const parent = (status.customStatus ?? {}) as Partial<RunProgress>;
  const progress: ArchiveRunStatus["progress"] = {
    total: parent.total ?? 0,
    archived: parent.archived ?? 0,
    alreadyArchived: parent.alreadyArchived ?? 0,
    failed: parent.failed ?? 0,
    bytesArchived: parent.bytesArchived ?? 0,
    running: 0,
    batches: parent.batches ?? 0,
    batchesDone: parent.batchesDone ?? 0,
    phase: parent.phase ?? "unknown",
  };
  // The batch in flight reports the waves it has finished; the images of the wave in flight report themselves.
  const wave =
    parent.phase === "archiving"
      ? await readWaveInFlight<RunTotals>(client, instanceId, progress.batchesDone)
      : undefined;
  if (wave) {
    let done = wave.done;
    let running = wave.images.length;
    for (const image of wave.images) {
      if (String(image?.runtimeStatus) !== "Completed" || !image?.output) continue;
      done = addOutcome(done, image.output as ImageOutcome);
      running--;
    }
    progress.running = running;
    progress.archived += done.archived;
    progress.alreadyArchived += done.alreadyArchived;
    progress.failed += done.failed;
    progress.bytesArchived += done.bytesArchived;
  }
  return { ...runStatusEnvelope(status), progress };
}
