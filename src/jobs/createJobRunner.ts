// Picks the job runner its config names (JOB_RUNNER): a Container Apps job through ARM, or local worker processes.
// A plain factory: the app keeps the one runner it makes for the life of the process (runs/runDependencies.ts),
// since the ARM client's token cache and the local runner's in-memory executions must outlive one activity call.
import { ContainerAppsJobRunner, type ContainerAppsJobRunnerOptions } from "./containerAppsJobRunner.js";
import type { JobResourceId } from "./jobResourceId.js";
import type { JobRunner } from "./jobRunner.js";
import { LocalJobRunner, type LocalJobRunnerOptions } from "./localJobRunner.js";

/** Where each image's worker runs, as the app settings say. */
export type JobRunnerConfig =
  /** `templateEnv`: what the job's template sets in Azure (the deployment sets the worker's scope there). */
  | { kind: "local"; templateEnv: Record<string, string> }
  | {
      kind: "container-apps";
      job: JobResourceId;
      /** The template container that receives ARCHIVE_REQUEST (JOB_CONTAINER_NAME); default: the first. */
      containerName?: string;
      armEndpoint: string;
      /** A user-assigned managed identity for the default credential (AZURE_CLIENT_ID). */
      managedIdentityClientId?: string;
    };

export interface CreateJobRunnerOptions {
  /** For container-apps: credential, ARM client options, polling interval. */
  containerApps?: Omit<ContainerAppsJobRunnerOptions, "job" | "containerName" | "endpoint" | "managedIdentityClientId">;
  /** For local: worker path, base env, name prefix, stop grace period. */
  local?: LocalJobRunnerOptions;
}

export function createJobRunner(config: JobRunnerConfig, options: CreateJobRunnerOptions = {}): JobRunner {
  if (config.kind === "local")
    return new LocalJobRunner({
      ...options.local,
      templateEnv: { ...config.templateEnv, ...options.local?.templateEnv },
    });
  return new ContainerAppsJobRunner({
    ...options.containerApps,
    job: config.job,
    endpoint: config.armEndpoint,
    ...(config.containerName !== undefined && { containerName: config.containerName }),
    ...(config.managedIdentityClientId !== undefined && { managedIdentityClientId: config.managedIdentityClientId }),
  });
}
