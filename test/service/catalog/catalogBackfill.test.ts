// The catalog backfill (src/catalog/catalogBackfill.ts) against real Azurite: archives and supplements committed
// before index tags get theirs, a budget a call, resumed from a cursor until the registry's listing is through; blobs
// already indexed are left alone, states a blob has are kept, other registries are not touched, and then the catalog
// finds them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { backfillCatalogTags } from "../../../src/catalog/catalogBackfill.js";
import { queryCatalog } from "../../../src/catalog/catalog.js";
import { parseCatalogQuery } from "../../../src/catalog/catalogQuery.js";
import { DEFAULT_PRICES } from "../../../src/cost/costEstimate.js";
import { archiveBlobMetadata } from "../../../src/storage/blobMetadata.js";
import { getIndexTags, setIndexTags } from "../../../src/storage/archiveStore.js";
import {
  archiveBlobName,
  catalogBackfillCursorBlobName,
  referrersSupplementBlobName,
  sidecarBlobName,
  tagMarkerBlobName,
} from "../../../src/storage/blobNames.js";
import { archivedAtValue, archiveIndexTags } from "../../../src/storage/indexTags.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

const REGISTRY = "old.example.io";
const OTHER = "other.example.io";
let azurite: AzuriteInstance;
let container: ContainerClient;

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const image = (n: number, registry = REGISTRY) => ({ registry, repository: `team/r${n % 3}`, digest: digest(n) });

/** An archive as a version before index tags left it: Archive tier, metadata, no tags; its sidecar and a marker. */
async function oldArchive(name: string, n: number, bytes: number): Promise<void> {
  const blob = container.getBlockBlobClient(name);
  await blob.stageBlock("MDAwMA==", Buffer.alloc(bytes, n), bytes);
  await blob.commitBlockList(["MDAwMA=="], {
    tier: "Archive",
    metadata: archiveBlobMetadata({
      sourceDigest: digest(n),
      sourceImage: `x/y:v${n}`,
      archiveSha256: "e".repeat(64),
      tarSize: bytes,
      gzipLevel: 1,
      tags: [`v${n}`, "latest"],
      format: "oci-layout+docker-archive",
      externalLayers: [],
      tool: "acr-cold-archive/0.1.0",
    }),
  });
}

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  await container.create();
  for (let n = 1; n <= 7; n++) {
    const name = archiveBlobName(image(n));
    await oldArchive(name, n, 100 * n);
    await container.getBlockBlobClient(sidecarBlobName(name)).uploadData(Buffer.from("{}"));
    await container.getBlockBlobClient(tagMarkerBlobName(image(n), `v${n}`)).uploadData(Buffer.alloc(0));
  }
  await oldArchive(referrersSupplementBlobName(image(2), digest(99)), 2, 50);
  await oldArchive(archiveBlobName(image(8, OTHER)), 8, 800);
});
after(async () => {
  await azurite?.stop();
});

test("archives from before index tags get them, a budget a run, until done; then a run costs one read (guards issue 25.1)", async () => {
  // One archive a person (or the purge work) already marked: its state is kept.
  const marked = archiveBlobName(image(5));
  await setIndexTags(container, marked, { purge: "purged" });
  // One the current version wrote: complete, left alone.
  const current = archiveBlobName(image(6));
  const currentTags = archiveIndexTags({
    kind: "archive",
    ...image(6),
    tag: "v6",
    archivedAt: new Date(),
    runId: "r6",
    bytes: 600,
    verified: "yes",
  });
  await setIndexTags(container, current, currentTags);

  const runs = [];
  for (let i = 0; i < 20; i++) {
    const result = await backfillCatalogTags({ registry: REGISTRY, container: "images" }, { container, maxBlobs: 5 });
    runs.push(result);
    assert.ok(result.examined <= 5, `run ${i} looked at ${result.examined} blobs, over its budget of 5`);
    if (result.done) break;
  }
  // 7 archives + 7 sidecars + 7 markers + 1 supplement = 22 blobs of the registry: 5 runs of 5 at most.
  assert.ok(runs.length >= 5 && runs.at(-1)!.done, JSON.stringify(runs));
  assert.equal(
    runs.reduce((n, r) => n + r.indexed, 0),
    7,
    "six archives without a complete set, and the supplement",
  );
  assert.deepEqual(await backfillCatalogTags({ registry: REGISTRY, container: "images" }, { container, maxBlobs: 5 }), {
    examined: 0,
    indexed: 0,
    done: true,
  });

  const one = archiveBlobName(image(4));
  const created = (await container.getBlockBlobClient(one).getProperties()).createdOn!;
  assert.deepEqual(await getIndexTags(container, one), {
    kind: "archive",
    registry: REGISTRY,
    repository: "team/r1",
    digest: digest(4),
    tag: "v4",
    archivedat: archivedAtValue(created),
    run: "unknown",
    bytes: "000000000000400",
    verified: "no",
    purge: "none",
  });
  assert.equal((await getIndexTags(container, marked))?.purge, "purged", "a state the blob had is kept");
  assert.deepEqual(await getIndexTags(container, current), currentTags, "a complete set is left alone");
  assert.equal((await getIndexTags(container, referrersSupplementBlobName(image(2), digest(99))))?.kind, "supplement");
  assert.deepEqual(
    await getIndexTags(container, archiveBlobName(image(8, OTHER))),
    {},
    "another registry's: untouched",
  );
  assert.deepEqual(await getIndexTags(container, sidecarBlobName(one)), {}, "sidecars are not indexed");
  assert.equal((await container.getBlockBlobClient(one).getProperties()).accessTier, "Archive");

  // Idempotent: the listing again from the start (a lost cursor) indexes nothing more.
  await container.getBlockBlobClient(catalogBackfillCursorBlobName(REGISTRY)).delete();
  let again = 0;
  for (let i = 0; i < 10; i++) {
    const result = await backfillCatalogTags({ registry: REGISTRY, container: "images" }, { container, maxBlobs: 100 });
    again += result.indexed;
    if (result.done) break;
  }
  assert.equal(again, 0);

  // And the catalog finds them now.
  const page = await queryCatalog(parseCatalogQuery({ registry: REGISTRY, repository: "team/r1" }), {
    container,
    prices: DEFAULT_PRICES,
  });
  assert.deepEqual(page.items.map((i) => i.digest).sort(), [digest(1), digest(4), digest(7)]);
  assert.equal(page.totals?.bytes, 1200);
});

test("a budget of 0 switches the backfill off", async () => {
  assert.deepEqual(await backfillCatalogTags({ registry: OTHER, container: "images" }, { container, maxBlobs: 0 }), {
    examined: 0,
    indexed: 0,
    done: false,
  });
  assert.deepEqual(await getIndexTags(container, archiveBlobName(image(8, OTHER))), {});
});
