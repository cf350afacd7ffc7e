// Builds the Blob service client from the validated storage configuration: a connection string (Azurite,
// key-based accounts) or an account URL with DefaultAzureCredential (managed identity in Azure).
import { lazyDefaultAzureCredential } from "../azureCredential.js";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { storageErrorCode } from "./storageError.js";

/** Where the archive account is and how to reach it (AZURE_STORAGE_CONNECTION_STRING, STORAGE_ACCOUNT_URL, STORAGE_ACCOUNT). */
export type StorageConfig =
  { kind: "connectionString"; connectionString: string } | { kind: "accountUrl"; accountUrl: string };

export function createBlobServiceClient(storage: StorageConfig): BlobServiceClient {
  if (storage.kind === "connectionString") return BlobServiceClient.fromConnectionString(storage.connectionString);
  return new BlobServiceClient(storage.accountUrl, lazyDefaultAzureCredential());
}

/**
 * Creates the container if it is missing. The deployment creates it; an identity whose role is scoped to the
 * container gets 403 for Create Container, which is fine: a container that is really missing fails the first write.
 */
export async function ensureContainer(
  container: ContainerClient,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  await container.createIfNotExists(options).catch((error: unknown) => {
    if (storageErrorCode(error).statusCode !== 403) throw error;
  });
}
