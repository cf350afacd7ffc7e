// The image's blobs (src/storage/archiveStore.ts) against real Azurite: an archive committed once in Hot tier, read
// back, sealed (its verification in its metadata, then Archive tier) or deleted If-Match, and read back from its metadata, sidecars written and kept under conditions, worker results per attempt, the
// "already archived?" answers, and storage failures as STORAGE_ERROR.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { ArchiveImageResult } from "../../../src/archive/archiveImage.js";
import type { ArchiveSidecar } from "../../../src/archive/sidecar.js";
import { isArchiveError } from "../../../src/errors.js";
import {
  commitArchive,
  createArchiveUpload,
  deleteUnverifiedArchive,
  openCommittedArchive,
  sealVerifiedArchive,
  ensureArchiveContainer,
  getArchivedImageInfo,
  getCommittedArchive,
  findBlobsByIndexTags,
  getIndexTags,
  getSidecar,
  listArchivedDigests,
  setIndexTags,
  readWorkerResult,
  uploadSidecar,
  writeWorkerResult,
  type ArchiveCommitMetadata,
} from "../../../src/storage/archiveStore.js";
import {
  archiveBlobName,
  resultBlobName,
  sidecarBlobName,
  type ImageIdentity,
} from "../../../src/storage/blobNames.js";
import { tagExpression, type ArchiveIndexFields } from "../../../src/storage/indexTags.js";
import { TOOL } from "../../../src/version.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

/** A fresh container per test, created through the store. */
async function freshContainer(): Promise<ContainerClient> {
  const container = service.getContainerClient(`store-${++counter}`);
  await ensureArchiveContainer(container);
  return container;
}

const image = (c: string, repository = "team/app"): ImageIdentity => ({
  registry: "registry.example",
  repository,
  digest: `sha256:${c.repeat(64)}`,
});

const commitMetadata = (identity: ImageIdentity): ArchiveCommitMetadata => ({
  sourceDigest: identity.digest,
  sourceImage: `${identity.registry}/${identity.repository}:1.0`,
  archiveSha256: "e".repeat(64),
  tarSize: 4096,
  gzipLevel: 1,
  tags: ["1.0", "latest"],
  format: "oci-layout+docker-archive",
  externalLayers: [`sha256:${"f".repeat(64)}`],
});

/** Stages `body` through the store's upload stream and commits it. */
async function archive(
  container: ContainerClient,
  name: string,
  body: Buffer,
  metadata: ArchiveCommitMetadata,
): Promise<boolean> {
  const upload = createArchiveUpload(container, name, { blockSizeBytes: 1024, concurrency: 2 });
  await pipeline(Readable.from([body]), upload);
  return (
    (await commitArchive(container, name, upload.blockIds, metadata, { index: indexOf(metadata, body.length) })) !==
    undefined
  );
}

/** The index fields a commit of this metadata gets (the flow's: its identity, size, time and run). */
const indexOf = (metadata: ArchiveCommitMetadata, bytes: number): ArchiveIndexFields => ({
  kind: "archive",
  registry: "registry.example",
  repository: "team/app",
  digest: metadata.sourceDigest,
  tag: metadata.tags[0]!,
  archivedAt: new Date("2026-12-03T10:15:30.123Z"),
  runId: "run-1",
  bytes,
});

/** The parts of a sidecar the store and the flow read (source digest, archive size); the rest is the flow's. */
const sidecarOf = (identity: ImageIdentity, size: number): ArchiveSidecar =>
  ({ source: { digest: identity.digest }, archive: { sha256: "e".repeat(64), size, tarSize: 4096 } }) as ArchiveSidecar;

const VERIFIED = {
  verifiedAtUtc: "2026-12-03T10:00:00.123Z",
  method: "read-back-after-write",
  blobs: 3,
  manifests: 1,
  referrers: 0,
} as const;

test("an archive is committed once, in Hot tier (to be read back), sealed into Archive tier with its verification, and read back from its properties and metadata (guards issue 23.1)", async () => {
  const container = await freshContainer();
  const identity = image("a");
  const name = archiveBlobName(identity);
  assert.equal(await getCommittedArchive(container, name), undefined, "nothing there yet");
  assert.equal(await archive(container, name, Buffer.alloc(3000, 1), commitMetadata(identity)), true);
  const committed = (await getCommittedArchive(container, name))!;
  assert.equal(committed.accessTier, "Hot", "online until it is verified");
  assert.equal(committed.verification, undefined);
  const read: Buffer[] = [];
  for await (const chunk of await openCommittedArchive(container, name, { etag: committed.etag })) read.push(chunk);
  assert.deepEqual(Buffer.concat(read), Buffer.alloc(3000, 1), "read back as storage holds it");
  await sealVerifiedArchive(container, name, { etag: committed.etag, verification: VERIFIED });
  const props = await container.getBlockBlobClient(name).getProperties();
  assert.equal(props.accessTier, "Archive");
  assert.equal(props.metadata?.tool, `${TOOL.name}/${TOOL.version}`);
  assert.equal(props.metadata?.verification, JSON.stringify(VERIFIED), "one metadata key");
  const { createdOn, etag, ...rest } = (await getCommittedArchive(container, name))!;
  assert.ok(createdOn instanceof Date);
  assert.ok(etag);
  assert.deepEqual(rest, {
    sourceDigest: identity.digest,
    bytes: 3000,
    sha256: "e".repeat(64),
    tarSize: 4096,
    gzipLevel: 1,
    tags: ["1.0", "latest"],
    externalLayers: [`sha256:${"f".repeat(64)}`],
    format: "oci-layout+docker-archive",
    accessTier: "Archive",
    verification: VERIFIED,
  });
  // A second commit under the same name (another worker) loses: false, and the first archive stays as it was.
  assert.equal(await archive(container, name, Buffer.alloc(10, 2), { ...commitMetadata(identity), tarSize: 1 }), false);
  assert.equal((await getCommittedArchive(container, name))?.bytes, 3000);
  assert.equal((await getCommittedArchive(container, name))?.tarSize, 4096);
});

test("an archive is committed with its ten blob index tags, readable and findable in Archive tier (guards issue 25.1)", async () => {
  const container = await freshContainer();
  const identity = image("b");
  const name = archiveBlobName(identity);
  assert.equal(await archive(container, name, Buffer.alloc(1234, 1), commitMetadata(identity)), true);
  // Committed online with its tags; the worker moves it to Archive tier once verified (issue 23.1): the tags stay.
  await container.getBlockBlobClient(name).setAccessTier("Archive");
  assert.equal((await container.getBlockBlobClient(name).getProperties()).accessTier, "Archive");
  assert.deepEqual(await getIndexTags(container, name), {
    kind: "archive",
    registry: "registry.example",
    repository: "team/app",
    digest: identity.digest,
    tag: "1.0",
    archivedat: "2026-12-03T10:15:30Z",
    run: "run-1",
    bytes: "000000000001234",
    verified: "no",
    purge: "none",
  });
  const found = await findBlobsByIndexTags(
    container,
    tagExpression([
      { key: "registry", op: "=", value: "registry.example" },
      { key: "repository", op: "=", value: "team/app" },
      { key: "archivedat", op: ">=", value: "2026-12-01" },
    ]),
    { maxPageSize: 10 },
  );
  assert.deepEqual(
    found.blobs.map((b) => b.name),
    [name],
  );
  // The purge and verify work change them in Archive tier (metadata could not be changed there).
  const tags = (await getIndexTags(container, name))!;
  await setIndexTags(container, name, { ...tags, purge: "purged" });
  assert.equal((await getIndexTags(container, name))?.purge, "purged");
  assert.equal((await container.getBlockBlobClient(name).getProperties()).accessTier, "Archive");
});

test("an archive the old worker wrote (no metadata) reads back with no digest", async () => {
  const container = await freshContainer();
  await container.getBlockBlobClient("repo--tag.tar.gz").uploadData(Buffer.alloc(5));
  const { createdOn, etag, accessTier, ...rest } = (await getCommittedArchive(container, "repo--tag.tar.gz"))!;
  assert.ok(createdOn instanceof Date && etag && accessTier);
  assert.deepEqual(rest, { bytes: 5, sha256: "", tarSize: 0, gzipLevel: 0 });
});

test("an archive that failed its verification is deleted If-Match its ETag: a blob changed since (another writer) stays; a forged verification in metadata is none (guards issue 23.1)", async () => {
  const container = await freshContainer();
  const identity = image("b");
  const name = archiveBlobName(identity);
  await archive(container, name, Buffer.alloc(100, 1), commitMetadata(identity));
  const first = (await getCommittedArchive(container, name))!;
  // Another writer recorded its verification meanwhile: the first ETag no longer deletes it.
  await sealVerifiedArchive(container, name, { etag: first.etag, verification: VERIFIED });
  assert.equal(await deleteUnverifiedArchive(container, name, first.etag), false);
  assert.equal((await getCommittedArchive(container, name))?.accessTier, "Archive", "kept");
  // A second seal with the stale ETag finds the verification there (412, recorded): as good, no error.
  await sealVerifiedArchive(container, name, { etag: first.etag, verification: VERIFIED });

  const other = image("c");
  const otherName = archiveBlobName(other);
  await archive(container, otherName, Buffer.alloc(100, 1), commitMetadata(other));
  const found = (await getCommittedArchive(container, otherName))!;
  assert.equal(await deleteUnverifiedArchive(container, otherName, found.etag), true);
  assert.equal(await getCommittedArchive(container, otherName), undefined, "gone");
  assert.equal(await deleteUnverifiedArchive(container, otherName, found.etag), false, "already gone");

  // Metadata anyone could write that is not a well-formed verification counts as none.
  const forged = image("d");
  const forgedName = archiveBlobName(forged);
  await archive(container, forgedName, Buffer.alloc(10), commitMetadata(forged));
  const blob = container.getBlockBlobClient(forgedName);
  for (const value of [
    "yes",
    JSON.stringify({ ...VERIFIED, method: "trust-me" }),
    JSON.stringify({ ...VERIFIED, blobs: -1 }),
  ]) {
    await blob.setMetadata({ ...(await blob.getProperties()).metadata, verification: value });
    assert.equal((await getCommittedArchive(container, forgedName))?.verification, undefined, value);
  }
});

test("sidecars: written in Cool tier with the digest in metadata; a conditional write keeps another writer's", async () => {
  const container = await freshContainer();
  const identity = image("b");
  const name = sidecarBlobName(archiveBlobName(identity));
  assert.equal(await getSidecar(container, name), undefined);
  await uploadSidecar(container, name, sidecarOf(identity, 1));
  const props = await container.getBlockBlobClient(name).getProperties();
  assert.equal(props.accessTier, "Cool");
  assert.equal(props.metadata?.sourcedigest, identity.digest);
  const first = await getSidecar<ArchiveSidecar>(container, name);
  assert.equal(first?.sidecar?.archive?.size, 1);
  assert.ok(first?.etag);
  // If-None-Match: * on an existing sidecar, or If-Match on a changed one: kept, not an error.
  await uploadSidecar(container, name, sidecarOf(identity, 2), { conditions: { ifNoneMatch: "*" } });
  await uploadSidecar(container, name, sidecarOf(identity, 3), { conditions: { ifMatch: '"0x0"' } });
  assert.equal((await getSidecar<ArchiveSidecar>(container, name))?.sidecar?.archive?.size, 1);
  await uploadSidecar(container, name, sidecarOf(identity, 4), { conditions: { ifMatch: first.etag! } });
  assert.equal(
    (await getSidecar<ArchiveSidecar>(container, name))?.sidecar?.archive?.size,
    4,
    "unchanged since read: replaced",
  );
  // A body that is not JSON: its ETag, no sidecar (rewritten from the archive by the flow).
  await container.getBlockBlobClient(name).uploadData(Buffer.from("not json"));
  const broken = await getSidecar(container, name);
  assert.equal(broken?.sidecar, undefined);
  assert.ok(broken?.etag);
});

test("worker results are per attempt; a missing one is undefined", async () => {
  const container = await freshContainer();
  const identity = image("c");
  const result = {
    status: "archived",
    image: "registry.example/team/app:1.0",
    digest: identity.digest,
    bytes: 7,
  } as ArchiveImageResult;
  await writeWorkerResult(container, "run-1", identity, "1", result);
  await writeWorkerResult(container, "run-1", identity, "2", { ...result, bytes: 8 });
  assert.deepEqual(await readWorkerResult(container, "run-1", identity, "1"), result);
  assert.equal((await readWorkerResult<ArchiveImageResult>(container, "run-1", identity, "2"))?.bytes, 8);
  assert.equal(await readWorkerResult(container, "run-1", identity, "3"), undefined);
  assert.equal(await readWorkerResult(container, "run-2", identity), undefined);
});

test("already archived means archive and sidecar: per image and per repository listing (nothing of a/b under a)", async () => {
  const container = await freshContainer();
  const done = image("d");
  const half = image("e");
  const nested = image("d", "team/app/sub");
  for (const identity of [done, half, nested])
    await archive(container, archiveBlobName(identity), Buffer.alloc(100), commitMetadata(identity));
  await uploadSidecar(container, sidecarBlobName(archiveBlobName(done)), sidecarOf(done, 100));
  await uploadSidecar(container, sidecarBlobName(archiveBlobName(nested)), sidecarOf(nested, 100));

  // `done` is verified (its metadata): said by the info and the listing, no read.
  const committed = (await getCommittedArchive(container, archiveBlobName(done)))!;
  await sealVerifiedArchive(container, archiveBlobName(done), { etag: committed.etag, verification: VERIFIED });
  assert.deepEqual(await getArchivedImageInfo(container, done), {
    archived: true,
    bytes: 100,
    sha256: "e".repeat(64),
    verified: true,
  });
  assert.deepEqual(
    await getArchivedImageInfo(container, half),
    { archived: false },
    "no sidecar: the worker finishes it",
  );
  assert.deepEqual(await getArchivedImageInfo(container, image("9")), { archived: false });
  const listed = await listArchivedDigests(container, "registry.example", "team/app");
  assert.deepEqual([...listed.entries()].sort(), [
    [done.digest, { archived: true, bytes: 100, sha256: "e".repeat(64), verified: true }],
    [half.digest, { archived: false, bytes: 100, sha256: "e".repeat(64) }],
  ]);
  assert.equal(
    (await listArchivedDigests(service.getContainerClient("no-such-container"), "registry.example", "team/app")).size,
    0,
  );
});

test("storage failures become STORAGE_ERROR naming the blob, the service code and the status", async () => {
  const container = await freshContainer();
  const name = archiveBlobName(image("f"));
  const metadata = commitMetadata(image("f"));
  const error = await commitArchive(container, name, ["bm90LXN0YWdlZA=="], metadata, {
    index: indexOf(metadata, 1),
  }).then(
    () => assert.fail("a block list of blocks never staged was committed"),
    (e: unknown) => e,
  );
  assert.ok(isArchiveError(error), String(error));
  assert.equal(error.code, "STORAGE_ERROR");
  assert.match(
    error.message,
    new RegExp(`^cannot commit ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: InvalidBlockList \\(HTTP 400\\)$`),
  );
  assert.equal(error.statusCode, 400);
  // A result blob that is not JSON (a torn or foreign write) is a storage failure too, not a missing result.
  await container.getBlockBlobClient(resultBlobName("run-1", image("f"), "1")).uploadData(Buffer.from("{"));
  await assert.rejects(readWorkerResult(container, "run-1", image("f"), "1"), (e: Error & { code?: string }) => {
    return (
      e.code === "STORAGE_ERROR" && e.message.startsWith(`cannot read ${resultBlobName("run-1", image("f"), "1")}: `)
    );
  });
});
