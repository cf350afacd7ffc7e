// What every kind of run's starter shares: the defaults a request does not override, the part of the app's
// configuration a starter reads, the batch size, the Durable client behind a plain interface, and the one-run rule:
// under a lock on the run's subject (the registry an archive run reads, the target a restore run pushes to), a run
// already going answers "conflict", otherwise the run is started. A plain, testable module.
import { registrySlug } from "../instanceIds.js";

// Items per batch sub-orchestration: keeps each batch's history and outcome blob small (≈ 50 × 300 bytes).
export const BATCH_SIZE = 50;

/** A batch runs in waves of maxParallel: a batch smaller than that would cap the parallelism. */
export function batchSizeFor(maxParallel: number): number {
  return Math.max(BATCH_SIZE, maxParallel);
}

/** What a run gets when its request does not say (DEFAULT_MAX_PARALLEL, MAX_ATTEMPTS, JOB_TIMEOUT_MINUTES, …). */
export interface RunDefaults {
  maxParallel: number;
  maxAttempts: number;
  jobTimeoutMinutes: number;
  pollMaxIntervalSeconds: number;
  /** A restore's limit on waiting for rehydration, per priority (REHYDRATION_TIMEOUT_MINUTES_STANDARD / _HIGH). */
  rehydrationTimeoutMinutes: { Standard: number; High: number };
  /** Rehydration polling backs off up to this (REHYDRATION_POLL_MAX_SECONDS). */
  rehydrationPollMaxSeconds: number;
}

/** The part of the app's configuration a starter needs. */
export interface StartRunConfig {
  archiveContainer: string;
  /** Login-server globs a run may target. */
  allowedRegistries: string[];
  /** Login-server globs a restore may push to. */
  restoreTargetRegistries: string[];
  runDefaults: RunDefaults;
}

export interface RunningRun {
  instanceId: string;
  /** What the run holds: a login server, or its slug when the run's input is not shown. */
  subject: string;
}

/** The Durable client, as a starter needs it, for one kind of run. */
export interface RunClient<I> {
  /** Top-level runs of this kind that are Pending or Running. */
  listRunningRuns(): Promise<RunningRun[]>;
  /** Starts the kind's run orchestration. */
  startNew(instanceId: string, input: I): Promise<void>;
}

export type StartExclusiveResult<I> =
  { kind: "started"; instanceId: string; input: I } | { kind: "conflict"; instanceId: string };

/**
 * Under `lock(lockName)`: a run of this kind already holding `subject` answers conflict; otherwise `build` makes the
 * run's id and input (checked by the kind's schema) and it is started.
 */
export async function startExclusive<I>(options: {
  client: RunClient<I>;
  lock: <T>(name: string, work: () => Promise<T>) => Promise<T>;
  lockName: string;
  subject: string;
  build: () => { instanceId: string; input: I };
}): Promise<StartExclusiveResult<I>> {
  return options.lock(options.lockName, async () => {
    const running = (await options.client.listRunningRuns()).find(
      (r) => r.subject === options.subject || r.subject === registrySlug(options.subject),
    );
    if (running) return { kind: "conflict", instanceId: running.instanceId } as const;
    const { instanceId, input } = options.build();
    await options.client.startNew(instanceId, input);
    return { kind: "started", instanceId, input } as const;
  });
}
