// Picks the job runner the settings name (JOB_RUNNER) and keeps one per process: the ARM client and its token
// cache, or the local runner's in-memory executions, must outlive a single activity invocation.
import type { AppSettings } from "../config.js";
import { ContainerAppsJobRunner, type ContainerAppsJobRunnerOptions } from "./containerAppsJobRunner.js";
import type { JobRunner } from "./jobRunner.js";
import { LocalJobRunner, type LocalJobRunnerOptions } from "./localJobRunner.js";

export interface CreateJobRunnerOptions {
  /** For JOB_RUNNER=container-apps: credential, ARM client options, polling interval. */
  containerApps?: Omit<ContainerAppsJobRunnerOptions, "jobResourceId" | "containerName" | "endpoint" | "managedIdentityClientId">;
  /** For JOB_RUNNER=local: worker path, base env, name prefix, stop grace period. */
  local?: LocalJobRunnerOptions;
}

let cached: { key: string; runner: JobRunner } | undefined;
let override: JobRunner | undefined;

/**
 * Makes createJobRunner return this runner whatever the settings (or the configured one again, with undefined).
 * For the scale benchmark, which preloads an instant runner into the local host with `node --import`.
 */
export function setJobRunnerOverride(runner: JobRunner | undefined): void {
  override = runner;
}

/**
 * The runner for these settings, created on first use and then reused while the settings that shape it stay the
 * same (`options` only count on creation). Other settings make a new runner, which replaces the cached one.
 */
export function createJobRunner(settings: AppSettings, options: CreateJobRunnerOptions = {}): JobRunner {
  if (override) return override;
  const key = JSON.stringify([settings.JOB_RUNNER, settings.JOB_RESOURCE_ID, settings.JOB_CONTAINER_NAME, settings.ARM_ENDPOINT, settings.AZURE_CLIENT_ID]);
  if (cached?.key === key) return cached.runner;
  const runner = settings.JOB_RUNNER === "local" ? new LocalJobRunner(options.local) : ContainerAppsJobRunner.fromSettings(settings, options.containerApps);
  cached = { key, runner };
  return runner;
}

/** Forgets the cached runner (tests that switch settings or options). */
export function clearJobRunnerCache(): void {
  cached = undefined;
}
