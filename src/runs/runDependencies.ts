// The app's long-lived clients, built once per process from the validated settings: the archive container,
// one registry client per login server (token caches survive between activity calls), the job runner, and
// registry resolution through ARM.
import type { ContainerClient } from "@azure/storage-blob";
import { allowedRegistriesOf, readAppSettings, toRegistryAuth, toStorageConfig, type AppSettings } from "../config.js";
import { ArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { createJobRunner } from "../jobs/createJobRunner.js";
import type { JobRunner } from "../jobs/jobRunner.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { resolveRegistryLoginServer } from "../registry/resolveRegistry.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";
import { withRegistryLock } from "./runLock.js";

export interface RunDependencies {
  settings: AppSettings;
  /** Login-server globs a run may target (allowedRegistriesOf the settings). */
  allowedRegistries: string[];
  /** The archive container; any other name is refused (INVALID_ARGUMENT): activity inputs can be forged. */
  getContainer: (name: string) => ContainerClient;
  /** The client of an allowed registry; any other is refused (INVALID_ARGUMENT) before it is contacted. */
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
  const allowedRegistries = allowedRegistriesOf(settings);
  const registryClient = createRegistryClientFactory({ auth: toRegistryAuth(settings), insecure: settings.REGISTRY_INSECURE });
  cached = {
    settings,
    allowedRegistries,
    getContainer: (name) => {
      if (name !== settings.ARCHIVE_CONTAINER) throw new ArchiveError("INVALID_ARGUMENT", `container: ${name} is not the archive container (ARCHIVE_CONTAINER: ${settings.ARCHIVE_CONTAINER})`);
      return blobService.getContainerClient(name);
    },
    getRegistryClient: (registry) => {
      assertRegistryAllowed(registry, allowedRegistries);
      return registryClient(registry);
    },
    jobRunner: () => createJobRunner(settings),
    lock: (registry, work) => withRegistryLock(blobService.getContainerClient(settings.ARCHIVE_CONTAINER), registry, work),
    resolveRegistry: (registry) =>
      resolveRegistryLoginServer(registry, { armEndpoint: settings.ARM_ENDPOINT, ...(settings.AZURE_SUBSCRIPTION_ID && { subscriptionId: settings.AZURE_SUBSCRIPTION_ID }) }),
  };
  return cached;
}
