// A run's context checked against the configuration, by the first activity of each orchestration (listImages,
// readBatch, checkArchived): an orchestration input can be forged (the Durable webhook key starts any orchestration
// with any input), so the registry, the container and the limits it asks for are held to what the settings allow.
import { ArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import type { ImageRunContext } from "./archiveRun.js";
import type { RestoreImageRunContext } from "./restoreRun.js";
import type { StartRunConfig } from "./engine/startRun.js";

export function assertRunInScope(run: ImageRunContext | RestoreImageRunContext, config: StartRunConfig): void {
  // A restore reads the archive container only: where it pushes is what the settings must allow.
  if ("kind" in run && run.kind === "restore")
    assertRegistryAllowed(run.target.registry, config.restoreTargetRegistries, "RESTORE_TARGET_REGISTRIES");
  else assertRegistryAllowed(run.registry, config.allowedRegistries);
  if (run.container !== config.archiveContainer) {
    throw new ArchiveError(
      "INVALID_ARGUMENT",
      `container: ${run.container} is not the archive container (ARCHIVE_CONTAINER: ${config.archiveContainer})`,
    );
  }
  const limits = config.runDefaults;
  const over: string[] = [];
  if (run.maxAttempts > limits.maxAttempts)
    over.push(`maxAttempts ${run.maxAttempts} > MAX_ATTEMPTS ${limits.maxAttempts}`);
  if (run.jobTimeoutMinutes > limits.jobTimeoutMinutes)
    over.push(`jobTimeoutMinutes ${run.jobTimeoutMinutes} > JOB_TIMEOUT_MINUTES ${limits.jobTimeoutMinutes}`);
  if (run.pollMaxIntervalSeconds > limits.pollMaxIntervalSeconds) {
    over.push(
      `pollMaxIntervalSeconds ${run.pollMaxIntervalSeconds} > POLL_MAX_INTERVAL_SECONDS ${limits.pollMaxIntervalSeconds}`,
    );
  }
  if ("kind" in run && run.kind === "restore") {
    const limit = limits.rehydrationTimeoutMinutes[run.rehydratePriority];
    if (run.rehydrationTimeoutMinutes > limit)
      over.push(
        `rehydrationTimeoutMinutes ${run.rehydrationTimeoutMinutes} > REHYDRATION_TIMEOUT_MINUTES_${run.rehydratePriority.toUpperCase()} ${limit}`,
      );
    if (run.rehydrationPollMaxSeconds > limits.rehydrationPollMaxSeconds)
      over.push(
        `rehydrationPollMaxSeconds ${run.rehydrationPollMaxSeconds} > REHYDRATION_POLL_MAX_SECONDS ${limits.rehydrationPollMaxSeconds}`,
      );
  }
  if (over.length)
    throw new ArchiveError(
      "INVALID_ARGUMENT",
      `run ${run.runId} asks for more than the settings allow: ${over.join("; ")}`,
    );
}
