// A run's status, for every kind of run alike (GET /api/archive/{id}, GET /api/restore/{id}): the run's counts from its
// custom status, plus the batch in flight's finished waves, plus the items of the wave in flight (finished ones by
// their outcome, running ones by the kind's live counters), counted as the kind counts (runs/runKinds.ts). Also the
// top-level runs still going, for the starters' one-run-at-a-time check.
import * as df from "durable-functions";
import type { DurableClient, DurableOrchestrationStatus } from "durable-functions";
import { firstLine } from "../errors.js";
import type { BatchProgress, ImageOutcome } from "../runs/engine/workItem.js";
import { addOutcome, emptyTotals, type Totals } from "../runs/engine/outcomeCounting.js";
import type { RunKind } from "./runKinds.js";
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

/** A run's status endpoint answer: the envelope and its progress (the kind's totals, live counters, batches, phase). */
export interface RunStatus<P> extends RunStatusEnvelope {
  progress: P;
}

/** Progress as GET /api/<kind>/{id} answers it: the kind's totals, its live counters, batches and phase. */
export type RunStatusProgress<T> = T &
  Record<string, number | string> & { batches: number; batchesDone: number; phase: string };

/** A run's status with live counts, or undefined when there is no such run of this kind. */
export async function getRunStatus<T extends Totals<T>>(
  client: DurableClient,
  kind: RunKind<T, never, unknown>,
  instanceId: string,
): Promise<RunStatus<RunStatusProgress<T>> | undefined> {
  if (!kind.isRunInstanceId(instanceId)) return undefined;
  const status = await getRunInstance(client, instanceId);
  if (!status) return undefined;
  const parent = (status.customStatus ?? {}) as Partial<Record<string, number | string>>;
  const count = (key: PropertyKey) =>
    typeof parent[key as string] === "number" ? (parent[key as string] as number) : 0;
  const progress: Record<string, number | string> = {};
  for (const key of kind.counting.keys) progress[key as string] = count(key);
  for (const key of kind.liveKeys) progress[key] = 0;
  progress.batches = count("batches");
  progress.batchesDone = count("batchesDone");
  progress.phase = typeof parent.phase === "string" ? parent.phase : "unknown";
  // The batch in flight reports the waves it has finished; the items of the wave in flight report themselves.
  const wave =
    parent.phase === kind.batchPhase
      ? await readWaveInFlight<T>(client, instanceId, progress.batchesDone as number)
      : undefined;
  if (wave) {
    let done: T = { ...emptyTotals(kind.counting), ...wave.done };
    for (const image of wave.images) {
      if (String(image?.runtimeStatus) === "Completed" && image?.output) {
        done = addOutcome(kind.counting, done, image.output as ImageOutcome);
        continue;
      }
      const live = kind.liveKey(image?.customStatus);
      progress[live] = (progress[live] as number) + 1;
    }
    // `total` is the listing's: the wave adds how its items ended.
    for (const key of kind.counting.keys)
      if (key !== "total") progress[key as string] = (progress[key as string] as number) + done[key];
  }
  return { ...runStatusEnvelope(status), progress: progress as RunStatusProgress<T> };
}
