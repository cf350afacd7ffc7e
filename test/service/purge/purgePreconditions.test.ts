// A purge's preconditions (src/purge/purgePreconditions.ts), read now from the real registry behind the local ACR
// stand-in and from real Azurite, against an archive the worker's own code wrote: verified, tags recorded both ways (a tag
// added since is reported to record, a tag moved since keeps the image), referrers archived (a new one is reported to
// archive into a supplement, and counts once the supplement is there and verified), locks on the repository, the
// manifest, a tag or a referrer; and a plain registry (no attributes) on the same terms.
import { referenceArchiveRequestSchema } from "../../../src/archive/archiveRequest.js";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { archiveImage } from "../../../src/archive/archiveImage.js";
import { checkPurgePreconditions } from "../../../src/purge/purgePreconditions.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { archiveBlobName, type ImageIdentity } from "../../../src/storage/blobNames.js";
import { recordTagsSeen } from "../../../src/storage/tagMarkers.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { archiveForPurge, TUNING, VerifiedSet } from "../../support/purge.js";
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

/** A fresh repository and container, with `repo:v1` pushed and archived (and verified unless asked not to be). */
async function archived(options: { verified?: boolean; host?: string } = {}) {
  const host = options.host ?? registry.host;
  const n = ++counter;
  const repository = `pre/app${n}`;
  const containerName = `pre-${n}`;
  const { digest } = await pushImage(host, `${repository}:v1`, smallImage(`pre-${n}`));
  const result = await archiveForPurge(service, containerName, host, `${repository}:v1`);
  const container = service.getContainerClient(containerName);
  const image: ImageIdentity = { registry: host, repository, digest };
  const verification = new VerifiedSet();
  if (options.verified !== false) verification.add(result.archiveBlob);
  const client = new RegistryClient(host);
  const check = () => checkPurgePreconditions({ client, container, image, verification });
  return { repository, container, containerName, image, client, verification, check, host, digest };
}

const kinds = (failures: { kind: string }[]) => failures.map((f) => f.kind);

describe("on the ACR stand-in", () => {
  test("an archived, verified, unlocked image with every tag recorded and no referrer: ok, with what was read (guards issue 23.3)", async () => {
    const { check, image, repository } = await archived();
    const pre = await check();
    assert.deepEqual(pre.failures, []);
    assert.equal(pre.ok, true);
    assert.equal(pre.archiveBlob, archiveBlobName(image));
    assert.equal(pre.registry.attributes, true);
    assert.deepEqual(pre.registry.tags, ["v1"]);
    assert.equal(pre.registry.readEnabled?.manifest, true);
    assert.ok(pre.registry.lastUpdatedOn);
    assert.equal(pre.graph?.manifests[0]?.digest, image.digest);
    assert.ok(pre.graph!.manifests[0]!.blobs.length >= 2, `config and layers of ${repository}`);
    assert.deepEqual(pre.referrers, []);
  });

  test("an archive that is not verified, or not there, keeps the image (guards issue 23.3)", async () => {
    const unverified = await archived({ verified: false });
    assert.deepEqual(kinds((await unverified.check()).failures), ["not-verified"]);

    const { client, verification, containerName } = unverified;
    const { digest } = await pushImage(registry.host, `${unverified.repository}:v2`, smallImage("never-archived"));
    const container = service.getContainerClient(containerName);
    const image = { ...unverified.image, digest };
    const pre = await checkPurgePreconditions({ client, container, image, verification });
    assert.deepEqual(kinds(pre.failures), ["not-archived"]);
    assert.equal(pre.ok, false);
  });

  test("a tag added since the archive is reported to record; recorded, the image is ok again (guards issue 23.3)", async () => {
    const { check, repository, container, image } = await archived();
    await pushImage(registry.host, `${repository}:also`, smallImage(`pre-${counter}`));
    const pre = await check();
    assert.deepEqual(kinds(pre.failures), ["unrecorded-tags"]);
    assert.deepEqual(pre.failures[0]?.tags, ["also"]);
    assert.deepEqual(pre.registry.tags, ["also", "v1"]);
    // What the caller does with it: record the tag for the archive (a tag marker), and ask again.
    await recordTagsSeen(container, image, pre.archiveBlob, pre.failures[0]!.tags!, { seenAt: new Date() });
    assert.deepEqual((await check()).failures, []);
  });

  test("a tag recorded for the digest that names another digest now (or none) keeps the image (guards issue 23.3)", async () => {
    const { check, repository, client } = await archived();
    const n = counter;
    await pushImage(registry.host, `${repository}:v2`, smallImage(`pre-${n}`));
    const moved = await pushImage(registry.host, `${repository}:v1`, smallImage(`moved-${n}`));
    const pre = await check();
    const failure = pre.failures.find((f) => f.kind === "moved-tags");
    assert.ok(failure, JSON.stringify(pre.failures));
    assert.deepEqual(failure.tags, ["v1"]);
    assert.match(failure.detail, new RegExp(`tag v1 is recorded for the digest but names ${moved.digest} now`));
    assert.ok(pre.failures.some((f) => f.kind === "unrecorded-tags" && f.tags?.includes("v2")));

    // A recorded tag deleted from the registry keeps the image too: the record says it named the digest.
    assert.equal(await client.untag(repository, "v1"), true);
    const gone = (await check()).failures.find((f) => f.kind === "moved-tags");
    assert.match(gone?.detail ?? "", /tag v1 is recorded for the digest but names nothing now/);
  });

  test("a lock on the repository, the manifest or a tag keeps the image; readEnabled false does not (guards issue 23.3)", async () => {
    const { client, repository, image, container, verification, check: first } = await archived();
    // With the graph kept from before (a brown-out refuses reads of the root).
    const graph = (await first()).graph!;
    const check = () => checkPurgePreconditions({ client, container, image, verification, graph });
    await client.patchManifestAttributes(repository, image.digest, { readEnabled: false });
    assert.deepEqual((await check()).failures, [], "a brown-out is no lock");
    await client.patchTagAttributes(repository, "v1", { deleteEnabled: false });
    let pre = await check();
    assert.deepEqual(kinds(pre.failures), ["locked"]);
    assert.equal(pre.failures[0]?.detail, "its tag v1 is delete-disabled");
    await client.patchTagAttributes(repository, "v1", { deleteEnabled: true });
    await client.patchManifestAttributes(repository, image.digest, { writeEnabled: false });
    assert.equal((await check()).failures[0]?.detail, "its manifest is write-disabled");
    await client.patchManifestAttributes(repository, image.digest, { writeEnabled: true });
    await client.patchRepositoryAttributes(repository, { deleteEnabled: false });
    pre = await check();
    assert.equal(pre.failures[0]?.detail, "its repository is delete-disabled");
    await client.patchRepositoryAttributes(repository, { deleteEnabled: true });
    assert.equal((await check()).ok, true);
  });

  test("referrers: archived ones pass; one added since is reported, and counts once in a verified supplement; a locked or tagged referrer keeps the image (guards issue 23.3)", async () => {
    const n = ++counter;
    const repository = `pre/signed${n}`;
    const containerName = `pre-${n}`;
    const client = new RegistryClient(registry.host);
    const { digest } = await pushImage(registry.host, `${repository}:v1`, smallImage(`signed-${n}`));
    const subject = (await client.getManifest(repository, digest)).descriptor;
    const signature = await pushReferrer(client, repository, cosignSignature(digest));
    const result = await archiveForPurge(service, containerName, registry.host, `${repository}:v1`);
    const container = service.getContainerClient(containerName);
    const image = { registry: registry.host, repository, digest };
    const verification = new VerifiedSet().add(result.archiveBlob);
    const check = () => checkPurgePreconditions({ client, container, image, verification });

    let pre = await check();
    assert.deepEqual(pre.failures, []);
    assert.deepEqual(
      pre.referrers.map((r) => [r.descriptor.digest, r.source]),
      [[signature.descriptor.digest, "cosign-tag"]],
    );

    // An SBOM arrives (tag schema), and a signature of it (cosign tag): neither is archived.
    const sbom = await pushReferrer(client, repository, artifactOf(subject, ArtifactTypes.sbom, `{"sbom":${n}}`));
    await putTagSchemaIndex(client, repository, digest, [sbom.descriptor]);
    const sbomSignature = await pushReferrer(client, repository, cosignSignature(sbom.descriptor.digest));
    pre = await check();
    assert.deepEqual(kinds(pre.failures), ["unarchived-referrers"]);
    assert.deepEqual(
      pre.failures[0]?.digests?.sort(),
      [sbom.descriptor.digest, sbomSignature.descriptor.digest].sort(),
    );

    // The caller archives them into a supplement (the refreshReferrers path) and asks again: the supplement must be verified.
    const refreshed = await archiveImage(
      referenceArchiveRequestSchema.parse({
        image: `${registry.host}/${repository}@${digest}`,
        blobContainer: containerName,
        refreshReferrers: true,
      }),
      { blobService: service, getRegistryClient: (r) => new RegistryClient(r) },
      { tuning: TUNING },
    );
    assert.equal(refreshed.newReferrers, 2);
    assert.ok(refreshed.referrersSupplementBlob);
    pre = await check();
    assert.deepEqual(kinds(pre.failures), ["unverified-supplement"]);
    verification.add(refreshed.referrersSupplementBlob);
    assert.deepEqual((await check()).failures, []);

    // A referrer that would be deleted with the image: locked, or tagged with a tag of its own.
    await client.patchManifestAttributes(repository, sbom.descriptor.digest, { deleteEnabled: false });
    pre = await check();
    assert.deepEqual(kinds(pre.failures), ["locked"]);
    assert.match(
      pre.failures[0]!.detail,
      new RegExp(`its referrer ${sbom.descriptor.digest}: manifest is delete-disabled`),
    );
    await client.patchManifestAttributes(repository, sbom.descriptor.digest, { deleteEnabled: true });
    await client.putManifest(repository, "sbom-latest", sbom.descriptor.mediaType, sbom.bytes);
    pre = await check();
    assert.deepEqual(kinds(pre.failures), ["referrer-tagged"]);
    assert.match(pre.failures[0]!.detail, /is also tagged sbom-latest/);
  });

  test("a browned-out image is checked with the graph its record keeps: its root refuses reads (guards issue 23.3)", async () => {
    const { check, client, repository, image, container, verification } = await archived();
    const graph = (await check()).graph!;
    await client.patchManifestAttributes(repository, image.digest, { readEnabled: false });
    await client.patchTagAttributes(repository, "v1", { readEnabled: false });
    const withoutGraph = await check();
    assert.deepEqual(kinds(withoutGraph.failures), ["unreadable"]);
    assert.match(withoutGraph.failures[0]!.detail, /REGISTRY_LOCKED/);
    const withGraph = await checkPurgePreconditions({ client, container, image, verification, graph });
    assert.deepEqual(withGraph.failures, []);
    assert.equal(withGraph.registry.readEnabled?.manifest, false);
    assert.deepEqual(withGraph.registry.readEnabled?.tags, { v1: false });
  });
});

test("on a plain registry (no /acr/v1): no attributes, nothing locked; tags read through /v2 (guards issue 23.3)", async () => {
  const plain = await startRegistry();
  try {
    const n = ++counter;
    const repository = `plain/app${n}`;
    const containerName = `pre-${n}`;
    const { digest } = await pushImage(plain.host, `${repository}:v1`, smallImage(`plain-${n}`));
    await pushImage(plain.host, `${repository}:other`, smallImage(`plain-other-${n}`));
    const result = await archiveForPurge(service, containerName, plain.host, `${repository}:v1`);
    const container: ContainerClient = service.getContainerClient(containerName);
    const client = new RegistryClient(plain.host);
    const pre = await checkPurgePreconditions({
      client,
      container,
      image: { registry: plain.host, repository, digest },
      verification: new VerifiedSet().add(result.archiveBlob),
    });
    assert.deepEqual(pre.failures, []);
    assert.equal(pre.registry.attributes, false);
    assert.equal(pre.registry.locks, undefined);
    assert.deepEqual(pre.registry.tags, ["v1"]);
  } finally {
    await plain.stop();
  }
});
