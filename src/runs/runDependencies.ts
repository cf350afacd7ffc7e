// The app's long-lived clients, built once per process from the validated settings: the archive container,
// one registry client per login server (token caches survive between activity calls), the job runner, and
// registry resolution through ARM.
import type { ContainerClient } from "@azure/storage-blob";
import { readAppSettings, toRegistryAuth, toStorageConfig, type AppSettings } from "../config.js";
import { createJobRunner } from "../jobs/createJobRunner.js";
import type { JobRunner } from "../jobs/jobRunner.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { resolveRegistryLoginServer } from "../registry/resolveRegistry.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";
import { withRegistryLock } from "./runLock.js";

export interface RunDependencies {
  settings: AppSettings;
  getContainer: (name: string) => ContainerClient;
  getRegistryClient: (registry: string) => RegistryClient;
  jobRunner: () => JobRunner;
  /** A request's `registry` (login server, ACR name or resource id) → login server. */
  resolveRegistry: (registry: string) => Promise<string>;
  /** Exclusive section per registry (one run at a time): a lease in the archive container. */
  lock: <T>(registry: string, work: () => Promise<T>) => Promise<T>;
}

let cached: RunDependencies | undefined;

export function getRunDependencies(env: NodeJS.ProcessEnv = process.env): RunDependencies {
  if (cached) return cached;
  const settings = readAppSettings(env);
  const blobService = createBlobServiceClient(toStorageConfig(settings));
  cached = {
    settings,
    getContainer: (name) => blobService.getContainerClient(name),
    getRegistryClient: createRegistryClientFactory({ auth: toRegistryAuth(settings), insecure: settings.REGISTRY_INSECURE }),
    jobRunner: () => createJobRunner(settings),
    lock: (registry, work) => withRegistryLock(blobService.getContainerClient(settings.ARCHIVE_CONTAINER), registry, work),
    resolveRegistry: (registry) =>
      resolveRegistryLoginServer(registry, { armEndpoint: settings.ARM_ENDPOINT, ...(settings.AZURE_SUBSCRIPTION_ID && { subscriptionId: settings.AZURE_SUBSCRIPTION_ID }) }),
  };
  return cached;
}
