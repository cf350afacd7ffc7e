// Starting a restore run, for POST /api/restore: validate (every problem named), resolve the source registry, hold
// the target to RESTORE_TARGET_REGISTRIES, allow one restore into a target at a time (checked and started under the
// run lock's blob lease, on `restore:<target>`), and build the orchestration's input. A plain, testable module: the
// Durable client is behind RestoreRunClient.
import { ArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { formatIssues } from "../validation.js";
import { runInstanceId } from "./instanceIds.js";
import {
  restoreRunInputSchema,
  startRestoreRunSchema,
  type RestoreRunInput,
  type StartRestoreRunInput,
} from "./restoreRun.js";
import { batchSizeFor, startExclusive, type RunClient, type StartRunConfig } from "./engine/startRun.js";

export type RestoreRunClient = RunClient<RestoreRunInput>;

export type StartRestoreRunResult =
  | { kind: "started"; instanceId: string; input: RestoreRunInput }
  | { kind: "conflict"; instanceId: string; target: string };

export interface StartRestoreRunDependencies {
  client: RestoreRunClient;
  config: StartRunConfig;
  resolveRegistry: (registry: string) => Promise<string>;
  lock: <T>(name: string, work: () => Promise<T>) => Promise<T>;
  /** The source registry of an archive run's summary, or undefined when there is no such summary. */
  archiveRunRegistry: (runId: string) => Promise<string | undefined>;
  now: Date;
}

/** Validates a request body; throws INVALID_ARGUMENT with every problem, one per line. */
export function parseStartRestoreRun(body: unknown): StartRestoreRunInput {
  const parsed = startRestoreRunSchema.safeParse(body);
  if (!parsed.success) throw new ArchiveError("INVALID_ARGUMENT", formatIssues(parsed.error).join("\n"));
  return parsed.data;
}

export async function startRestoreRun(
  request: StartRestoreRunInput,
  deps: StartRestoreRunDependencies,
): Promise<StartRestoreRunResult> {
  const registry = (await deps.resolveRegistry(request.registry)).toLowerCase();
  const target = (request.target.registry ?? registry).toLowerCase();
  const problems: string[] = [];
  try {
    assertRegistryAllowed(target, deps.config.restoreTargetRegistries, "RESTORE_TARGET_REGISTRIES");
  } catch (error) {
    problems.push(`target.${(error as Error).message}`);
  }
  if (request.runId !== undefined) {
    const archived = await deps.archiveRunRegistry(request.runId);
    if (archived === undefined) problems.push(`runId: no summary of an archive run ${request.runId} in this container`);
    else if (archived !== registry) problems.push(`runId: ${request.runId} archived ${archived}, not ${registry}`);
  }
  if (problems.length) throw new ArchiveError("INVALID_ARGUMENT", problems.join("\n"));

  const started = await startExclusive({
    client: deps.client,
    lock: deps.lock,
    lockName: `restore:${target}`,
    subject: target,
    build: () => {
      const instanceId = runInstanceId(target, deps.now, undefined, "restore");
      const { archiveContainer, runDefaults } = deps.config;
      const maxParallel = request.maxParallel ?? runDefaults.maxParallel;
      const selection = request.images
        ? { images: request.images }
        : request.runId !== undefined
          ? { runId: request.runId }
          : {
              ...(request.repositories && { repositories: request.repositories }),
              ...(request.tags && { tags: request.tags }),
            };
      const input: RestoreRunInput = restoreRunInputSchema.parse({
        kind: "restore",
        runId: instanceId,
        registry,
        container: archiveContainer,
        selection,
        target: {
          registry: target,
          ...(request.target.repositoryPrefix && { repositoryPrefix: request.target.repositoryPrefix }),
        },
        rehydratePriority: request.rehydratePriority,
        rehydrationTimeoutMinutes: runDefaults.rehydrationTimeoutMinutes[request.rehydratePriority],
        rehydrationPollMaxSeconds: runDefaults.rehydrationPollMaxSeconds,
        dryRun: request.dryRun,
        maxParallel,
        maxAttempts: runDefaults.maxAttempts,
        jobTimeoutMinutes: runDefaults.jobTimeoutMinutes,
        pollMaxIntervalSeconds: runDefaults.pollMaxIntervalSeconds,
        batchSize: batchSizeFor(maxParallel),
        requestedAtUtc: deps.now.toISOString(),
      } satisfies RestoreRunInput);
      return { instanceId, input };
    },
  });
  return started.kind === "conflict" ? { ...started, target } : started;
}
