// The staging sweep (src/runs/stagingSweep.ts) against real Azurite: which staging copies and claims it deletes, by
// their age (blob last-modified times, read against a `now` the test picks), their claims and the running restores
// (the Durable query's answer is the test's list), and a copy that a restore marks in use while the sweep runs.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { sweepStagingCopies } from "../../src/runs/stagingSweep.js";
import {
  archiveBlobName,
  referrersSupplementBlobName,
  STAGING_CLAIMS_PREFIX,
  STAGING_PREFIX,
  stagingBlobName,
  stagingClaimBlobName,
} from "../../src/storage/blobNames.js";
import { claimStagingCopies, startArchiveSetRehydration, startRehydration } from "../../src/storage/rehydration.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let container: ContainerClient;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  await container.create();
});
after(async () => azurite?.stop());

const RUNNING = "restore-target-io-20260101T000000000Z-aaaaaa";
const ENDED = "restore-target-io-20260101T000000000Z-bbbbbb";
const image = (name: string) => ({
  registry: "source.io",
  repository: `sweep/${name}`,
  digest: `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64)}`,
});

/** An archive in Archive tier (a few bytes: the sweep never reads it) and its staging copy, ready at once in Azurite. */
async function stagedCopy(name: string, supplement = false): Promise<string> {
  const archive = archiveBlobName(image(name));
  const blobs = supplement ? [archive, referrersSupplementBlobName(image(name), image(`${name}-s`).digest)] : [archive];
  for (const blob of blobs) {
    await container.getBlockBlobClient(blob).uploadData(Buffer.from(blob), { tier: "Archive" });
    await startRehydration(container, blob);
  }
  return archive;
}

async function names(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) found.push(blob.name);
  return found.sort();
}

test("the sweep deletes the copies no live claim holds that are older than the limit, and stale claims (guards issue 21.7)", async () => {
  // Old: everything written now; young: written ≥ 2 s later; the sweep's clock is the old ones' time + 1 min.
  const unclaimed = await stagedCopy("unclaimed");
  const running = await stagedCopy("running");
  const ended = await stagedCopy("ended");
  const withSupplement = await stagedCopy("supplement", true);
  const cliOld = await stagedCopy("cli-old");
  const cliYoung = await stagedCopy("cli-young");
  const raced = await stagedCopy("raced");
  await claimStagingCopies(container, running, RUNNING);
  await claimStagingCopies(container, withSupplement, RUNNING);
  await claimStagingCopies(container, ended, ENDED);
  await claimStagingCopies(container, cliOld, "cli-0123456789abcdef01234567");
  let latest = 0;
  for await (const blob of container.listBlobsFlat()) latest = Math.max(latest, blob.properties.lastModified.getTime());
  while (Date.now() < latest + 2000) await sleep(100);
  const young = await stagedCopy("young");
  await claimStagingCopies(container, cliYoung, "cli-fedcba9876543210fedcba98");

  const result = await sweepStagingCopies(container, {
    maxAgeMinutes: 1,
    now: new Date(latest + 60_000),
    listRunningRestores: async () => {
      // A restore starts meanwhile: it claims the copy after the claims were listed and finds it ready (marks it in use).
      await startArchiveSetRehydration(container, raced, [], {
        claimant: "restore-target-io-20260101T000000000Z-cccccc",
      });
      return [RUNNING];
    },
  });

  const copy = (archive: string) => stagingBlobName(archive);
  assert.deepEqual(result.deleted.sort(), [copy(unclaimed), copy(ended), copy(cliOld)].sort());
  assert.equal(result.staleClaims, 2, "the ended run's and the old CLI claim");
  assert.equal(result.inUse, 4, "running (1), supplement's archive and supplement (2), the young CLI claim's (1)");
  assert.equal(result.recent, 2, "young, and the one marked in use since it was listed");
  const withSupplementCopies = [
    copy(withSupplement),
    copy(referrersSupplementBlobName(image("supplement"), image("supplement-s").digest)),
  ];
  assert.deepEqual(
    await names(STAGING_PREFIX),
    [copy(running), ...withSupplementCopies, copy(cliYoung), copy(raced), copy(young)].sort(),
  );
  assert.deepEqual(
    await names(STAGING_CLAIMS_PREFIX),
    [
      stagingClaimBlobName(running, RUNNING),
      stagingClaimBlobName(withSupplement, RUNNING),
      stagingClaimBlobName(cliYoung, "cli-fedcba9876543210fedcba98"),
      stagingClaimBlobName(raced, "restore-target-io-20260101T000000000Z-cccccc"),
    ].sort(),
  );

  // Once the running restore has ended, its claim is stale and its old copies go (the young ones stay).
  const later = await sweepStagingCopies(container, {
    maxAgeMinutes: 1,
    now: new Date(latest + 60_000),
    listRunningRestores: async () => [],
  });
  assert.deepEqual(later.deleted.sort(), [copy(running), ...withSupplementCopies].sort());
});

test("a container with no staging copies sweeps to nothing", async () => {
  const empty = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("nothing");
  const result = await sweepStagingCopies(empty, {
    maxAgeMinutes: 1,
    now: new Date(),
    listRunningRestores: async () => [],
  });
  assert.deepEqual(result, { deleted: [], inUse: 0, recent: 0, staleClaims: 0 });
});
