// Adapts the Durable Functions client to the RestoreRunClient the restore starter uses, and reads a restore run's
// progress for GET /api/restore/{id}: the run's counts, plus the batch in flight's, plus the images of the wave in
// flight (finished ones by their outcome, running ones by their phase: rehydrating or restoring).
import type { DurableClient } from "durable-functions";
import type { ImageOutcome } from "../runs/archiveRun.js";
import { isRestoreRunInstanceId, targetOfRestoreRunInstanceId } from "../runs/instanceIds.js";
import type { RestoreImagePhase, RestoreProgress, RestoreTotals } from "../runs/restoreRun.js";
import { addRestoreOutcome } from "../runs/runTotals.js";
import type { RestoreRunClient } from "../runs/startRestoreRun.js";
import { OrchestrationNames } from "./orchestrationNames.js";
import {
  getRunInstance,
  listActiveRuns,
  readWaveInFlight,
  runStatusEnvelope,
  type RunStatusEnvelope,
} from "./runStatus.js";

export function restoreRunClient(client: DurableClient): RestoreRunClient {
  return {
    async listRunningRestores() {
      return (await listActiveRuns(client, isRestoreRunInstanceId)).map((s) => ({
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

export interface RestoreRunStatus extends RunStatusEnvelope {
  progress: Omit<RestoreProgress, "phase" | "batches" | "batchesDone"> & {
    batches: number;
    batchesDone: number;
    phase: RestoreProgress["phase"] | "unknown";
  };
}

export async function getRestoreRunStatus(
  client: DurableClient,
  instanceId: string,
): Promise<RestoreRunStatus | undefined> {
  if (!isRestoreRunInstanceId(instanceId)) return undefined;
  const status = await getRunInstance(client, instanceId);
  if (!status) return undefined;
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
  const wave =
    parent.phase === "restoring"
      ? await readWaveInFlight<RestoreTotals>(client, instanceId, progress.batchesDone)
      : undefined;
  if (wave) {
    let done = wave.done;
    for (const image of wave.images) {
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
  return { ...runStatusEnvelope(status), progress };
}
