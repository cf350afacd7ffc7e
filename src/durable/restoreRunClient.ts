// Adapts the Durable Functions client to the RestoreRunClient the restore starter uses, and reads a restore run's
// progress for GET /api/restore/{id}: the run's counts, plus the batch in flight's, plus the images of the wave in
// flight (finished ones by their outcome, running ones by their phase: rehydrating or restoring).
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";
import { firstLine } from "../errors.js";
import type { BatchProgress, ImageOutcome } from "../runs/archiveRun.js";
import {
  batchInstanceId,
  imageInstanceId,
  isRestoreRunInstanceId,
  targetOfRestoreRunInstanceId,
} from "../runs/instanceIds.js";
import type { RestoreImagePhase, RestoreProgress, RestoreRunOutput, RestoreTotals } from "../runs/restoreRun.js";
import { addRestoreOutcome } from "../runs/runTotals.js";
import type { RestoreRunClient } from "../runs/startRestoreRun.js";
import { OrchestrationNames } from "./orchestrationNames.js";

export function restoreRunClient(client: DurableClient): RestoreRunClient {
  return {
    async listRunningRestores() {
      const statuses = await client.getStatusBy({
        runtimeStatus: [
          df.OrchestrationRuntimeStatus.Pending,
          df.OrchestrationRuntimeStatus.Running,
          df.OrchestrationRuntimeStatus.ContinuedAsNew,
        ],
      });
      return statuses
        .filter((s) => isRestoreRunInstanceId(s.instanceId))
        .map((s) => ({
          instanceId: s.instanceId,
          target:
            (s.input as { target?: { registry?: string } } | undefined)?.target?.registry ??
            targetOfRestoreRunInstanceId(s.instanceId)!,
        }));
    },
    async startNew(instanceId, input) {
      await client.startNew(OrchestrationNames.restoreRun, { instanceId, input });
    },
  };
}

export interface RestoreRunStatus {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  progress: Omit<RestoreProgress, "phase" | "batches" | "batchesDone"> & {
    batches: number;
    batchesDone: number;
    phase: RestoreProgress["phase"] | "unknown";
  };
  summaryBlob?: string;
  container?: string;
  error?: string;
}

export async function getRestoreRunStatus(
  client: DurableClient,
  instanceId: string,
): Promise<RestoreRunStatus | undefined> {
  if (!isRestoreRunInstanceId(instanceId)) return undefined;
  let status;
  try {
    status = await client.getStatus(instanceId, { showInput: false });
  } catch {
    return undefined;
  }
  if (!status?.instanceId) return undefined;
  const parent = (status.customStatus ?? {}) as Partial<RestoreProgress>;
  const progress: RestoreRunStatus["progress"] = {
    total: parent.total ?? 0,
    rehydrating: 0,
    restoring: 0,
    restored: parent.restored ?? 0,
    alreadyPresent: parent.alreadyPresent ?? 0,
    failed: parent.failed ?? 0,
    bytes: parent.bytes ?? 0,
    batches: parent.batches ?? 0,
    batchesDone: parent.batchesDone ?? 0,
    phase: parent.phase ?? "unknown",
  };
  if (parent.phase === "restoring") {
    const batchId = batchInstanceId(instanceId, progress.batchesDone);
    const batch = await client.getStatus(batchId, { showInput: false }).catch(() => undefined);
    const live = batch?.customStatus as BatchProgress<RestoreTotals> | undefined;
    if (live?.done) {
      let done = live.done;
      const images = await Promise.all(
        Array.from({ length: live.running }, (_, i) =>
          client.getStatus(imageInstanceId(batchId, live.waveStart + i), { showInput: false }).catch(() => undefined),
        ),
      );
      for (const image of images) {
        if (String(image?.runtimeStatus) === "Completed" && image?.output) {
          done = addRestoreOutcome(done, image.output as ImageOutcome);
          continue;
        }
        const phase = (image?.customStatus as RestoreImagePhase | undefined)?.phase;
        if (phase === "restoring") progress.restoring++;
        else progress.rehydrating++; // checking counts as waiting for the archive
      }
      progress.restored += done.restored;
      progress.alreadyPresent += done.alreadyPresent;
      progress.failed += done.failed;
      progress.bytes += done.bytes;
    }
  }
  const output = status.output as RestoreRunOutput | undefined;
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
