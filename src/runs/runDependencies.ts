// The app's long-lived clients, built once per process from the validated settings: the archive container,
// one registry client per login server (token caches survive between activity calls) and the job runner.
import type { ContainerClient } from "@azure/storage-blob";
import { readAppSettings, type AppSettings } from "../config.js";
import { createJobRunner } from "../jobs/createJobRunner.js";
import type { JobRunner } from "../jobs/jobRunner.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";

export interface RunDependencies {
  settings: AppSettings;
  getContainer: (name: string) => ContainerClient;
  getRegistryClient: (registry: string) => RegistryClient;
  jobRunner: () => JobRunner;
}

let cached: RunDependencies | undefined;

export function getRunDependencies(env: NodeJS.ProcessEnv = process.env): RunDependencies {
  if (cached) return cached;
  const settings = readAppSettings(env);
  const blobService = createBlobServiceClient(
    settings.AZURE_STORAGE_CONNECTION_STRING
      ? { kind: "connectionString", connectionString: settings.AZURE_STORAGE_CONNECTION_STRING }
      : { kind: "accountUrl", accountUrl: settings.STORAGE_ACCOUNT_URL ?? `https://${settings.STORAGE_ACCOUNT}.blob.core.windows.net` },
  );
  const auth = settings.ACR_USERNAME && settings.ACR_PASSWORD ? { kind: "password" as const, username: settings.ACR_USERNAME, password: settings.ACR_PASSWORD } : settings.REGISTRY_AUTH === "anonymous" ? { kind: "anonymous" as const } : settings.REGISTRY_AUTH === "entra" ? { kind: "entra" as const } : { kind: "auto" as const };
  cached = {
    settings,
    getContainer: (name) => blobService.getContainerClient(name),
    getRegistryClient: createRegistryClientFactory({ auth, insecure: settings.REGISTRY_INSECURE }),
    jobRunner: () => createJobRunner(settings),
  };
  return cached;
}
