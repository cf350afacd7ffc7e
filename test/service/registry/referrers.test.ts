// Referrer discovery (src/registry/referrers.ts) against a real registry: Debian's distribution 2.8 has no referrers
// API, so its tag schema (`sha256-<hex>` index) and cosign's legacy tags are read there; the referrers API itself is
// read from the tests' loopback stand-in, which serves it over content really pushed through it to a real registry.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { discoverReferrers, isReferrerTag, probeReferrerDigests } from "../../../src/registry/referrers.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { MediaTypes, type Descriptor } from "../../../src/registry/types.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { sha256Digest } from "../../support/digests.js";
import { expectCode } from "../../support/loopback.js";
import {
  artifactOf,
  ArtifactTypes,
  cosignSignature,
  pushReferrer,
  putTagSchemaIndex,
  startReferrersApi,
  type ReferrersApiStandIn,
} from "../../support/referrers.js";

let registry: TestRegistry;
let api: ReferrersApiStandIn;
let unfiltered: ReferrersApiStandIn;

before(async () => {
  registry = await startRegistry();
  [api, unfiltered] = await Promise.all([
    startReferrersApi(registry.host),
    startReferrersApi(registry.host, { filters: false }),
  ]);
});
after(async () => {
  await Promise.all([api?.stop(), unfiltered?.stop()]);
  await registry?.stop();
});

async function manifestDescriptor(client: RegistryClient, repository: string, reference: string): Promise<Descriptor> {
  return (await client.getManifest(repository, reference)).descriptor;
}

const multiArch = [
  { ...smallImage("amd64"), platform: { os: "linux", architecture: "amd64" } },
  { ...smallImage("arm64"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
];

describe("on a registry without the referrers API (tag schema and cosign tags)", () => {
  test("a cosign-style signature of a single-arch image, an SBOM by the tag schema, and a signature of that SBOM", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "ref/single:1", smallImage("single"));
    const subject = await manifestDescriptor(client, "ref/single", image.digest);
    const signature = await pushReferrer(client, "ref/single", cosignSignature(image.digest));
    const sbom = await pushReferrer(client, "ref/single", artifactOf(subject, ArtifactTypes.sbom, '{"spdx":1}'));
    await putTagSchemaIndex(client, "ref/single", image.digest, [sbom.descriptor]);
    const sbomSignature = await pushReferrer(client, "ref/single", cosignSignature(sbom.descriptor.digest, "sbom@x"));

    const found = await discoverReferrers(client, "ref/single", [image.digest]);
    assert.equal(found.referrersApi, false, "distribution 2.8 answers 404 to the referrers API");
    const summary = found.referrers.map((r) => [r.descriptor.digest, r.subject, r.source, r.tag ?? null, r.depth]);
    assert.deepEqual(summary, [
      [sbom.descriptor.digest, image.digest, "tag-schema", null, 1],
      [signature.descriptor.digest, image.digest, "cosign-tag", `${image.digest.replace(":", "-")}.sig`, 1],
      [
        sbomSignature.descriptor.digest,
        sbom.descriptor.digest,
        "cosign-tag",
        `${sbom.descriptor.digest.replace(":", "-")}.sig`,
        2,
      ],
    ]);
    const sbomFound = found.referrers[0]!;
    assert.equal(sbomFound.descriptor.artifactType, ArtifactTypes.sbom);
    assert.ok(sbomFound.bytes.equals(sbom.bytes), "the referrer's manifest bytes as pushed");
    assert.deepEqual(
      sbomFound.blobs.map((b) => b.digest),
      sbom.blobs.map((b) => b.digest),
    );
    assert.ok(isReferrerTag(found.referrers[1]!.tag!));
    assert.ok(!isReferrerTag("1.0") && !isReferrerTag("sha256-abc.sig"));
  });

  test("an SBOM and an attestation on one platform of a multi-arch index are found under that platform", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "ref/multi:1", multiArch);
    const index = await client.getManifest("ref/multi", image.digest);
    const arm = (index.manifest as { manifests: Descriptor[] }).manifests[1]!;
    const sbom = await pushReferrer(client, "ref/multi", artifactOf(arm, ArtifactTypes.sbom, '{"spdx":"arm"}'));
    const attestation = await pushReferrer(client, "ref/multi", artifactOf(arm, ArtifactTypes.attestation, "{}"));
    await putTagSchemaIndex(client, "ref/multi", arm.digest, [sbom.descriptor, attestation.descriptor]);

    const subjects = [image.digest, ...(index.manifest as { manifests: Descriptor[] }).manifests.map((m) => m.digest)];
    const found = await discoverReferrers(client, "ref/multi", subjects);
    assert.deepEqual(
      found.referrers.map((r) => [r.descriptor.digest, r.subject, r.descriptor.artifactType]),
      [
        [sbom.descriptor.digest, arm.digest, ArtifactTypes.sbom],
        [attestation.descriptor.digest, arm.digest, ArtifactTypes.attestation],
      ],
    );
    // Per subject: the tag schema index and three cosign tags.
    assert.equal(found.requests, 1 + subjects.length * 4 + 2 * 4);
  });

  test("no referrers: nothing found, and the limits' depth 0 asks nothing", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "ref/plain:1", smallImage("plain"));
    assert.deepEqual((await discoverReferrers(client, "ref/plain", [image.digest])).referrers, []);
    const none = await discoverReferrers(client, "ref/plain", [image.digest], { limits: { maxDepth: 0, maxCount: 1 } });
    assert.equal(none.requests, 0);
  });

  test("bad graphs fail the image with REFERRER_GRAPH_INVALID: a cycle, another subject, too deep, too many", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "ref/bad:1", smallImage("bad"));
    const subject = await manifestDescriptor(client, "ref/bad", image.digest);
    const sbom = await pushReferrer(client, "ref/bad", artifactOf(subject, ArtifactTypes.sbom, "{}"));
    await putTagSchemaIndex(client, "ref/bad", image.digest, [sbom.descriptor]);
    const sig = await pushReferrer(client, "ref/bad", cosignSignature(sbom.descriptor.digest));

    await expectCode(
      discoverReferrers(client, "ref/bad", [image.digest], { limits: { maxDepth: 1, maxCount: 10 } }),
      "REFERRER_GRAPH_INVALID",
      /nested deeper than 1/,
    );
    await expectCode(
      discoverReferrers(client, "ref/bad", [image.digest], { limits: { maxDepth: 3, maxCount: 1 } }),
      "REFERRER_GRAPH_INVALID",
      /more than 1 referrers/,
    );
    // A cycle: the signature's own cosign tag names the image itself.
    const imageBytes = (await client.getManifest("ref/bad", image.digest)).bytes;
    await client.putManifest(
      "ref/bad",
      `${sig.descriptor.digest.replace(":", "-")}.sig`,
      subject.mediaType,
      imageBytes,
    );
    await expectCode(discoverReferrers(client, "ref/bad", [image.digest]), "REFERRER_GRAPH_INVALID", /a cycle/);

    // The tag schema index of one image lists a manifest whose subject is another.
    const other = await pushImage(registry.host, "ref/bad:2", smallImage("other"));
    await putTagSchemaIndex(client, "ref/bad", other.digest, [sbom.descriptor]);
    await expectCode(
      discoverReferrers(client, "ref/bad", [other.digest]),
      "REFERRER_GRAPH_INVALID",
      new RegExp(`its subject is ${image.digest}`),
    );
  });
});

/** An index referrer of `subject` (listed by the tag schema) whose one manifest names `childSubject` as its subject. */
async function pushIndexReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  childSubject: Descriptor,
): Promise<{ index: string; child: string }> {
  const child = await pushReferrer(client, repository, artifactOf(childSubject, ArtifactTypes.sbom, '{"arch":"x"}'));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      artifactType: ArtifactTypes.sbom,
      manifests: [child.descriptor],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const index = sha256Digest(bytes);
  await client.putManifest(repository, index, MediaTypes.ociIndex, bytes);
  const descriptor = { mediaType: MediaTypes.ociIndex, digest: index, size: bytes.length };
  await putTagSchemaIndex(client, repository, subject.digest, [{ ...descriptor, artifactType: ArtifactTypes.sbom }]);
  return { index, child: child.descriptor.digest };
}

test("an index referrer's manifest whose subject is another image fails with REFERRER_GRAPH_INVALID; one naming the image is kept (guards issue 21.3)", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "ref/child:1", smallImage("child"));
  const subject = await manifestDescriptor(client, "ref/child", image.digest);
  const other = await pushImage(registry.host, "ref/child-other:1", smallImage("child-other"));
  const otherSubject = await manifestDescriptor(client, "ref/child-other", other.digest);

  const foreign = await pushIndexReferrer(client, "ref/child", subject, otherSubject);
  await expectCode(
    discoverReferrers(client, "ref/child", [image.digest]),
    "REFERRER_GRAPH_INVALID",
    new RegExp(
      `manifest ${foreign.child} of index referrer ${foreign.index} in ref/child: its subject ${other.digest} is neither the image nor one of its referrers`,
    ),
  );

  const own = await pushIndexReferrer(client, "ref/child", subject, subject);
  const found = await discoverReferrers(client, "ref/child", [image.digest]);
  assert.deepEqual(
    found.referrers.map((r) => [r.descriptor.digest, r.children?.map((c) => c.descriptor.digest)]),
    [[own.index, [own.child]]],
  );
});

test("a listing of more referrers than REFERRERS_MAX_COUNT stops within a window of fetches, not after all of them", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "ref/many:1", smallImage("many"));
  const subject = await manifestDescriptor(client, "ref/many", image.digest);
  const sboms = [];
  for (let n = 0; n < 20; n++)
    sboms.push(
      (await pushReferrer(client, "ref/many", artifactOf(subject, ArtifactTypes.sbom, `{"n":${n}}`))).descriptor,
    );
  await putTagSchemaIndex(client, "ref/many", image.digest, sboms);
  let requests = 0;
  await expectCode(
    discoverReferrers(client, "ref/many", [image.digest], {
      limits: { maxDepth: 1, maxCount: 2 },
      onRequest: () => void requests++,
    }),
    "REFERRER_GRAPH_INVALID",
    /more than 2 referrers/,
  );
  // The lookups (the API's 404, the tag schema's index, three cosign tags), then one window of 4 manifest fetches:
  // the third referrer fails the count, and the other 16 are never asked for.
  assert.equal(requests, 5 + 4);
});

describe("on a registry with the referrers API (the tests' stand-in over a real registry)", () => {
  test("paged answers, the artifactType filter (by the registry or here), recursion, and no tag schema reads", async () => {
    for (const standIn of [api, unfiltered]) {
      const client = new RegistryClient(standIn.host);
      const repository = standIn === api ? "api/multi" : "api/unfiltered";
      const image = await pushImage(standIn.host, `${repository}:1`, multiArch);
      const index = await client.getManifest(repository, image.digest);
      const amd = (index.manifest as { manifests: Descriptor[] }).manifests[0]!;
      const sboms = [];
      for (const n of [1, 2, 3])
        sboms.push(await pushReferrer(client, repository, artifactOf(amd, ArtifactTypes.sbom, `{"n":${n}}`)));
      const attestation = await pushReferrer(client, repository, artifactOf(amd, ArtifactTypes.attestation, "{}"));
      const sbomSignature = await pushReferrer(client, repository, {
        ...artifactOf(sboms[0]!.descriptor, ArtifactTypes.signature, "sig"),
      });
      const subjects = [
        image.digest,
        ...(index.manifest as { manifests: Descriptor[] }).manifests.map((m) => m.digest),
      ];

      standIn.referrerRequests.length = 0;
      const found = await discoverReferrers(client, repository, subjects);
      assert.equal(found.referrersApi, true);
      // Per subject and per referrer: one API listing (its pages count once) and three cosign tags, no tag schema index.
      assert.equal(found.requests, (subjects.length + 5) * 4);
      assert.deepEqual(
        found.referrers.map((r) => [r.descriptor.digest, r.subject, r.source, r.depth]),
        [
          ...sboms.map((s) => [s.descriptor.digest, amd.digest, "referrers-api", 1]),
          [attestation.descriptor.digest, amd.digest, "referrers-api", 1],
          [sbomSignature.descriptor.digest, sboms[0]!.descriptor.digest, "referrers-api", 2],
        ],
      );
      assert.ok(
        standIn.referrerRequests.some((r) => r.includes("last=2")),
        `the four referrers of linux/amd64 came in pages: ${standIn.referrerRequests.join(" ")}`,
      );

      const onlySboms = await discoverReferrers(client, repository, subjects, { artifactTypes: [ArtifactTypes.sbom] });
      assert.deepEqual(
        onlySboms.referrers.map((r) => r.descriptor.digest),
        sboms.map((s) => s.descriptor.digest),
        "only SBOMs (and no referrer of a filtered-out one)",
      );
      assert.ok(
        standIn.referrerRequests.some((r) => r.includes(`artifactType=${encodeURIComponent(ArtifactTypes.sbom)}`)),
      );
    }
  });

  test("a cosign legacy tag is still read where the API exists", async () => {
    const client = new RegistryClient(api.host);
    const image = await pushImage(api.host, "api/signed:1", smallImage("signed"));
    const signature = await pushReferrer(client, "api/signed", cosignSignature(image.digest));
    const found = await discoverReferrers(client, "api/signed", [image.digest]);
    assert.deepEqual(
      found.referrers.map((r) => [r.descriptor.digest, r.source]),
      [[signature.descriptor.digest, "cosign-tag"]],
    );
  });
});

/** The repository's referrer tags, as a run's listing sees them (tags/list). */
async function referrerTagsOf(client: RegistryClient, repository: string): Promise<Set<string>> {
  const tags = new Set<string>();
  for await (const tag of client.listTags(repository)) if (isReferrerTag(tag)) tags.add(tag);
  return tags;
}

describe("probeReferrerDigests: the digests a run's listing compares with a sidecar", () => {
  test("tag schema and cosign tags: the digests discovery finds, asking only for the tags the listing has", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "probe/single:1", smallImage("probe-single"));
    const subject = await manifestDescriptor(client, "probe/single", image.digest);
    const signature = await pushReferrer(client, "probe/single", cosignSignature(image.digest));
    const sbom = await pushReferrer(client, "probe/single", artifactOf(subject, ArtifactTypes.sbom, '{"spdx":2}'));
    await putTagSchemaIndex(client, "probe/single", image.digest, [sbom.descriptor]);
    const sbomSignature = await pushReferrer(client, "probe/single", cosignSignature(sbom.descriptor.digest, "s@x"));
    const plain = await pushImage(registry.host, "probe/single:plain", smallImage("probe-plain"));

    const discovered = await discoverReferrers(client, "probe/single", [image.digest]);
    let requests = 0;
    const features: { referrersApi?: boolean } = {};
    const referrerTags = await referrerTagsOf(client, "probe/single");
    const probe = await probeReferrerDigests(client, "probe/single", [image.digest], {
      referrerTags,
      registry: features,
      onRequest: () => void requests++,
    });
    assert.equal(probe.complete, true);
    assert.deepEqual(
      [...probe.digests].sort(),
      discovered.referrers.map((r) => r.descriptor.digest).sort(),
      "the same referrers as the worker's discovery",
    );
    assert.deepEqual(
      [...probe.digests].sort(),
      [sbom, signature, sbomSignature].map((r) => r.descriptor.digest).sort(),
    );
    // The API asked once (404: none), the tag schema index, the image's .sig, the SBOM's .sig: no tag it does not list.
    assert.equal(features.referrersApi, false);
    assert.equal(requests, 4);

    requests = 0;
    const none = await probeReferrerDigests(client, "probe/single", [plain.digest], {
      referrerTags,
      registry: features,
      onRequest: () => void requests++,
    });
    assert.deepEqual(none, { digests: [], complete: true });
    assert.equal(requests, 0, "no referrer tag for it and no API known: nothing asked");
  });

  test("a budget that runs out stops the probe, incomplete, at the lookup it refused", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "probe/budget:1", smallImage("probe-budget"));
    await pushReferrer(client, "probe/budget", cosignSignature(image.digest));
    const subject = await manifestDescriptor(client, "probe/budget", image.digest);
    const sbom = await pushReferrer(client, "probe/budget", artifactOf(subject, ArtifactTypes.sbom, '{"b":1}'));
    await putTagSchemaIndex(client, "probe/budget", image.digest, [sbom.descriptor]);
    let lookups = 0;
    const probe = await probeReferrerDigests(client, "probe/budget", [image.digest], {
      referrerTags: await referrerTagsOf(client, "probe/budget"),
      mayRequest: () => lookups++ < 2,
    });
    assert.equal(probe.complete, false);
    assert.deepEqual(probe.digests, [sbom.descriptor.digest], "the API (none) and the index were asked, not the .sig");
  });

  test("the referrers API: one listing per subject and per referrer found, cosign tags only where listed", async () => {
    const client = new RegistryClient(api.host);
    const image = await pushImage(api.host, "probe/api:1", multiArch);
    const index = await client.getManifest("probe/api", image.digest);
    const platforms = (index.manifest as { manifests: Descriptor[] }).manifests;
    const sbom = await pushReferrer(client, "probe/api", artifactOf(platforms[1]!, ArtifactTypes.sbom, '{"p":1}'));
    const sbomSignature = await pushReferrer(
      client,
      "probe/api",
      artifactOf(sbom.descriptor, ArtifactTypes.signature, "sig"),
    );
    let requests = 0;
    const subjects = [image.digest, ...platforms.map((p) => p.digest)];
    const probe = await probeReferrerDigests(client, "probe/api", subjects, {
      referrerTags: new Set(),
      onRequest: () => void requests++,
    });
    assert.deepEqual(probe, { digests: [sbom.descriptor.digest, sbomSignature.descriptor.digest], complete: true });
    assert.equal(requests, subjects.length + 2);
  });
});
