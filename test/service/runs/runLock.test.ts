// The one-run-per-registry lock against real Azurite: the lease holds for as long as the start takes (renewed), and
// a start that hangs is bounded instead of holding the registry.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { withRegistryLock } from "../../../src/runs/runLock.js";
import { registryLockBlobName } from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let container: ContainerClient;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("locks");
});
after(async () => {
  await azurite?.stop();
});

test(
  "the run lock's lease is renewed while a slow start runs: a second starter cannot take it (guards issue 8.14)",
  { timeout: 60_000 },
  async () => {
    // A 15 s lease (Azure's minimum) and work that takes 19 s: without renewal the lease lapses at 15 s.
    let secondGotIn = false;
    await withRegistryLock(
      container,
      "slow.example",
      async () => {
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
      },
      { leaseSeconds: 15 },
    );
    assert.equal(secondGotIn, false, "the lease lapsed while the first start still ran");
    // Released at the end: the next starter gets it at once.
    await withRegistryLock(container, "slow.example", async () => undefined, { leaseSeconds: 15, waitForLeaseInMs: 0 });
  },
);

test(
  "a start past the bound fails its caller, but the lease is held until the work has ended (guards issue 8.14)",
  { timeout: 30_000 },
  async () => {
    let finish!: () => void;
    const slowWork = new Promise<void>((resolve) => (finish = resolve));
    let ended = false;
    await assert.rejects(
      withRegistryLock(container, "late.example", () => slowWork.then(() => void (ended = true)), {
        leaseSeconds: 15,
        workTimeoutInMs: 300,
      }),
      (error: Error & { code?: string }) =>
        error.code === "STORAGE_ERROR" && /took longer than 0.3 s/.test(error.message),
    );
    // The work still runs: nobody else may start a run of this registry meanwhile.
    await assert.rejects(
      withRegistryLock(container, "late.example", async () => undefined, { leaseSeconds: 15, waitForLeaseInMs: 0 }),
      (error: Error & { code?: string }) =>
        error.code === "STORAGE_ERROR" && /cannot lock late\.example/.test(error.message),
    );
    finish();
    await slowWork;
    // Once it has ended, the lease goes at once.
    for (let i = 0; i < 50 && !ended; i++) await sleep(20);
    await sleep(200);
    await withRegistryLock(container, "late.example", async () => undefined, {
      leaseSeconds: 15,
      waitForLeaseInMs: 2_000,
    });
  },
);
