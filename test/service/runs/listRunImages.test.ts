// The run's listing page by page (src/runs/listRunImages.ts listRunImagesPage) against a real registry (bearer
// tokens, so token requests are counted too) and real Azurite: catalog pages continued by repository name, filters,
// already-archived digests, batches numbered across pages, a page written before it answers, and a retried page
// answered from its blob without a registry request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { ArchiveRunInput } from "../../../src/runs/archiveRun.js";
import type { ImageWorkItem } from "../../../src/runs/engine/workItem.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import { listRunImagesPage, type ListRunImagesPageInput } from "../../../src/runs/listRunImages.js";
import { readListingPage, readReferrerProbeCursor } from "../../../src/runs/runStore.js";
import {
  archiveBlobName,
  batchBlobName,
  listingPageBlobName,
  sidecarBlobName,
} from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage, type PushedImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { cosignSignature, pushReferrer } from "../../support/referrers.js";

let registry: TestRegistry;
let azurite: AzuriteInstance;
let service: BlobServiceClient;
const pushed = new Map<string, PushedImage>();
let counter = 0;

before(async () => {
  [registry, azurite] = await Promise.all([startRegistry({ auth: "bearer" }), startAzurite()]);
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  // Seven repositories; r3 has two tags on one digest.
  for (let i = 0; i < 7; i++) {
    const repository = `pages/r${i}`;
    pushed.set(repository, await pushImage(registry.host, `${repository}:1`, smallImage(`r${i}`), credentialsOf()));
  }
  await pushImage(registry.host, "pages/r3:2", smallImage("r3"), credentialsOf());
});
after(async () => {
  await Promise.all([registry?.stop(), azurite?.stop()]);
});

function credentialsOf() {
  return { username: registry.username!, password: registry.password! };
}

function client(): RegistryClient {
  return new RegistryClient(registry.host, {
    credential: { kind: "refreshToken", refreshToken: registry.refreshToken! },
  });
}

function run(overrides: Partial<ArchiveRunInput> = {}): ArchiveRunInput {
  const runId = runInstanceId(registry.host, new Date("2026-12-01T02:00:00.000Z"), (0xfed000 + ++counter).toString(16));
  return {
    runId,
    registry: registry.host,
    container: `listing-${counter}`,
    filters: { includeUntagged: false, excludeRepositories: ["pages/r5"] },
    dryRun: false,
    refreshReferrers: false,
    maxParallel: 1,
    maxAttempts: 3,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 1,
    requestedBy: "http",
    requestedAtUtc: "2026-12-01T02:00:00.000Z",
    ...overrides,
  };
}

const pageInput = (r: ArchiveRunInput, page: number, firstBatch: number, after?: string): ListRunImagesPageInput => ({
  run: r,
  nowUtc: "2026-12-01T02:00:00.000Z",
  page,
  firstBatch,
  referrerRequestsUsed: 0,
  ...(after !== undefined && { after }),
});

async function markArchived(container: ContainerClient, repository: string): Promise<void> {
  await container.createIfNotExists();
  const name = archiveBlobName({ registry: registry.host, repository, digest: pushed.get(repository)!.digest });
  for (const blob of [name, sidecarBlobName(name)])
    await container.getBlockBlobClient(blob).uploadData(Buffer.from("{}"));
}

async function readBatch(container: ContainerClient, runId: string, index: number): Promise<ImageWorkItem[]> {
  return JSON.parse((await container.getBlockBlobClient(batchBlobName(runId, index)).downloadToBuffer()).toString());
}

test("pages of three repositories: continued by name, filtered, archived digests left out, batches numbered across pages", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  await markArchived(container, "pages/r1");
  const registryClient = client();
  const deps = { registry: registryClient, container, pageRepositories: 3, concurrency: 2 };

  const before0 = registryClient.requestsSent;
  const page0 = await listRunImagesPage(pageInput(r, 0, 0), deps);
  assert.deepEqual(page0, {
    total: 3,
    toArchive: 2,
    alreadyArchived: 1,
    alreadyVerified: 0,
    batchCount: 2,
    next: "pages/r2",
    registryRequests: registryClient.requestsSent - before0,
  });
  // One catalog page, then per repository tags/list and a HEAD per tag, with a token for each scope.
  assert.ok(page0.registryRequests >= 1 + 3 * 2, `requests counted: ${page0.registryRequests}`);

  const page1 = await listRunImagesPage(pageInput(r, 1, 2, page0.next), deps);
  assert.deepEqual(
    { ...page1, registryRequests: 0 },
    {
      total: 2,
      toArchive: 2,
      alreadyArchived: 0,
      alreadyVerified: 0,
      batchCount: 2,
      next: "pages/r5",
      registryRequests: 0,
    },
  );
  const page2 = await listRunImagesPage(pageInput(r, 2, 4, page1.next), deps);
  assert.equal(page2.next, undefined, "the catalog ends after pages/r6");
  assert.equal(page2.total, 1);

  // Batches 0..4 hold the images still to archive, in catalog order; pages/r3 once, with both tags.
  const batches = await Promise.all([0, 1, 2, 3, 4].map((i) => readBatch(container, r.runId, i)));
  assert.deepEqual(
    batches.map((b) => b.map((i) => `${i.repository}:${i.tags.join(",")}`)),
    [["pages/r0:1"], ["pages/r2:1"], ["pages/r3:1,2"], ["pages/r4:1"], ["pages/r6:1"]],
  );
  const stored = await readListingPage(container, r.runId, 0);
  assert.deepEqual(
    stored?.images.map((i) => [i.repository, i.archived]),
    [
      ["pages/r0", false],
      ["pages/r1", true],
      ["pages/r2", false],
    ],
  );
  assert.deepEqual([stored?.firstBatch, stored?.batchCount, stored?.next], [0, 2, "pages/r2"]);

  // A retry of a page already written answers the same, from its blob: no registry request, the batches as they were.
  const sent = registryClient.requestsSent;
  assert.deepEqual(await listRunImagesPage(pageInput(r, 1, 2, page0.next), deps), page1);
  assert.equal(registryClient.requestsSent, sent);
});

test("a page that does not finish writes nothing of itself; listing it again completes it", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const deps = { registry: client(), container, pageRepositories: 3, concurrency: 2 };
  await assert.rejects(
    listRunImagesPage(pageInput(r, 0, 0), { ...deps, abortSignal: AbortSignal.abort() }),
    (error: Error & { code?: string }) => error.code === "ABORTED" || error.name === "AbortError",
  );
  assert.equal(await container.getBlockBlobClient(listingPageBlobName(r.runId, 0)).exists(), false);
  const page0 = await listRunImagesPage(pageInput(r, 0, 0), deps);
  assert.equal(page0.toArchive, 3);
});

test("a dry run writes its listing pages and no batch", async () => {
  const r = run({ dryRun: true });
  const container = service.getContainerClient(r.container);
  const page0 = await listRunImagesPage(pageInput(r, 0, 0), { registry: client(), container, pageRepositories: 10 });
  assert.deepEqual([page0.total, page0.batchCount, page0.next], [6, 0, undefined]);
  assert.equal(await container.getBlockBlobClient(batchBlobName(r.runId, 0)).exists(), false);
});

test("a forged continuation that is not a repository name is refused by the input schema", async () => {
  const { listRunImagesPageInputSchema } = await import("../../../src/runs/listRunImages.js");
  const parsed = listRunImagesPageInputSchema.safeParse({ ...pageInput(run(), 1, 0), after: "http://elsewhere/x" });
  assert.equal(parsed.success, false);
});

test("refreshReferrers: archived images are probed within the run's request budget; those with new referrers become work", async () => {
  const plain = await startRegistry();
  try {
    const signedClient = new RegistryClient(plain.host);
    const images = new Map<string, PushedImage>();
    for (const repository of ["sig/a", "sig/b", "sig/c", "sig/d"]) {
      const image = await pushImage(plain.host, `${repository}:1`, smallImage(repository));
      images.set(repository, image);
      await pushReferrer(signedClient, repository, cosignSignature(image.digest));
    }
    const r = { ...run({ refreshReferrers: true }), registry: plain.host };
    const container = service.getContainerClient(r.container);
    await container.createIfNotExists();
    // a, b and c are archived with sidecars that list no referrer; d is not archived at all.
    for (const repository of ["sig/a", "sig/b", "sig/c"]) {
      const name = archiveBlobName({ registry: plain.host, repository, digest: images.get(repository)!.digest });
      await container.getBlockBlobClient(name).uploadData(Buffer.from("archive"));
      await container
        .getBlockBlobClient(sidecarBlobName(name))
        .uploadData(Buffer.from(JSON.stringify({ platforms: [], referrers: [] })));
    }
    const deps = {
      registry: new RegistryClient(plain.host),
      container,
      pageRepositories: 10,
      concurrency: 1,
      referrerRefresh: { maxRequests: 3, limits: { maxDepth: 3, maxCount: 10 } },
    };
    const page = await listRunImagesPage(pageInput(r, 0, 0), deps);
    // The referrers API once (404), then one .sig lookup each for a and b: the budget of 3 is spent before c.
    assert.deepEqual(page.referrers, { checked: 2, unchecked: 1, withNew: 2, requests: 3 });
    assert.deepEqual([page.total, page.toArchive, page.alreadyArchived, page.batchCount], [4, 1, 1, 3]);
    const batches = await Promise.all([0, 1, 2].map((i) => readBatch(container, r.runId, i)));
    assert.deepEqual(
      batches.flat().map((i) => [i.repository, i.refreshReferrers ?? false]),
      [
        ["sig/a", true],
        ["sig/b", true],
        ["sig/d", false],
      ],
    );
    // What earlier pages spent counts: with the budget spent, the next page probes nothing.
    const spent = await listRunImagesPage(
      { ...pageInput({ ...r, runId: run().runId }, 0, 0), referrerRequestsUsed: 3 },
      deps,
    );
    assert.deepEqual(spent.referrers, { checked: 0, unchecked: 3, withNew: 0, requests: 0 });

    // The budget ran out before sig/c: the registry's next run probes on from there (a and b had their turn this
    // round), and, its budget lasting, ends the round: the one after it starts again at the first repository.
    assert.deepEqual(await readReferrerProbeCursor(container, plain.host), { through: "sig/b" });
    const next = await listRunImagesPage(pageInput({ ...r, runId: run().runId }, 0, 0), {
      ...deps,
      referrerRefresh: { ...deps.referrerRefresh, maxRequests: 100 },
    });
    assert.deepEqual(next.referrers, { checked: 1, unchecked: 2, withNew: 1, requests: 2 });
    assert.deepEqual(next.referrerProbe, { cursor: { through: "sig/d" }, stopped: false });
    assert.deepEqual(await readReferrerProbeCursor(container, plain.host), {});
    const round = await listRunImagesPage(pageInput({ ...r, runId: run().runId }, 0, 0), {
      ...deps,
      referrerRefresh: { ...deps.referrerRefresh, maxRequests: 100 },
    });
    assert.deepEqual(round.referrers, { checked: 3, unchecked: 0, withNew: 3, requests: 4 });
  } finally {
    await plain.stop();
  }
});
