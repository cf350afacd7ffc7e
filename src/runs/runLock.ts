// One run per registry, atomically: starting a run (check for a running one, then start) happens under a blob
// lease on runs/locks/<registry>, so two POSTs at the same moment cannot both start one. The lease is renewed for
// as long as the work runs (a task hub query can outlast it). A start that takes too long fails its caller, but the
// lease is held until the work has really ended: released early, a late start could race a second one.
import { setTimeout as sleep } from "node:timers/promises";
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { ensureContainer } from "../storage/blobServiceClient.js";
import { storageErrorCode } from "../storage/storageError.js";
import { registryLockBlobName } from "../storage/blobNames.js";

export interface WithRegistryLockOptions {
  /** Lease length (Azure allows 15-60 s); renewed every third of it while the work runs. Default 30. */
  leaseSeconds?: number;
  /** How long to wait for another starter's lease. Default 20 s. */
  waitForLeaseInMs?: number;
  /** The caller gets STORAGE_ERROR past this (a start is a status query and one POST); the lease stays until the work ends. Default 120 s. */
  workTimeoutInMs?: number;
}

export async function withRegistryLock<T>(
  container: ContainerClient,
  registry: string,
  work: () => Promise<T>,
  options: WithRegistryLockOptions = {},
): Promise<T> {
  const leaseSeconds = options.leaseSeconds ?? 30;
  const blob = container.getBlockBlobClient(registryLockBlobName(registry));
  await ensureContainer(container);
  await blob.uploadData(Buffer.alloc(0), { conditions: { ifNoneMatch: "*" } }).catch((error: unknown) => {
    if (storageErrorCode(error).statusCode !== 409 && storageErrorCode(error).statusCode !== 412) throw error; // exists (maybe leased)
  });
  const lease = blob.getBlobLeaseClient();
  const deadline = Date.now() + (options.waitForLeaseInMs ?? 20_000);
  for (;;) {
    try {
      await lease.acquireLease(leaseSeconds);
      break;
    } catch (error) {
      if (storageErrorCode(error).statusCode !== 409 || Date.now() > deadline) {
        throw new ArchiveError(
          "STORAGE_ERROR",
          `cannot lock ${registry} to start a run: ${storageErrorCode(error).code ?? String(error)}`,
          { cause: error },
        );
      }
      await sleep(100 + Math.random() * 200);
    }
  }
  const renewal = setInterval(() => void lease.renewLease().catch(() => undefined), (leaseSeconds * 1000) / 3);
  renewal.unref();
  let timer: NodeJS.Timeout | undefined;
  const timeoutInMs = options.workTimeoutInMs ?? 120_000;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ArchiveError("STORAGE_ERROR", `starting a run of ${registry} took longer than ${timeoutInMs / 1000} s`),
        ),
      timeoutInMs,
    );
  });
  const release = async () => {
    clearInterval(renewal);
    await lease.releaseLease().catch(() => undefined); // it expires on its own anyway
  };
  const running = work();
  // The lease is held until the work has settled, whether the caller is still waiting or was told it took too long.
  const released = running.then(
    () => release(),
    () => release(),
  );
  try {
    const result = await Promise.race([running, timedOut]);
    await released;
    return result;
  } finally {
    clearTimeout(timer);
  }
}
