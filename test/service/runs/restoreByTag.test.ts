// Restore by tag against a real registry and real Azurite: the worker's archiveImage writes the tag markers of what it
// archives, an archive run's listing page (listRunImagesPage) records the tags it sees on archived digests, and a
// restore run's listing (resolveRestoreImages) resolves `repo:tag`, and tag globs, to the digest each tag named when it
// was last seen: after a roll-back (A → B → A), within one second, and without a write for a tag that did not change.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { archiveImage } from "../../../src/archive/archiveImage.js";
import { referenceArchiveRequestSchema } from "../../../src/archive/archiveRequest.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { ArchiveRunInput } from "../../../src/runs/archiveRun.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import { listRunImagesPage } from "../../../src/runs/listRunImages.js";
import { resolveRestoreImages } from "../../../src/runs/resolveRestoreImages.js";
import type { RestoreListedImage, RestoreRunInput, RestoreSelection } from "../../../src/runs/restoreRun.js";
import { listingBlobName } from "../../../src/storage/blobNames.js";
import { readJsonBlob } from "../../../src/storage/jsonBlob.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";

let registry: TestRegistry;
let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;

before(async () => {
  [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await Promise.all([registry?.stop(), azurite?.stop()]);
});

const TUNING = {
  gzipLevel: 1,
  blockSizeBytes: 4 * 1024 * 1024,
  uploadConcurrency: 2,
  registryConcurrency: 2,
  prefetchBytes: 16 * 1024 * 1024,
};

/** What the worker job runs for one image of an archive run (or the CLI for a person). */
async function archive(containerName: string, reference: string, now?: Date) {
  return archiveImage(
    referenceArchiveRequestSchema.parse({ image: `${registry.host}/${reference}`, blobContainer: containerName }),
    { blobService: service, getRegistryClient: (r) => new RegistryClient(r) },
    { tuning: TUNING, ...(now && { now: () => now }) },
  );
}

/** A nightly run's listing of the registry (one page: the test registries are small). */
async function nightlyListing(containerName: string, nowUtc: string): Promise<void> {
  const id = (++counter).toString(16).padStart(6, "0");
  const run: ArchiveRunInput = {
    runId: runInstanceId(registry.host, new Date(nowUtc), id),
    registry: registry.host,
    container: containerName,
    filters: { includeUntagged: false },
    dryRun: false,
    refreshReferrers: false,
    maxParallel: 1,
    maxAttempts: 1,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 10,
    requestedBy: "timer",
    requestedAtUtc: nowUtc,
  };
  const page = await listRunImagesPage(
    { run, nowUtc, page: 0, firstBatch: 0, referrerRequestsUsed: 0 },
    { registry: new RegistryClient(registry.host), container: service.getContainerClient(containerName) },
  );
  assert.equal(page.next, undefined, "one page");
}

/** A restore run's listing over what the container holds. */
async function resolve(containerName: string, selection: RestoreSelection): Promise<RestoreListedImage[]> {
  const container = service.getContainerClient(containerName);
  const run: RestoreRunInput = {
    kind: "restore",
    runId: `restore-test-${++counter}`,
    registry: registry.host,
    container: containerName,
    dryRun: true,
    maxParallel: 1,
    maxAttempts: 1,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 10,
    requestedAtUtc: "2026-12-01T21:00:00.000Z",
    selection,
    target: { registry: "restore.example.io" },
    rehydratePriority: "Standard",
    rehydrationTimeoutMinutes: 60,
    rehydrationPollMaxSeconds: 60,
  };
  await resolveRestoreImages({ run }, { container });
  return (await readJsonBlob<RestoreListedImage[]>(container, listingBlobName(run.runId)))!;
}

/** name → etag of every blob under a prefix (a write changes the etag). */
async function etags(container: ContainerClient, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const blob of container.listBlobsFlat({ prefix })) out.set(blob.name, blob.properties.etag!);
  return out;
}

test("a tag rolled back (A → B → A) resolves to A once a nightly listing saw it on A again (guards issue 21.5)", async () => {
  const containerName = "rollback";
  const a = await pushImage(registry.host, "roll/app:prod", smallImage("roll-a"));
  assert.equal((await archive(containerName, "roll/app:prod")).status, "archived");
  // A second apart, so that blob creation times (one-second resolution) alone would name B as the tag's newest.
  await sleep(1100);
  const b = await pushImage(registry.host, "roll/app:prod", smallImage("roll-b"));
  assert.equal((await archive(containerName, "roll/app:prod")).status, "archived");
  assert.deepEqual(
    (await resolve(containerName, { images: [{ repository: "roll/app", tag: "prod" }] })).map((i) => i.digest),
    [b.digest],
  );

  await sleep(1100);
  assert.equal((await pushImage(registry.host, "roll/app:prod", smallImage("roll-a"))).digest, a.digest);
  await nightlyListing(containerName, "2026-12-02T02:00:00.000Z");
  const byTag = await resolve(containerName, { images: [{ repository: "roll/app", tag: "prod" }] });
  assert.deepEqual(
    byTag.map((i) => [i.digest, i.tags]),
    [[a.digest, ["prod"]]],
    "the digest prod named when last seen",
  );
  // A tag glob, and a repository glob: prod goes with A only; B is restored by digest, never under prod.
  assert.deepEqual(
    (await resolve(containerName, { repositories: ["roll/**"], tags: ["prod"] })).map((i) => [i.digest, i.tags]),
    [[a.digest, ["prod"]]],
  );
  const all = await resolve(containerName, { repositories: ["roll/**"] });
  assert.deepEqual(
    new Map(all.map((i) => [i.digest, i.tags])),
    new Map([
      [a.digest, ["prod"]],
      [b.digest, []],
    ]),
  );
});

test("a tag moved twice within one second (the same seen time) resolves to the last digest seen (guards issue 21.5)", async () => {
  const containerName = "sameinstant";
  const at = new Date("2026-12-01T02:00:00.000Z");
  // A is the larger digest: markers tied on their creation second must not fall back on name order (which picks B).
  const specs = await Promise.all(
    ["same-1", "same-2"].map(async (name) => ({
      name,
      digest: (await pushImage(registry.host, `same/probe:${name}`, smallImage(name))).digest,
    })),
  );
  const [b, a] = specs.sort((x, y) => (x.digest < y.digest ? -1 : 1)) as [(typeof specs)[0], (typeof specs)[0]];
  for (const image of [a, b, a]) {
    await pushImage(registry.host, "same/app:1", smallImage(image.name));
    await archive(containerName, "same/app:1", at);
  }
  const resolved = await resolve(containerName, { images: [{ repository: "same/app", tag: "1" }] });
  assert.deepEqual(
    resolved.map((i) => i.digest),
    [a.digest],
  );
});

test("a nightly listing over unchanged tags writes no tag marker; a tag added since gets one (guards issue 21.5)", async () => {
  const containerName = "unchanged";
  const container = service.getContainerClient(containerName);
  const pushed = await pushImage(registry.host, "still/app:1", smallImage("still"));
  await archive(containerName, "still/app:1");
  const markers = `${registry.host}/still/app:`;
  const before = await etags(container, markers);
  await nightlyListing(containerName, "2026-12-02T02:00:00.000Z");
  await nightlyListing(containerName, "2026-12-03T02:00:00.000Z");
  assert.deepEqual(await etags(container, markers), before, "no marker written or updated");

  await pushImage(registry.host, "still/app:2", smallImage("still"));
  await nightlyListing(containerName, "2026-12-04T02:00:00.000Z");
  const afterNew = await etags(container, markers);
  assert.deepEqual([...afterNew.keys()].sort(), [
    `${registry.host}/still/app:1@${pushed.digest.replace(":", "-")}`,
    `${registry.host}/still/app:2@${pushed.digest.replace(":", "-")}`,
  ]);
  assert.deepEqual(
    (await resolve(containerName, { images: [{ repository: "still/app", tag: "2" }] })).map((i) => i.digest),
    [pushed.digest],
  );
});
