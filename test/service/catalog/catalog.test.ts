// The catalog (src/catalog/catalog.ts) against real Azurite: archives found by their blob index tags (and a tag's
// history by its markers) while they sit in Archive tier, described from their sidecars, paged with tokens that
// continue their own query only, and totalled with the Archive-tier cost; nothing rehydrated, no archive read.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { queryCatalog, type CatalogDependencies, type CatalogItem } from "../../../src/catalog/catalog.js";
import { parseCatalogQuery, type CatalogQueryInput } from "../../../src/catalog/catalogQuery.js";
import { DEFAULT_PRICES, GIB } from "../../../src/cost/costEstimate.js";
import { isArchiveError } from "../../../src/errors.js";
import {
  commitArchive,
  createArchiveUpload,
  ensureArchiveContainer,
  getIndexTags,
  setIndexTags,
  uploadSidecar,
} from "../../../src/storage/archiveStore.js";
import { archiveBlobName, referrersSupplementBlobName, sidecarBlobName } from "../../../src/storage/blobNames.js";
import { recordTagsSeen } from "../../../src/storage/tagMarkers.js";
import type { ArchiveSidecar } from "../../../src/archive/sidecar.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

const REGISTRY = "acr.example.io";
const OTHER = "other.example.io";
let azurite: AzuriteInstance;
let service: BlobServiceClient;
let container: ContainerClient;

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

interface Made {
  registry?: string;
  repository: string;
  n: number;
  tags: string[];
  at: string;
  bytes: number;
  runId?: string;
  supplementBytes?: number;
}

/** An archive as the worker leaves it: committed in Archive tier with its index tags, its sidecar, its tag markers. */
async function make(m: Made): Promise<string> {
  const identity = { registry: m.registry ?? REGISTRY, repository: m.repository, digest: digest(m.n) };
  const name = archiveBlobName(identity);
  const commit = async (blob: string, bytes: number, kind: "archive" | "supplement") => {
    const upload = createArchiveUpload(container, blob, { blockSizeBytes: 4096, concurrency: 2 });
    await pipeline(Readable.from([Buffer.alloc(bytes, m.n)]), upload);
    const metadata = {
      sourceDigest: identity.digest,
      sourceImage: `${identity.registry}/${m.repository}:${m.tags[0] ?? "x"}`,
      archiveSha256: "e".repeat(64),
      tarSize: bytes,
      gzipLevel: 1,
      tags: m.tags,
      format: "oci-layout+docker-archive" as const,
      externalLayers: [],
    };
    const index = {
      kind,
      ...identity,
      tag: m.tags[0]!,
      archivedAt: new Date(m.at),
      bytes,
      ...(m.runId && { runId: m.runId }),
    };
    assert.ok(await commitArchive(container, blob, upload.blockIds, metadata, { index }));
    // Committed online; the worker moves it to Archive tier once verified (issue 23.1).
    await container.getBlockBlobClient(blob).setAccessTier("Archive");
  };
  await commit(name, m.bytes, "archive");
  const supplements = [];
  if (m.supplementBytes) {
    const supplement = referrersSupplementBlobName(identity, digest(1000 + m.n));
    await commit(supplement, m.supplementBytes, "supplement");
    supplements.push({
      archiveBlob: supplement,
      createdAtUtc: m.at,
      archive: { sha256: "f".repeat(64), size: m.supplementBytes, tarSize: 1 },
      referrersIndex: digest(1000 + m.n),
      referrers: [{}, {}],
    });
  }
  const sidecar = {
    schemaVersion: 1,
    image: `${identity.registry}/${m.repository}:${m.tags[0]}`,
    archiveBlob: name,
    createdAtUtc: m.at,
    format: "oci-layout+docker-archive",
    source: { registry: identity.registry, repository: m.repository, tag: m.tags[0] ?? null, digest: identity.digest },
    tags: m.tags,
    archive: { sha256: "e".repeat(64), size: m.bytes, tarSize: m.bytes },
    platforms: [{ platform: "linux/amd64", digest: identity.digest }],
    referrers: [{ digest: digest(2000 + m.n) }],
    ...(supplements.length && { supplements }),
  } as unknown as ArchiveSidecar;
  await uploadSidecar(container, sidecarBlobName(name), sidecar);
  await recordTagsSeen(container, identity, name, m.tags, { seenAt: new Date(m.at) });
  return name;
}

const deps = (extra: Partial<CatalogDependencies> = {}): CatalogDependencies => ({
  container,
  prices: DEFAULT_PRICES,
  ...extra,
});
const ask = (q: Omit<CatalogQueryInput, "registry"> & { registry?: string }, extra?: Partial<CatalogDependencies>) =>
  queryCatalog(parseCatalogQuery({ registry: REGISTRY, ...q }), deps(extra));
const digests = (items: CatalogItem[]) => items.map((i) => i.digest).sort();

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  container = service.getContainerClient("images");
  await ensureArchiveContainer(container);
  // team/api: 1.0 (Jan), then 1.1 and latest (Mar), then latest moved to 1.2 (Jun, run r3, with a supplement).
  await make({ repository: "team/api", n: 1, tags: ["1.0"], at: "2026-01-10T08:00:00.000Z", bytes: 1000, runId: "r1" });
  await make({
    repository: "team/api",
    n: 2,
    tags: ["1.1", "latest"],
    at: "2026-03-10T08:00:00.000Z",
    bytes: 2000,
    runId: "r2",
  });
  await make({
    repository: "team/api",
    n: 3,
    tags: ["1.2", "latest"],
    at: "2026-06-10T08:00:00.000Z",
    bytes: 3000,
    runId: "r3",
    supplementBytes: 500,
  });
  await make({ repository: "team/web", n: 4, tags: ["1.0"], at: "2026-03-11T08:00:00.000Z", bytes: 4000 });
  // Another registry's team/api: never in REGISTRY's answers.
  await make({
    registry: OTHER,
    repository: "team/api",
    n: 5,
    tags: ["1.0"],
    at: "2026-03-12T08:00:00.000Z",
    bytes: 5000,
  });
});
after(async () => {
  await azurite?.stop();
});

test("what do we have for team/api, and from when: every archive, described from its sidecar, in Archive tier (guards issue 25.1)", async () => {
  const page = await ask({ repository: "team/api" });
  assert.deepEqual(digests(page.items), [digest(1), digest(2), digest(3)]);
  const newest = page.items.find((i) => i.digest === digest(3))!;
  assert.deepEqual(
    { ...newest, cost: undefined },
    {
      registry: REGISTRY,
      repository: "team/api",
      digest: digest(3),
      tags: ["1.2", "latest"],
      archivedAt: "2026-06-10T08:00:00.000Z",
      runId: "r3",
      state: { verified: "no", purge: "none" },
      archiveBlob: archiveBlobName({ registry: REGISTRY, repository: "team/api", digest: digest(3) }),
      sidecarBlob: `${archiveBlobName({ registry: REGISTRY, repository: "team/api", digest: digest(3) })}.json`,
      bytes: 3500,
      archive: { bytes: 3000, sha256: "e".repeat(64) },
      format: "oci-layout+docker-archive",
      platforms: ["linux/amd64"],
      referrers: 1,
      supplements: [
        {
          archiveBlob: referrersSupplementBlobName(
            { registry: REGISTRY, repository: "team/api", digest: digest(3) },
            digest(1003),
          ),
          createdAtUtc: "2026-06-10T08:00:00.000Z",
          bytes: 500,
          referrers: 2,
        },
      ],
      sidecar: true,
      cost: undefined,
    },
  );
  assert.deepEqual(newest.cost, {
    estimate: true,
    currency: "USD",
    archivePerMonth: 0,
    earlyDeletionFreeFrom: "2026-12-07T08:00:00.000Z",
  });
  // Totals of the whole answer, from index tags alone: three archives and one supplement.
  assert.equal(page.totals?.images, 3);
  assert.equal(page.totals?.supplements, 1);
  assert.equal(page.totals?.bytes, 6500);
  assert.equal(page.totals?.complete, true);
  assert.equal(page.totals?.earliestArchivedAt, "2026-01-10T08:00:00.000Z");
  assert.equal(page.totals?.cost.allEarlyDeletionFreeFrom, "2026-12-07T08:00:00.000Z");
  assert.equal(page.totals?.cost.estimate, true);
  assert.equal(page.continuationToken, undefined);
  // Nothing was rehydrated: every archive is still in Archive tier, and no staging copy exists.
  for (const item of page.items)
    assert.equal((await container.getBlockBlobClient(item.archiveBlob).getProperties()).accessTier, "Archive");
  for await (const blob of container.listBlobsFlat({ prefix: "staging/" })) assert.fail(`rehydrated: ${blob.name}`);
});

test("filters: digest, archived before/after (to the second), state; another registry's archives never appear", async () => {
  assert.deepEqual(digests((await ask({ digest: digest(2) })).items), [digest(2)]);
  assert.deepEqual(
    digests((await ask({ archivedAfter: "2026-03-10T08:00:00Z", archivedBefore: "2026-06-01" })).items),
    [digest(2), digest(4)],
  );
  assert.deepEqual(digests((await ask({ repository: "team/api", archivedBefore: "2026-03-10T08:00:00Z" })).items), [
    digest(1),
  ]);
  assert.deepEqual(digests((await ask({ repository: "team/api" }, {})).items).includes(digest(5)), false);
  assert.deepEqual(digests((await ask({ registry: OTHER })).items), [digest(5)]);
  // A state the verify / purge work sets, changed on an archived blob.
  const name = archiveBlobName({ registry: REGISTRY, repository: "team/web", digest: digest(4) });
  await setIndexTags(container, name, { ...(await getIndexTags(container, name))!, verified: "yes" });
  assert.deepEqual(digests((await ask({ state: "verified" })).items), [digest(4)]);
  assert.deepEqual(digests((await ask({ repository: "team/web", state: "unverified" })).items), []);
  assert.equal((await ask({ state: "verified" })).items[0]?.state?.verified, "yes");
});

test("a tag: every digest it has named in the repository (its markers), with the time filters applied", async () => {
  assert.deepEqual(digests((await ask({ repository: "team/api", tag: "latest" })).items), [digest(2), digest(3)]);
  const page = await ask({ repository: "team/api", tag: "latest", archivedAfter: "2026-04-01" });
  assert.deepEqual(digests(page.items), [digest(3)]);
  assert.equal(page.totals?.images, 1);
  assert.equal(page.totals?.bytes, 3500);
  assert.deepEqual(digests((await ask({ repository: "team/api", tag: "nope" })).items), []);
});

test("paged: tokens continue the query to its end, and only that query (guards issue 25.1)", async () => {
  const seen: string[] = [];
  let page = await ask({ pageSize: 2 });
  assert.ok(page.totals, "the first page has the totals");
  assert.equal(page.totals.images, 4);
  const first = page.continuationToken!;
  assert.ok(first);
  for (;;) {
    seen.push(...page.items.map((i) => i.digest));
    if (!page.continuationToken) break;
    page = await ask({ pageSize: 2, continuationToken: page.continuationToken });
    assert.equal(page.totals, undefined, "later pages carry no totals");
  }
  assert.deepEqual(seen.sort(), [digest(1), digest(2), digest(3), digest(4)]);
  const refused = async (q: Parameters<typeof ask>[0], extra: Partial<CatalogDependencies>, why: RegExp) =>
    assert.rejects(
      ask(q, extra),
      (e: unknown) => isArchiveError(e) && e.code === "INVALID_ARGUMENT" && why.test(e.message),
    );
  await refused(
    { registry: OTHER, continuationToken: first },
    {},
    /^continuationToken: belongs to another registry's catalog$/,
  );
  await refused({ repository: "team/api", continuationToken: first }, {}, /other filters/);
  const elsewhere = service.getContainerClient("elsewhere");
  await refused({ continuationToken: first }, { container: elsewhere }, /another container's catalog/);
});

test("totals stop at their bound and say so; the registry's allowance is reported with them", async () => {
  const page = await ask(
    {},
    {
      totalsMaxBlobs: 2,
      registryStorage: async () => ({ source: "arm", sku: "Basic", includedBytes: 10 * GIB, usedBytes: 4 * GIB }),
    },
  );
  assert.equal(page.totals?.complete, false);
  assert.ok((page.totals?.images ?? 0) + (page.totals?.supplements ?? 0) <= 2);
  assert.match(page.totals?.registry?.summary ?? "", /inside its allowance .* saves nothing/);
  assert.equal(page.totals?.registry?.estimate, true);
});
