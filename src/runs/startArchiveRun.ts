// Starting a run, for the HTTP trigger and the nightly timer alike: validate, resolve the registry, enforce one
// run per registry at a time, and build the orchestration's input. The Durable client is behind a small
// interface so this stays a plain, testable module.
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { globListSchema } from "../globs.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { formatIssues } from "../validation.js";
import { archiveRunInputSchema, type ArchiveRunInput } from "./archiveRun.js";
import { runInstanceId } from "./instanceIds.js";
import { batchSizeFor, startExclusive, type RunClient, type StartRunConfig } from "./engine/startRun.js";

/** POST /api/archive body (and the timer's per-registry run): what to archive. */
export const startArchiveRunSchema = z.strictObject({
  /** A login server (`myacr.azurecr.io`, `127.0.0.1:5000`), an ACR name, or an ACR resource id. */
  registry: z.string({ error: "is required" }).min(1, "is required").max(512),
  repositories: globListSchema.optional(),
  excludeRepositories: globListSchema.optional(),
  tags: globListSchema.optional(),
  excludeTags: globListSchema.optional(),
  includeUntagged: z.boolean().default(false),
  /** Only images whose ACR `lastUpdatedOn` is at least this many days old. */
  olderThanDays: z.number().int("must be an integer").min(0, "must be ≥ 0").max(36500, "must be ≤ 36500").optional(),
  maxParallel: z.number().int("must be an integer").min(1, "must be ≥ 1").max(100, "must be ≤ 100").optional(),
  dryRun: z.boolean().default(false),
  /** Also look up referrers of images already archived and archive the new ones (a supplementary archive each). */
  refreshReferrers: z.boolean().default(false),
});
export type StartArchiveRunInput = z.output<typeof startArchiveRunSchema>;

export type ArchiveRunClient = RunClient<ArchiveRunInput>;

export type StartArchiveRunResult =
  | { kind: "started"; instanceId: string; input: ArchiveRunInput }
  | { kind: "conflict"; instanceId: string; registry: string };

export interface StartArchiveRunDependencies {
  client: ArchiveRunClient;
  config: StartRunConfig;
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

export async function startArchiveRun(
  request: StartArchiveRunInput,
  deps: StartArchiveRunDependencies,
): Promise<StartArchiveRunResult> {
  const registry = (await deps.resolveRegistry(request.registry)).toLowerCase();
  assertRegistryAllowed(registry, deps.config.allowedRegistries);
  const started = await startExclusive({
    client: deps.client,
    lock: deps.lock,
    lockName: registry,
    subject: registry,
    build: () => archiveRunOf(request, registry, deps),
  });
  return started.kind === "conflict" ? { ...started, registry } : started;
}

function archiveRunOf(
  request: StartArchiveRunInput,
  registry: string,
  deps: StartArchiveRunDependencies,
): { instanceId: string; input: ArchiveRunInput } {
  const instanceId = runInstanceId(registry, deps.now);
  const { archiveContainer, runDefaults } = deps.config;
  const input: ArchiveRunInput = archiveRunInputSchema.parse({
    runId: instanceId,
    registry,
    container: archiveContainer,
    filters: {
      ...(request.repositories && { repositories: request.repositories }),
      ...(request.excludeRepositories && { excludeRepositories: request.excludeRepositories }),
      ...(request.tags && { tags: request.tags }),
      ...(request.excludeTags && { excludeTags: request.excludeTags }),
      includeUntagged: request.includeUntagged,
      ...(request.olderThanDays !== undefined && { olderThanDays: request.olderThanDays }),
    },
    dryRun: request.dryRun,
    refreshReferrers: request.refreshReferrers,
    maxParallel: request.maxParallel ?? runDefaults.maxParallel,
    maxAttempts: runDefaults.maxAttempts,
    jobTimeoutMinutes: runDefaults.jobTimeoutMinutes,
    pollMaxIntervalSeconds: runDefaults.pollMaxIntervalSeconds,
    batchSize: batchSizeFor(request.maxParallel ?? runDefaults.maxParallel),
    requestedBy: deps.requestedBy,
    requestedAtUtc: deps.now.toISOString(),
  } satisfies ArchiveRunInput); // the schema each orchestrator checks its input with
  return { instanceId, input };
}
