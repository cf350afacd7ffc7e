// One run per registry, atomically: starting a run (check for a running one, then start) happens under a blob
// lease on runs/locks/<registry>, so two POSTs at the same moment cannot both start one.
import { setTimeout as sleep } from "node:timers/promises";
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { ensureContainer, storageErrorCode } from "../storage/blobServiceClient.js";
import { registryLockBlobName } from "../storage/blobNames.js";

// The lease outlives a start by far (a start is a status query and one POST to the task hub).
const LEASE_SECONDS = 30;
const WAIT_FOR_LEASE_MS = 20_000;

export async function withRegistryLock<T>(container: ContainerClient, registry: string, work: () => Promise<T>): Promise<T> {
  const blob = container.getBlockBlobClient(registryLockBlobName(registry));
  await ensureContainer(container);
  await blob.uploadData(Buffer.alloc(0), { conditions: { ifNoneMatch: "*" } }).catch((error: unknown) => {
    if (storageErrorCode(error).statusCode !== 409 && storageErrorCode(error).statusCode !== 412) throw error; // exists (maybe leased)
  });
  const lease = blob.getBlobLeaseClient();
  const deadline = Date.now() + WAIT_FOR_LEASE_MS;
  for (;;) {
    try {
      await lease.acquireLease(LEASE_SECONDS);
      break;
    } catch (error) {
      if (storageErrorCode(error).statusCode !== 409 || Date.now() > deadline) {
        throw new ArchiveError("STORAGE_ERROR", `cannot lock ${registry} to start a run: ${storageErrorCode(error).code ?? String(error)}`, { cause: error });
      }
      await sleep(100 + Math.random() * 200);
    }
  }
  try {
    return await work();
  } finally {
    await lease.releaseLease().catch(() => undefined); // it expires on its own anyway
  }
}
