// Starting a run, for the HTTP trigger and the nightly timer alike: validate, resolve the registry, enforce one
// run per registry at a time, and build the orchestration's input. The Durable client is behind a small
// interface so this stays a plain, testable module.
import { randomBytes } from "node:crypto";
import { ArchiveError } from "../errors.js";
import { allowedRegistriesOf, formatIssues, startArchiveRunSchema, type AppSettings, type StartArchiveRunInput } from "../config.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { archiveRunInputSchema, type ArchiveRunInput } from "./archiveRun.js";

// Images per batch sub-orchestration: keeps each batch's history and outcome blob small (≈ 50 × 300 bytes).
export const BATCH_SIZE = 50;

export interface RunningRun {
  instanceId: string;
  registry: string;
}

export interface ArchiveRunClient {
  /** Top-level archive runs that are Pending or Running. */
  listRunningRuns(): Promise<RunningRun[]>;
  /** Starts the archiveRegistry orchestration. */
  startNew(instanceId: string, input: ArchiveRunInput): Promise<void>;
}

export type StartArchiveRunResult = { kind: "started"; instanceId: string; input: ArchiveRunInput } | { kind: "conflict"; instanceId: string; registry: string };

export interface StartArchiveRunDependencies {
  client: ArchiveRunClient;
  settings: AppSettings;
  /** Login server for a login server, an ACR name or an ACR resource id. */
  resolveRegistry: (registry: string) => Promise<string>;
  /** Runs the check-and-start exclusively for one registry (a blob lease in the app). */
  lock: <T>(registry: string, work: () => Promise<T>) => Promise<T>;
  now: Date;
  requestedBy: "http" | "timer";
}

/** Validates a request body; throws INVALID_ARGUMENT with every problem, one per line. */
export function parseStartArchiveRun(body: unknown): StartArchiveRunInput {
  const parsed = startArchiveRunSchema.safeParse(body);
  if (!parsed.success) throw new ArchiveError("INVALID_ARGUMENT", formatIssues(parsed.error).join("\n"));
  return parsed.data;
}

const RUN_ID = /^archive-([a-z0-9-]+)-\d{8}T\d{9}Z-[a-f0-9]{6}$/;

/**
 * `archive-<registry>-<UTC time to the ms>-<6 hex>`: sortable, says which registry a run is for, and unique even
 * for two runs started in the same millisecond (a reused id would replace a finished run and its summary).
 */
export function runInstanceId(registry: string, now: Date, random = randomBytes(3).toString("hex")): string {
  const stamp = now.toISOString().replace(/[-:.]/g, "");
  return `archive-${registrySlug(registry)}-${stamp}-${random}`;
}

export function isRunInstanceId(instanceId: string): boolean {
  return RUN_ID.test(instanceId);
}

/** The registry part of a run's instance id, as runInstanceId wrote it. */
export function registryOfRunInstanceId(instanceId: string): string | undefined {
  return RUN_ID.exec(instanceId)?.[1];
}

export function registrySlug(registry: string): string {
  return registry.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 100);
}

export async function startArchiveRun(request: StartArchiveRunInput, deps: StartArchiveRunDependencies): Promise<StartArchiveRunResult> {
  const registry = (await deps.resolveRegistry(request.registry)).toLowerCase();
  assertRegistryAllowed(registry, allowedRegistriesOf(deps.settings));
  return deps.lock(registry, async () => {
    const running = (await deps.client.listRunningRuns()).find((r) => r.registry === registry || r.registry === registrySlug(registry));
    if (running) return { kind: "conflict", instanceId: running.instanceId, registry } as const;
    return startRun(request, registry, deps);
  });
}

async function startRun(request: StartArchiveRunInput, registry: string, deps: StartArchiveRunDependencies): Promise<StartArchiveRunResult> {
  const instanceId = runInstanceId(registry, deps.now);
  const { settings } = deps;
  const input: ArchiveRunInput = archiveRunInputSchema.parse({
    runId: instanceId,
    registry,
    container: settings.ARCHIVE_CONTAINER,
    filters: {
      ...(request.repositories && { repositories: request.repositories }),
      ...(request.excludeRepositories && { excludeRepositories: request.excludeRepositories }),
      ...(request.tags && { tags: request.tags }),
      ...(request.excludeTags && { excludeTags: request.excludeTags }),
      includeUntagged: request.includeUntagged,
      ...(request.olderThanDays !== undefined && { olderThanDays: request.olderThanDays }),
    },
    dryRun: request.dryRun,
    maxParallel: request.maxParallel ?? settings.DEFAULT_MAX_PARALLEL,
    maxAttempts: settings.MAX_ATTEMPTS,
    jobTimeoutMinutes: settings.JOB_TIMEOUT_MINUTES,
    pollMaxIntervalSeconds: settings.POLL_MAX_INTERVAL_SECONDS,
    // A batch runs in waves of maxParallel: a batch smaller than that would cap the parallelism.
    batchSize: Math.max(BATCH_SIZE, request.maxParallel ?? settings.DEFAULT_MAX_PARALLEL),
    requestedBy: deps.requestedBy,
    requestedAtUtc: deps.now.toISOString(),
  } satisfies ArchiveRunInput); // the schema each orchestrator checks its input with
  await deps.client.startNew(instanceId, input);
  return { kind: "started", instanceId, input };
}
