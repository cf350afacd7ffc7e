// What both kinds of run (archive, restore) read from the Durable client the same way: the top-level runs still going,
// a run's own status and the envelope its status endpoint answers with, and the wave in flight of its current batch
// (the batch's finished counts and the status of each image instance of the wave). The per-kind counting stays in
// archiveRunClient.ts and restoreRunClient.ts.
import * as df from "durable-functions";
import type { DurableClient, DurableOrchestrationStatus } from "durable-functions";
import { firstLine } from "../errors.js";
import type { BatchProgress } from "../runs/archiveRun.js";
import { batchInstanceId, imageInstanceId } from "../runs/instanceIds.js";

/** Top-level instances that are Pending, Running or ContinuedAsNew and whose id `isRun` accepts. */
export async function listActiveRuns(
  client: DurableClient,
  isRun: (instanceId: string) => boolean,
): Promise<DurableOrchestrationStatus[]> {
  const statuses = await client.getStatusBy({
    runtimeStatus: [
      df.OrchestrationRuntimeStatus.Pending,
      df.OrchestrationRuntimeStatus.Running,
      df.OrchestrationRuntimeStatus.ContinuedAsNew,
    ],
  });
  return statuses.filter((s) => isRun(s.instanceId));
}

/** A run's status, or undefined when there is none (the client throws on 404). */
export async function getRunInstance(
  client: DurableClient,
  instanceId: string,
): Promise<DurableOrchestrationStatus | undefined> {
  try {
    const status = await client.getStatus(instanceId, { showInput: false });
    return status?.instanceId ? status : undefined;
  } catch {
    return undefined;
  }
}

/** The part of a status endpoint's answer both kinds share. */
export interface RunStatusEnvelope {
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  summaryBlob?: string;
  container?: string;
  error?: string;
}

export function runStatusEnvelope(status: DurableOrchestrationStatus): RunStatusEnvelope {
  const output = status.output as { summaryBlob?: string; container?: string } | undefined;
  return {
    instanceId: status.instanceId,
    runtimeStatus: String(status.runtimeStatus),
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
    ...(output?.summaryBlob && { summaryBlob: output.summaryBlob, container: output.container }),
    ...(String(status.runtimeStatus) === "Failed" && { error: firstLine(status.output ?? "failed") }),
  };
}

/** The batch in flight: what its finished waves counted, and each image instance of the wave it is running. */
export interface WaveInFlight<T> {
  done: T;
  /** The wave's image instances, in order (undefined: not started yet, or unreadable). */
  images: (DurableOrchestrationStatus | undefined)[];
}

export async function readWaveInFlight<T>(
  client: DurableClient,
  runInstanceId: string,
  batchIndex: number,
): Promise<WaveInFlight<T> | undefined> {
  const batchId = batchInstanceId(runInstanceId, batchIndex);
  const batch = await client.getStatus(batchId, { showInput: false }).catch(() => undefined);
  const live = batch?.customStatus as BatchProgress<T> | undefined;
  if (!live?.done) return undefined;
  const images = await Promise.all(
    Array.from({ length: live.running }, (_, i) =>
      client.getStatus(imageInstanceId(batchId, live.waveStart + i), { showInput: false }).catch(() => undefined),
    ),
  );
  return { done: live.done, images };
}
