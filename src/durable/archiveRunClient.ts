// Adapts the Durable Functions client to the plain ArchiveRunClient the run starter uses, and reads a run's
// progress (the parent's counts plus the running batch's) for the status endpoint.
import * as df from "durable-functions";
import { firstLine } from "../errors.js";
import type { DurableClient } from "durable-functions";
import type { ArchiveRegistryOutput, BatchProgress, ImageOutcome, RunProgress } from "../runs/archiveRun.js";
import { batchInstanceId, imageInstanceId, isRunInstanceId, registryOfRunInstanceId } from "../runs/instanceIds.js";
import { addOutcome } from "../runs/runTotals.js";
import type { ArchiveRunClient } from "../runs/startArchiveRun.js";
import { OrchestrationNames } from "./orchestrationNames.js";

export function archiveRunClient(client: DurableClient): ArchiveRunClient {
  return {
    async listRunningRuns() {
      const statuses = await client.getStatusBy({
        runtimeStatus: [
          df.OrchestrationRuntimeStatus.Pending,
          df.OrchestrationRuntimeStatus.Running,
          df.OrchestrationRuntimeStatus.ContinuedAsNew,
        ],
      });
      return statuses
        .filter((s) => isRunInstanceId(s.instanceId))
        .map((s) => ({
          instanceId: s.instanceId,
          registry: (s.input as { registry?: string } | undefined)?.registry ?? registryOfRunInstanceId(s.instanceId)!,
        }));
    },
    async startNew(instanceId, input) {
      await client.startNew(OrchestrationNames.archiveRegistry, { instanceId, input });
    },
  };
}

export interface ArchiveRunStatus {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  progress: Omit<RunProgress, "phase"> & { phase: RunProgress["phase"] | "unknown" };
  summaryBlob?: string;
  container?: string;
  error?: string;
}

/** A run's status with live counts, or undefined when no such run exists. */
export async function getArchiveRunStatus(
  client: DurableClient,
  instanceId: string,
): Promise<ArchiveRunStatus | undefined> {
  if (!isRunInstanceId(instanceId)) return undefined;
  let status;
  try {
    status = await client.getStatus(instanceId, { showInput: false });
  } catch {
    return undefined; // the client throws on 404
  }
  if (!status?.instanceId) return undefined;
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
  if (parent.phase === "archiving") {
    // The batch in flight reports the waves it has finished; the images of the wave in flight report themselves.
    const batchId = batchInstanceId(instanceId, progress.batchesDone);
    const batch = await client.getStatus(batchId, { showInput: false }).catch(() => undefined);
    const live = batch?.customStatus as BatchProgress | undefined;
    if (live?.done) {
      let done = live.done;
      let running = live.running;
      const images = await Promise.all(
        Array.from({ length: live.running }, (_, i) =>
          client.getStatus(imageInstanceId(batchId, live.waveStart + i), { showInput: false }).catch(() => undefined),
        ),
      );
      for (const image of images) {
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
  }
  const output = status.output as ArchiveRegistryOutput | undefined;
  return {
    instanceId,
    runtimeStatus: String(status.runtimeStatus),
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
    progress,
    ...(output?.summaryBlob && { summaryBlob: output.summaryBlob, container: output.container }),
    ...(String(status.runtimeStatus) === "Failed" && { error: firstLine(status.output ?? "failed") }),
  };
}
