// The one-run-per-registry lock against real Azurite: the lease holds for as long as the start takes (renewed), and
// a start that hangs is bounded instead of holding the registry.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { withRegistryLock } from "../src/runs/runLock.js";
import { registryLockBlobName } from "../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let container: ContainerClient;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("locks");
});
after(async () => {
  await azurite?.stop();
});

test("the run lock's lease is renewed while a slow start runs: a second starter cannot take it (guards issue 8.14)", { timeout: 60_000 }, async () => {
  // A 15 s lease (Azure's minimum) and work that takes 19 s: without renewal the lease lapses at 15 s.
  let secondGotIn = false;
  await withRegistryLock(container, "slow.example", async () => {
    await sleep(17_000);
    const intruder = container.getBlockBlobClient(registryLockBlobName("slow.example")).getBlobLeaseClient();
    try {
      await intruder.acquireLease(15);
      secondGotIn = true;
      await intruder.releaseLease();
    } catch (error) {
      assert.equal((error as { statusCode?: number }).statusCode, 409, String(error));
    }
    await sleep(2_000);
  }, { leaseSeconds: 15 });
  assert.equal(secondGotIn, false, "the lease lapsed while the first start still ran");
  // Released at the end: the next starter gets it at once.
  await withRegistryLock(container, "slow.example", async () => undefined, { leaseSeconds: 15, waitForLeaseInMs: 0 });
});

test("a start that hangs under the lock fails after the bound and releases the lock", { timeout: 30_000 }, async () => {
  await assert.rejects(
    withRegistryLock(container, "hung.example", () => new Promise(() => undefined), { leaseSeconds: 15, workTimeoutInMs: 500 }),
    (error: Error & { code?: string }) => error.code === "STORAGE_ERROR" && /took longer than 0.5 s/.test(error.message),
  );
  await withRegistryLock(container, "hung.example", async () => undefined, { leaseSeconds: 15, waitForLeaseInMs: 0 });
});
