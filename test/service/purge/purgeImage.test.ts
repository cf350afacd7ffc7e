// One image's purge primitives (src/purge/purgeImage.ts) against the real registry behind the local ACR stand-in and
// real Azurite, on archives the worker's own code wrote: brown-out then delete after the grace (referrers first, the
// digest gone, its record), a multi-arch index whose child a kept index shares, a locked image refused, records written
// once, a re-enabled image cancelled and kept, a deletion finished after a crash, the app's settings checked where the
// registry is changed, and a plain registry.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { brownOut, cancelPurge, deleteImage, isReadableAgain } from "../../../src/purge/purgeImage.js";
import { readPurgeRecords, writePurgeRecord } from "../../../src/purge/purgeRecords.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { isIndex, type Descriptor } from "../../../src/registry/types.js";
import { purgeRecordBlobName, type ImageIdentity } from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage, type ImageSpec } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { expectCode, startRequestLog, type RequestLog } from "../../support/loopback.js";
import { archiveForPurge, PURGE_ON, purgeDeps, VerifiedSet } from "../../support/purge.js";
import {
  artifactOf,
  ArtifactTypes,
  cosignSignature,
  pushReferrer,
  putTagSchemaIndex,
} from "../../support/referrers.js";

let registry: TestRegistry;
let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;

before(async () => {
  [registry, azurite] = await Promise.all([startRegistry({ acr: true }), startAzurite()]);
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await Promise.all([registry?.stop(), azurite?.stop()]);
});

const ACCEPT =
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/** A manifest in the registry BEHIND the stand-in (no ACR rules): 200 or 404. */
async function behind(repository: string, reference: string): Promise<number> {
  const response = await fetch(`http://${registry.registryHost}/v2/${repository}/manifests/${reference}`, {
    method: "HEAD",
    headers: { accept: ACCEPT },
  });
  return response.status;
}

const later = (seconds: number) => () => new Date(Date.now() + seconds * 1000);

/** A fresh repository and container; `repo:v1` pushed (specs as given) and archived and verified through `host`. */
async function setUp(specs?: ImageSpec | ImageSpec[], host = registry.host) {
  const n = ++counter;
  const repository = `purge/app${n}`;
  const containerName = `purge-${n}`;
  const { digest } = await pushImage(registry.host, `${repository}:v1`, specs ?? smallImage(`purge-${n}`));
  const container = service.getContainerClient(containerName);
  const image: ImageIdentity = { registry: host, repository, digest };
  const client = new RegistryClient(host);
  const verification = new VerifiedSet();
  const archive = async () => {
    const result = await archiveForPurge(service, containerName, host, `${repository}:v1`);
    verification.add(result.archiveBlob, result.referrersSupplementBlob);
    return result;
  };
  return { n, repository, container, image, client, verification, archive, digest };
}

const multiArch = (a: string, b: string): ImageSpec[] => [
  { ...smallImage(a), platform: { os: "linux", architecture: "amd64" } },
  { ...smallImage(b), platform: { os: "linux", architecture: "arm64" } },
];

async function childrenOf(client: RegistryClient, repository: string, digest: string): Promise<Descriptor[]> {
  const { manifest } = await client.getManifest(repository, digest);
  assert.ok(isIndex(manifest));
  return manifest.manifests;
}

describe("brown-out, then delete", () => {
  let log: RequestLog;
  before(async () => {
    log = await startRequestLog(registry.host);
  });
  after(async () => {
    await log?.close();
  });

  test("pulls are refused while browned out; before the grace it is kept; after it the referrers go first, then the digest and its tags, and the record says all (guards issue 23.4, 23.5, 23.6)", async () => {
    const { repository, container, image, client, verification, archive, digest } = await setUp(undefined, log.host);
    const direct = new RegistryClient(registry.host);
    const subject = (await direct.getManifest(repository, digest)).descriptor;
    const signature = await pushReferrer(direct, repository, cosignSignature(digest));
    const sbom = await pushReferrer(direct, repository, artifactOf(subject, ArtifactTypes.sbom, '{"sbom":1}'));
    await putTagSchemaIndex(direct, repository, digest, [sbom.descriptor]);
    const sbomSignature = await pushReferrer(direct, repository, cosignSignature(sbom.descriptor.digest));
    const other = await pushImage(registry.host, `${repository}:other`, smallImage(`other-${counter}`));
    await archive();
    const deps = purgeDeps(client, container, verification);

    const browned = await brownOut(image, { runId: "run-1" }, deps);
    assert.equal(browned.status, "browned-out", JSON.stringify(browned));
    assert.ok(browned.status === "browned-out" && browned.written);
    const record = browned.record;
    assert.deepEqual(record.tags, ["v1"]);
    assert.equal(record.attributes, true);
    assert.equal(record.graph.manifests[0]?.digest, digest);
    assert.deepEqual(
      [...record.referrers].sort(),
      [signature.descriptor.digest, sbom.descriptor.digest, sbomSignature.descriptor.digest].sort(),
    );
    await expectCode(direct.getManifest(repository, "v1"), "REGISTRY_LOCKED");
    await expectCode(direct.getManifest(repository, digest), "REGISTRY_LOCKED");
    assert.equal(await behind(repository, digest), 200, "a brown-out deletes nothing");
    assert.deepEqual(await isReadableAgain(image, record, deps), {
      applicable: true,
      readable: false,
      detail: "still unreadable",
    });

    // Within the grace (20 s in these settings): kept, waiting.
    const early = await deleteImage(image, { runId: "run-1" }, deps);
    assert.equal(early.status, "kept");
    assert.ok(early.status === "kept" && early.reason === "grace", JSON.stringify(early));

    const logged = log.requests.length;
    const deleted = await deleteImage(image, { runId: "run-2" }, { ...deps, now: later(60) });
    assert.equal(deleted.status, "purged", JSON.stringify(deleted));
    assert.ok(deleted.status === "purged" && deleted.written);
    const purged = deleted.record;
    assert.equal(purged.runId, "run-2");
    assert.equal(purged.brownoutAt, record.at);
    assert.deepEqual(purged.tags, ["v1"]);
    assert.deepEqual(purged.readBack, { ok: true, problems: [] });
    assert.equal(purged.referrersDeleted[0], sbomSignature.descriptor.digest, "deepest first");
    assert.deepEqual(
      [...purged.referrersDeleted].sort(),
      [signature.descriptor.digest, sbom.descriptor.digest, sbomSignature.descriptor.digest].sort(),
    );
    assert.equal(purged.tagSchemaIndexesDeleted.length, 1);
    assert.ok(purged.bytesFreed > 0);

    // In the registry's own order: every referrer's DELETE, and the tag-schema index's, before the root's.
    const deletes = log.requests
      .slice(logged)
      .filter((r) => r.startsWith("DELETE "))
      .map((r) => /manifests\/(sha256:[a-f0-9]{64})$/.exec(r)?.[1]);
    const rootAt = deletes.indexOf(digest);
    assert.ok(rootAt > 0, deletes.join("\n"));
    for (const d of [...purged.referrersDeleted, ...purged.tagSchemaIndexesDeleted])
      assert.ok(deletes.indexOf(d) >= 0 && deletes.indexOf(d) < rootAt, `${d} deleted before the root`);

    for (const reference of [digest, "v1", signature.descriptor.digest, sbom.descriptor.digest])
      assert.equal(await behind(repository, reference), 404, reference);
    for (const tag of [`${digest.replace(":", "-")}.sig`, digest.replace(":", "-")])
      assert.equal(await behind(repository, tag), 404, tag);
    assert.equal(await behind(repository, "other"), 200);
    assert.equal(await behind(repository, other.digest), 200);
    assert.deepEqual((await readPurgeRecords(container, image)).purged, purged);

    // Asked again: the record stands, nothing is deleted twice.
    const again = await deleteImage(image, { runId: "run-3" }, { ...deps, now: later(60) });
    assert.ok(again.status === "purged" && !again.written && again.record.runId === "run-2");
  });
});

test("a multi-arch index whose child a kept index shares: the shared child stays, the other goes, the kept index still pulls whole (guards issue 23.5)", async () => {
  const { n, repository, container, image, client, verification, archive, digest } = await setUp(
    multiArch("shared", "only-old"),
  );
  const keptIndex = await pushImage(registry.host, `${repository}:keep`, multiArch("shared", "only-keep"));
  const [sharedChild, oldOnly] = await childrenOf(client, repository, digest);
  const keptChildren = await childrenOf(client, repository, keptIndex.digest);
  assert.equal(keptChildren[0]?.digest, sharedChild?.digest, `the fixture shares the amd64 manifest (${n})`);
  assert.notEqual(keptChildren[1]?.digest, oldOnly?.digest);
  await archive();

  // PURGE_GRACE=PT0S: deleted at once, no brown-out.
  const result = await deleteImage(
    image,
    { runId: "run-multi" },
    purgeDeps(client, container, verification, { config: { ...PURGE_ON, graceSeconds: 0 } }),
  );
  assert.equal(result.status, "purged", JSON.stringify(result));
  const record = result.status === "purged" ? result.record : undefined;
  assert.deepEqual(record?.childrenDeleted, [oldOnly!.digest]);
  assert.deepEqual(record?.childrenKept, [
    { digest: sharedChild!.digest, why: `listed by ${keptIndex.digest}, which stays` },
  ]);
  assert.equal(record?.brownoutAt, undefined);
  assert.deepEqual(record?.readBack, { ok: true, problems: [] });
  assert.equal(await behind(repository, digest), 404);
  assert.equal(await behind(repository, oldOnly!.digest), 404);
  assert.equal(await behind(repository, sharedChild!.digest), 200);
  // The kept index and every manifest it lists, through the stand-in.
  assert.equal((await client.getManifest(repository, "keep")).descriptor.digest, keptIndex.digest);
  for (const child of keptChildren)
    assert.equal((await client.getManifest(repository, child.digest)).descriptor.digest, child.digest);
});

test("a locked image is refused: no brown-out, no delete, no record, the registry as it was (guards issue 23.4)", async () => {
  const { repository, container, image, client, verification, archive, digest } = await setUp();
  await archive();
  await client.patchTagAttributes(repository, "v1", { deleteEnabled: false });
  const deps = purgeDeps(client, container, verification);
  const browned = await brownOut(image, { runId: "run-locked" }, deps);
  assert.ok(browned.status === "kept" && browned.reason === "preconditions", JSON.stringify(browned));
  assert.deepEqual(
    browned.failures?.map((f) => f.detail),
    ["its tag v1 is delete-disabled"],
  );
  const deleted = await deleteImage(
    image,
    { runId: "run-locked" },
    { ...deps, config: { ...PURGE_ON, graceSeconds: 0 } },
  );
  assert.ok(deleted.status === "kept" && deleted.reason === "preconditions", JSON.stringify(deleted));
  assert.deepEqual(await readPurgeRecords(container, image), {});
  assert.equal((await client.findManifestAttributes(repository, digest))?.changeableAttributes.readEnabled, true);
  assert.equal((await client.getManifest(repository, "v1")).descriptor.digest, digest);
});

test("records are written once: a second write is refused, another run's brown-out is answered with the first, untouched (guards issue 23.6)", async () => {
  const { repository, container, image, client, verification, archive, digest } = await setUp();
  await archive();
  const deps = purgeDeps(client, container, verification);
  const first = await brownOut(image, { runId: "run-a" }, deps);
  assert.ok(first.status === "browned-out" && first.written);
  const name = purgeRecordBlobName(image, "brownout");
  const before = await container.getBlockBlobClient(name).getProperties();

  assert.equal(await writePurgeRecord(container, { ...first.record, runId: "run-forged", tags: [] }), false);
  // Someone re-enables reads; another run's brownOut does not undo that, nor rewrite the record.
  await client.patchManifestAttributes(repository, digest, { readEnabled: true });
  const second = await brownOut(image, { runId: "run-b" }, deps);
  assert.ok(second.status === "browned-out" && !second.written && second.record.runId === "run-a");
  assert.equal((await client.findManifestAttributes(repository, digest))?.changeableAttributes.readEnabled, true);
  const after = await container.getBlockBlobClient(name).getProperties();
  assert.equal(after.etag, before.etag, "the record was not rewritten");
  assert.deepEqual((await readPurgeRecords(container, image)).brownout, first.record);

  // The run that wrote the record, retried (its PATCH never happened): it finishes its PATCH.
  const retried = await brownOut(image, { runId: "run-a" }, deps);
  assert.ok(retried.status === "browned-out" && !retried.written);
  assert.equal((await client.findManifestAttributes(repository, digest))?.changeableAttributes.readEnabled, false);
  assert.equal((await client.findTagAttributes(repository, "v1"))?.changeableAttributes.readEnabled, false);
});

test("made readable again during the grace: kept (readable-again), cancelled with reads given back and recorded, and kept by later runs (guards issue 23.4)", async () => {
  const { repository, container, image, client, verification, archive, digest } = await setUp();
  await archive();
  const deps = purgeDeps(client, container, verification);
  const browned = await brownOut(image, { runId: "run-1" }, deps);
  assert.equal(browned.status, "browned-out");
  // `az acr repository update --image repo:v1 --read-enabled true`: the tag only.
  await client.patchTagAttributes(repository, "v1", { readEnabled: true });
  const record = browned.status === "browned-out" ? browned.record : assert.fail();
  assert.deepEqual(await isReadableAgain(image, record, deps), {
    applicable: true,
    readable: true,
    detail: "its tag v1 is readable",
  });
  const deleted = await deleteImage(image, { runId: "run-2" }, { ...deps, now: later(60) });
  assert.ok(deleted.status === "kept" && deleted.reason === "readable-again", JSON.stringify(deleted));
  assert.equal(await behind(repository, digest), 200);

  const cancelled = await cancelPurge(
    image,
    { runId: "run-2", reason: "readable-again", detail: "its tag v1 is readable" },
    deps,
  );
  assert.ok(cancelled.status === "cancelled" && cancelled.written);
  assert.equal(cancelled.record.brownoutAt, record.at);
  assert.equal((await client.getManifest(repository, "v1")).descriptor.digest, digest, "pulls work again");
  assert.equal((await client.getManifest(repository, digest)).descriptor.digest, digest);
  const again = await cancelPurge(image, { runId: "run-3", reason: "requested", detail: "again" }, deps);
  assert.ok(again.status === "cancelled" && !again.written && again.record.runId === "run-2");

  const later1 = await brownOut(image, { runId: "run-3" }, deps);
  assert.ok(later1.status === "kept" && later1.reason === "purge-cancelled", JSON.stringify(later1));
  const later2 = await deleteImage(image, { runId: "run-3" }, { ...deps, now: later(60) });
  assert.ok(later2.status === "kept" && later2.reason === "purge-cancelled");
  assert.equal((await client.findManifestAttributes(repository, digest))?.changeableAttributes.readEnabled, true);
});

test("the app's own settings are checked where the registry is changed: PURGE_ENABLED off or a registry outside the allow-list changes nothing; an unverified archive is kept (guards issue 23.8)", async () => {
  const { repository, container, image, client, verification, archive, digest } = await setUp();
  const result = await archive();
  const off = purgeDeps(client, container, verification, { config: { ...PURGE_ON, enabled: false, graceSeconds: 0 } });
  await expectCode(brownOut(image, { runId: "forged" }, off), "INVALID_ARGUMENT", /PURGE_ENABLED is off/);
  await expectCode(deleteImage(image, { runId: "forged" }, off), "INVALID_ARGUMENT", /PURGE_ENABLED is off/);
  const elsewhere = purgeDeps(client, container, verification, {
    allowedRegistries: ["myacr.azurecr.io"],
    config: { ...PURGE_ON, graceSeconds: 0 },
  });
  await expectCode(deleteImage(image, { runId: "forged" }, elsewhere), "INVALID_ARGUMENT", /not in ALLOWED_REGISTRIES/);
  await expectCode(
    cancelPurge(image, { runId: "forged", reason: "requested", detail: "x" }, elsewhere),
    "INVALID_ARGUMENT",
    /not in ALLOWED_REGISTRIES/,
  );
  // Verified by nobody: kept, with the reason.
  verification.verified.delete(result.archiveBlob!);
  const unverified = await deleteImage(
    image,
    { runId: "run-1" },
    purgeDeps(client, container, verification, { config: { ...PURGE_ON, graceSeconds: 0 } }),
  );
  assert.ok(
    unverified.status === "kept" && unverified.failures?.[0]?.kind === "not-verified",
    JSON.stringify(unverified),
  );
  assert.deepEqual(await readPurgeRecords(container, image), {});
  assert.equal(await behind(repository, digest), 200);
  assert.equal((await client.findManifestAttributes(repository, digest))?.changeableAttributes.readEnabled, true);
});

test("a digest deleted by a try that did not live to write its record: the next call finds it gone and writes the record (recovered) (guards issue 23.6)", async () => {
  const { repository, container, image, client, verification, archive, digest } = await setUp(
    multiArch("recover-a", "recover-b"),
  );
  const archived = await archive();
  const deps = purgeDeps(client, container, verification, { now: later(60) });
  const browned = await brownOut(image, { runId: "run-1" }, purgeDeps(client, container, verification));
  assert.equal(browned.status, "browned-out");
  // The crash: the root deleted, its children not yet, no record.
  assert.equal(await client.deleteManifest(repository, digest), true);
  // Its archive no longer verified meanwhile: the children stay, no record (any doubt keeps).
  verification.verified.delete(archived.archiveBlob!);
  const doubt = await deleteImage(image, { runId: "run-2" }, deps);
  assert.ok(doubt.status === "kept" && doubt.failures?.[0]?.kind === "not-verified", JSON.stringify(doubt));
  assert.equal((await readPurgeRecords(container, image)).purged, undefined);
  verification.verified.add(archived.archiveBlob!);
  const result = await deleteImage(image, { runId: "run-2" }, deps);
  assert.equal(result.status, "purged", JSON.stringify(result));
  const record = result.status === "purged" ? result.record : assert.fail();
  assert.equal(record.recovered, true);
  assert.equal(record.childrenDeleted.length, 2);
  assert.deepEqual(record.readBack, { ok: true, problems: [] });
  for (const child of record.childrenDeleted) assert.equal(await behind(repository, child), 404);
  // Gone with no brown-out to follow: nothing of ours to record.
  const stray = await setUp();
  await stray.archive();
  await stray.client.deleteManifest(stray.repository, stray.digest);
  const gone = await deleteImage(
    stray.image,
    { runId: "run-2" },
    purgeDeps(stray.client, stray.container, stray.verification, { config: { ...PURGE_ON, graceSeconds: 0 } }),
  );
  assert.equal(gone.status, "gone");
});

test("on a plain registry (no /acr/v1) with PT0S: the root and its tags go; the children stay, since who else lists them cannot be told (guards issue 23.5)", async () => {
  const plain = await startRegistry();
  try {
    const repository = `plain/app${++counter}`;
    const containerName = `purge-${counter}`;
    const { digest } = await pushImage(plain.host, `${repository}:v1`, multiArch("plain-a", "plain-b"));
    const other = await pushImage(plain.host, `${repository}:other`, smallImage("plain-other"));
    const result = await archiveForPurge(service, containerName, plain.host, `${repository}:v1`);
    const client = new RegistryClient(plain.host);
    const children = await childrenOf(client, repository, digest);
    const container = service.getContainerClient(containerName);
    const image = { registry: plain.host, repository, digest };
    const deps = purgeDeps(client, container, new VerifiedSet().add(result.archiveBlob), {
      config: { ...PURGE_ON, graceSeconds: 0 },
    });
    // No attributes: a brown-out is a record only (the grace is then a delay).
    const browned = await brownOut(image, { runId: "run-plain" }, deps);
    assert.ok(browned.status === "browned-out" && browned.record.attributes === false);
    assert.equal((await client.getManifest(repository, "v1")).descriptor.digest, digest);
    const deleted = await deleteImage(image, { runId: "run-plain" }, deps);
    assert.equal(deleted.status, "purged", JSON.stringify(deleted));
    const record = deleted.status === "purged" ? deleted.record : assert.fail();
    assert.deepEqual(record.childrenDeleted, []);
    assert.deepEqual(
      record.childrenKept.map((c) => c.digest),
      children.map((c) => c.digest),
    );
    assert.match(record.childrenKept[0]!.why, /lists no untagged manifests/);
    assert.deepEqual(record.readBack, { ok: true, problems: [] });
    assert.equal(await client.findManifest(repository, digest), undefined);
    assert.equal(await client.findManifest(repository, "v1"), undefined);
    assert.equal((await client.getManifest(repository, "other")).descriptor.digest, other.digest);
  } finally {
    await plain.stop();
  }
});
