// The app's long-lived clients, made from its configuration: the archive container, one registry client per login
// server (token caches survive between activity calls), the one job runner, and registry resolution through ARM.
// Activities reach everything through here, and here the configuration bounds what an input may name. The process's
// one instance, from its environment, is src/appDependencies.ts.
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { createJobRunner, type CreateJobRunnerOptions, type JobRunnerConfig } from "../jobs/createJobRunner.js";
import type { JobRunner } from "../jobs/jobRunner.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { createRegistryClientFactory, type RegistryAccess } from "../registry/createRegistryClient.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { resolveRegistryLoginServer } from "../registry/resolveRegistry.js";
import { createBlobServiceClient, type StorageConfig } from "../storage/blobServiceClient.js";
import type { ListingConfig } from "./listRunImages.js";
import { withRegistryLock } from "./runLock.js";
import type { StartRunConfig } from "./engine/startRun.js";
import type { PriceSheet, RegistrySku, RegistryStorage } from "../cost/costEstimate.js";
import { readRegistryStorage } from "../registry/registryStorage.js";

/** How long a registry's storage reading is reused: the catalog's first pages may come often (a status page). */
const REGISTRY_STORAGE_TTL_MS = 5 * 60 * 1000;

/** What the run's clients are made from (src/config.ts AppConfig is one). */
export interface RunDependenciesConfig extends StartRunConfig {
  storage: StorageConfig;
  registry: RegistryAccess;
  jobRunner: JobRunnerConfig;
  registryResolution: { armEndpoint: string; subscriptionId?: string };
  nightlyRegistries: string[];
  nightlyRefreshReferrers: boolean;
  durableStatusUrls: boolean;
  listing: ListingConfig;
  stagingMaxAgeMinutes: number;
  prices: PriceSheet;
  registrySku?: RegistrySku;
  catalogBackfillMaxBlobs: number;
}

export interface RunDependencies {
  config: RunDependenciesConfig;
  /** The archive container; any other name is refused (INVALID_ARGUMENT): activity inputs can be forged. */
  getContainer: (name: string) => ContainerClient;
  /** The client of an allowed registry; any other is refused (INVALID_ARGUMENT) before it is contacted. */
  getRegistryClient: (registry: string) => RegistryClient;
  /** The client of a restore target in RESTORE_TARGET_REGISTRIES; any other is refused before it is contacted. */
  getTargetRegistryClient: (registry: string) => RegistryClient;
  /** The one job runner of this process, made on first use. */
  jobRunner: () => JobRunner;
  /** A request's `registry` (login server, ACR name or resource id) → login server. */
  resolveRegistry: (registry: string) => Promise<string>;
  /** Exclusive section per registry (one run at a time): a lease in the archive container. */
  lock: <T>(registry: string, work: () => Promise<T>) => Promise<T>;
  /** A registry's SKU and storage use (ARM, else REGISTRY_SKU), kept for a few minutes: the catalog's totals. */
  registryStorage: (loginServer: string) => Promise<RegistryStorage>;
}

export interface CreateRunDependenciesOptions {
  jobRunner?: CreateJobRunnerOptions;
}

export function createRunDependencies(
  config: RunDependenciesConfig,
  options: CreateRunDependenciesOptions = {},
): RunDependencies {
  const blobService = createBlobServiceClient(config.storage);
  const registryClient = createRegistryClientFactory(config.registry);
  let runner: JobRunner | undefined;
  const storageReadings = new Map<string, { at: number; reading: Promise<RegistryStorage> }>();
  return {
    config,
    getContainer: (name) => {
      if (name !== config.archiveContainer)
        throw new ArchiveError(
          "INVALID_ARGUMENT",
          `container: ${name} is not the archive container (ARCHIVE_CONTAINER: ${config.archiveContainer})`,
        );
      return blobService.getContainerClient(name);
    },
    getRegistryClient: (registry) => {
      assertRegistryAllowed(registry, config.allowedRegistries);
      return registryClient(registry);
    },
    getTargetRegistryClient: (registry) => {
      assertRegistryAllowed(registry, config.restoreTargetRegistries, "RESTORE_TARGET_REGISTRIES");
      return registryClient(registry);
    },
    jobRunner: () => (runner ??= createJobRunner(config.jobRunner, options.jobRunner)),
    lock: (registry, work) => withRegistryLock(blobService.getContainerClient(config.archiveContainer), registry, work),
    resolveRegistry: (registry) => resolveRegistryLoginServer(registry, config.registryResolution),
    registryStorage: (loginServer) => {
      const cached = storageReadings.get(loginServer);
      if (cached && Date.now() - cached.at < REGISTRY_STORAGE_TTL_MS) return cached.reading;
      const reading = readRegistryStorage(loginServer, {
        armEndpoint: config.registryResolution.armEndpoint,
        ...(config.registryResolution.subscriptionId && { subscriptionId: config.registryResolution.subscriptionId }),
        ...(config.registrySku && { fallbackSku: config.registrySku }),
      });
      storageReadings.set(loginServer, { at: Date.now(), reading });
      return reading;
    },
  };
}
