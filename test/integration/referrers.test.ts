// Referrers kept with the image (issue 12), end to end: real registry (Debian's distribution 2.8: the tag schema and
// cosign tags), real Azurite, the real worker; the archive read back by tar-stream, loaded by podman, restored by the
// CLI into a second registry. Referrer content is made by hand (test/support/referrers.ts): no cosign/oras binary here.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { after, before, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import tar from "tar-stream";
import { Annotations, MediaTypes, type Descriptor } from "../../src/registry/types.js";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { discoverReferrers } from "../../src/registry/referrers.js";
import { listSelectedImages } from "../support/registryListing.js";
import { podmanLoad, removeDir, restoreArchive } from "../support/verify.js";
import { runCli, runWorker } from "../support/worker.js";
import {
  artifactOf,
  ArtifactTypes,
  cosignSignature,
  pushReferrer,
  putTagSchemaIndex,
  startReferrersApi,
  type PushedReferrer,
  type ReferrersApiStandIn,
} from "../support/referrers.js";

let registry: TestRegistry;
/** Restore targets: a second registry (no referrers API), and one behind the tests' referrers API stand-in. */
let second: TestRegistry;
let apiUpstream: TestRegistry;
let api: ReferrersApiStandIn;
let azurite: AzuriteInstance;
let blobService: BlobServiceClient;

before(async () => {
  [registry, second, apiUpstream, azurite] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry(),
    startAzurite(),
  ]);
  api = await startReferrersApi(apiUpstream.host);
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await api?.stop();
  await Promise.all([registry?.stop(), second?.stop(), apiUpstream?.stop(), azurite?.stop()]);
});

interface WorkerResult {
  status: string;
  digest: string;
  archiveBlob: string;
  sidecarBlob: string;
  sha256: string;
}

async function archive(image: string, container = "images", extra: Record<string, string> = {}, tags?: string[]) {
  const run = await runWorker({
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARCHIVE_REQUEST: JSON.stringify({ image, blobContainer: container, ...(tags && { tags }) }),
    ...extra,
  });
  return { ...run, result: run.code === 0 ? (JSON.parse(run.stdout) as WorkerResult) : undefined };
}

async function archived(image: string, container = "images", extra: Record<string, string> = {}, tags?: string[]) {
  const run = await archive(image, container, extra, tags);
  assert.equal(run.code, 0, `worker failed: ${run.stderr}`);
  return run.result!;
}

async function readSidecar(name: string, container = "images") {
  const bytes = await blobService.getContainerClient(container).getBlockBlobClient(name).downloadToBuffer();
  return JSON.parse(bytes.toString("utf8")) as {
    referrers: {
      digest: string;
      artifactType?: string;
      subject: string;
      source: string;
      tag?: string;
      depth: number;
      annotations?: Record<string, string>;
      signatures?: { signature: string }[];
    }[];
    referrersIndex?: string;
    blobs: { count: number };
  };
}

/** Every entry of a .tar.gz, whole (tar-stream: an independent reader). */
async function entries(path: string): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  createReadStream(path)
    .pipe(zlib.createGunzip())
    .pipe(extract as unknown as NodeJS.WritableStream);
  const out = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.type === "file") out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

const blob = (files: Map<string, Buffer>, digest: string) => files.get(`blobs/sha256/${digest.slice(7)}`);
const json = (bytes: Buffer | undefined) => JSON.parse(bytes!.toString("utf8")) as Record<string, unknown>;
const loadedNames = (podmanOutput: string) =>
  [...podmanOutput.matchAll(/^Loaded image(?:\(s\))?: (.+)$/gm)].flatMap((m) => m[1]!.split(",").map((s) => s.trim()));

/** The archive holds each referrer's manifest (its bytes as pushed) and every blob, each under its own digest. */
function assertHolds(files: Map<string, Buffer>, referrer: PushedReferrer) {
  assert.ok(blob(files, referrer.descriptor.digest)?.equals(referrer.bytes), `${referrer.descriptor.digest} as pushed`);
  for (const b of referrer.blobs) {
    const bytes = blob(files, b.digest);
    assert.ok(bytes, `blob ${b.digest} of ${referrer.descriptor.digest} is in the archive`);
    assert.equal(`sha256:${createHash("sha256").update(bytes).digest("hex")}`, b.digest);
  }
}

test("a signed image with an SBOM and a signature of that SBOM: one archive holds them, the sidecar lists them, podman loads the image alone", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "signed/app:1.0", smallImage("signed"));
  const subject = (await client.getManifest("signed/app", image.digest)).descriptor;
  const signature = await pushReferrer(client, "signed/app", cosignSignature(image.digest, "release@example.com"));
  const sbom = await pushReferrer(
    client,
    "signed/app",
    artifactOf(subject, ArtifactTypes.sbom, '{"spdxVersion":"2.3"}'),
  );
  await putTagSchemaIndex(client, "signed/app", image.digest, [sbom.descriptor]);
  const sbomSignature = await pushReferrer(client, "signed/app", cosignSignature(sbom.descriptor.digest, "sbom@x"));

  const result = await archived(`${registry.host}/signed/app:1.0`);
  assert.equal(result.status, "archived");
  assert.equal(result.digest, image.digest, "the image's digest is unchanged");

  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  try {
    const files = await entries(restored.path);
    const index = json(files.get("index.json")) as {
      manifests: Descriptor[];
      annotations?: Record<string, string>;
    };
    // index.json's entries are the image's alone, exactly as without referrers; one annotation names their index.
    assert.deepEqual(index.manifests, [
      {
        mediaType: subject.mediaType,
        digest: image.digest,
        size: subject.size,
        annotations: {
          [Annotations.containerdImageName]: `${registry.host}/signed/app:1.0`,
          [Annotations.refName]: "1.0",
        },
      },
    ]);
    const referrersIndex = index.annotations?.[Annotations.referrersIndex];
    assert.ok(referrersIndex, "index.json names the archive's index of referrers");
    const listed = json(blob(files, referrersIndex)) as { mediaType: string; manifests: Descriptor[] };
    assert.equal(listed.mediaType, "application/vnd.oci.image.index.v1+json");
    assert.deepEqual(
      listed.manifests.map((d) => [
        d.digest,
        d.artifactType,
        d.annotations?.[Annotations.referrerSubject],
        d.annotations?.[Annotations.referrerTag],
      ]),
      [
        [sbom.descriptor.digest, ArtifactTypes.sbom, image.digest, undefined],
        [
          signature.descriptor.digest,
          "application/vnd.oci.image.config.v1+json",
          image.digest,
          `${image.digest.replace(":", "-")}.sig`,
        ],
        [
          sbomSignature.descriptor.digest,
          "application/vnd.oci.image.config.v1+json",
          sbom.descriptor.digest,
          `${sbom.descriptor.digest.replace(":", "-")}.sig`,
        ],
      ],
    );
    for (const referrer of [signature, sbom, sbomSignature]) assertHolds(files, referrer);

    const sidecar = await readSidecar(result.sidecarBlob);
    assert.equal(sidecar.referrersIndex, referrersIndex);
    assert.deepEqual(
      sidecar.referrers.map((r) => [r.digest, r.artifactType, r.subject, r.source, r.depth]),
      [
        [sbom.descriptor.digest, ArtifactTypes.sbom, image.digest, "tag-schema", 1],
        [signature.descriptor.digest, "application/vnd.oci.image.config.v1+json", image.digest, "cosign-tag", 1],
        [
          sbomSignature.descriptor.digest,
          "application/vnd.oci.image.config.v1+json",
          sbom.descriptor.digest,
          "cosign-tag",
          2,
        ],
      ],
    );
    assert.deepEqual(sidecar.referrers[0]!.annotations, { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" });
    assert.equal(
      sidecar.referrers[1]!.signatures?.[0]?.signature,
      Buffer.from(`signature-of-${image.digest}-by-release@example.com`).toString("base64"),
    );

    // podman: exactly the image, under its tag; no referrer shows up as an image.
    assert.deepEqual(loadedNames(await podmanLoad(restored.path)), [`${registry.host}/signed/app:1.0`]);
  } finally {
    await removeDir(restored.dir);
  }
});

test("an SBOM and an attestation on one platform of a multi-arch index are archived with it; podman loads the image with both tags", async () => {
  const client = new RegistryClient(registry.host);
  const spec = [
    { ...smallImage("amd64"), platform: { os: "linux", architecture: "amd64" } },
    { ...smallImage("arm64"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ];
  const image = await pushImage(registry.host, "signed/multi:1", spec);
  await pushImage(registry.host, "signed/multi:stable", spec);
  const arm = (json((await client.getManifest("signed/multi", image.digest)).bytes).manifests as Descriptor[])[1]!;
  const sbom = await pushReferrer(client, "signed/multi", artifactOf(arm, ArtifactTypes.sbom, '{"arm":true}'));
  const attestation = await pushReferrer(client, "signed/multi", artifactOf(arm, ArtifactTypes.attestation, "{}"));
  await putTagSchemaIndex(client, "signed/multi", arm.digest, [sbom.descriptor, attestation.descriptor]);

  const result = await archived(`${registry.host}/signed/multi:1`, "images", {}, ["stable"]);
  const sidecar = await readSidecar(result.sidecarBlob);
  assert.deepEqual(
    sidecar.referrers.map((r) => [r.digest, r.artifactType, r.subject]),
    [
      [sbom.descriptor.digest, ArtifactTypes.sbom, arm.digest],
      [attestation.descriptor.digest, ArtifactTypes.attestation, arm.digest],
    ],
  );
  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  try {
    const files = await entries(restored.path);
    for (const referrer of [sbom, attestation]) assertHolds(files, referrer);
    const index = json(files.get("index.json")) as { manifests: Descriptor[] };
    assert.deepEqual(
      index.manifests.map((m) => [m.digest, m.annotations?.[Annotations.refName]]),
      [
        [image.digest, "1"],
        [image.digest, "stable"],
      ],
    );
    assert.deepEqual(loadedNames(await podmanLoad(restored.path)).sort(), [
      `${registry.host}/signed/multi:1`,
      `${registry.host}/signed/multi:stable`,
    ]);
  } finally {
    await removeDir(restored.dir);
  }
});

test("an index referrer (an SBOM per platform, one index) is archived with its manifests and restored with the same digests", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "signed/sboms:1", smallImage("sboms"));
  const subject = (await client.getManifest("signed/sboms", image.digest)).descriptor;
  // Two SBOM manifests (no subject of their own) listed by one index whose subject is the image.
  const perPlatform = [];
  for (const arch of ["amd64", "arm64"])
    perPlatform.push(
      await pushReferrer(client, "signed/sboms", {
        artifactType: ArtifactTypes.sbom,
        layers: [{ mediaType: ArtifactTypes.sbom, data: Buffer.from(`{"arch":"${arch}"}`) }],
      }),
    );
  const indexBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      artifactType: ArtifactTypes.sbom,
      manifests: perPlatform.map((p) => p.descriptor),
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const indexDigest = `sha256:${createHash("sha256").update(indexBytes).digest("hex")}`;
  await client.putManifest("signed/sboms", indexDigest, MediaTypes.ociIndex, indexBytes);
  const indexDescriptor = {
    mediaType: MediaTypes.ociIndex,
    digest: indexDigest,
    size: indexBytes.length,
    artifactType: ArtifactTypes.sbom,
  };
  await putTagSchemaIndex(client, "signed/sboms", image.digest, [indexDescriptor]);

  const result = await archived(`${registry.host}/signed/sboms:1`);
  const sidecar = await readSidecar(result.sidecarBlob);
  assert.deepEqual(
    sidecar.referrers.map((r) => [r.digest, r.artifactType, r.subject]),
    [[indexDigest, ArtifactTypes.sbom, image.digest]],
  );
  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  try {
    const files = await entries(restored.path);
    assert.ok(blob(files, indexDigest)?.equals(indexBytes), "the index referrer's bytes as pushed");
    for (const manifest of perPlatform) assertHolds(files, manifest);
    assert.deepEqual(loadedNames(await podmanLoad(restored.path)), [`${registry.host}/signed/sboms:1`]);

    const run = await runCli(["restore", restored.path, `${second.host}/signed/sboms`], {});
    assert.equal(run.code, 0, run.stderr);
    const target = new RegistryClient(second.host);
    const there = await discoverReferrers(target, "signed/sboms", [image.digest]);
    assert.deepEqual(
      there.referrers.map((r) => [r.descriptor.digest, r.children?.map((c) => c.descriptor.digest)]),
      [[indexDigest, perPlatform.map((p) => p.descriptor.digest)]],
    );
  } finally {
    await removeDir(restored.dir);
  }
});

test("an image without referrers: the archive's bytes are those written with the referrer lookup off", async () => {
  await pushImage(registry.host, "plain/app:1", smallImage("plain"));
  const looked = await archived(`${registry.host}/plain/app:1`, "with-lookup");
  const off = await archived(`${registry.host}/plain/app:1`, "without-lookup", { REFERRERS_MAX_DEPTH: "0" });
  assert.equal(looked.sha256, off.sha256);
  const restored = await restoreArchive(azurite.connectionString, "with-lookup", looked.archiveBlob);
  try {
    const index = json((await entries(restored.path)).get("index.json"));
    assert.equal(index.annotations, undefined, "no referrers: index.json as before");
  } finally {
    await removeDir(restored.dir);
  }
  assert.deepEqual((await readSidecar(looked.sidecarBlob, "with-lookup")).referrers, []);
});

test("a cyclic referrer graph fails that image with REFERRER_GRAPH_INVALID and commits nothing", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "cyclic/app:1", smallImage("cyclic"));
  const signature = await pushReferrer(client, "cyclic/app", cosignSignature(image.digest));
  // The signature's own cosign tag names the image: image → signature → image.
  const bytes = (await client.getManifest("cyclic/app", image.digest)).bytes;
  const tag = `${signature.descriptor.digest.replace(":", "-")}.sig`;
  await client.putManifest("cyclic/app", tag, "application/vnd.oci.image.manifest.v1+json", bytes);

  const run = await archive(`${registry.host}/cyclic/app:1`, "cyclic");
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /REFERRER_GRAPH_INVALID: .*a cycle/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "one line, no stack trace");
  const names: string[] = [];
  for await (const item of blobService.getContainerClient("cyclic").listBlobsFlat()) names.push(item.name);
  assert.deepEqual(names, [], "no archive, no sidecar");
});

/** An index referrer of `subject` (listed by the tag schema) whose one SBOM manifest names `childSubject` as its subject. */
async function pushIndexReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  childSubject: Descriptor,
) {
  const child = await pushReferrer(
    client,
    repository,
    artifactOf(childSubject, ArtifactTypes.sbom, '{"arch":"amd64"}'),
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      artifactType: ArtifactTypes.sbom,
      manifests: [child.descriptor],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  await client.putManifest(repository, digest, MediaTypes.ociIndex, bytes);
  const descriptor = { mediaType: MediaTypes.ociIndex, digest, size: bytes.length, artifactType: ArtifactTypes.sbom };
  await putTagSchemaIndex(client, repository, subject.digest, [descriptor]);
  return { index: digest, child: child.descriptor.digest };
}

test("an index referrer whose manifest names another image as its subject fails the archive with REFERRER_GRAPH_INVALID and commits nothing (guards issue 21.3)", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "foreign/app:1", smallImage("foreign-child"));
  const other = await pushImage(registry.host, "foreign/app:other", smallImage("foreign-other"));
  const subject = (await client.getManifest("foreign/app", image.digest)).descriptor;
  const otherSubject = (await client.getManifest("foreign/app", other.digest)).descriptor;
  const pushed = await pushIndexReferrer(client, "foreign/app", subject, otherSubject);

  const run = await archive(`${registry.host}/foreign/app:1`, "foreign-child");
  assert.equal(run.code, 1, run.stdout);
  assert.match(
    run.stderr,
    new RegExp(
      `REFERRER_GRAPH_INVALID: manifest ${pushed.child} of index referrer ${pushed.index} in foreign/app: its subject ${other.digest} is neither the image nor one of its referrers`,
    ),
  );
  const names: string[] = [];
  for await (const item of blobService.getContainerClient("foreign-child").listBlobsFlat()) names.push(item.name);
  assert.deepEqual(names, [], "no archive, no sidecar");
});

test("restore refuses an archive whose index referrer lists a manifest with another image as its subject, before any manifest is pushed (guards issue 21.3)", async () => {
  // The target has the referrers API: had the forged manifest been pushed, it would list it as the other image's SBOM.
  const target = new RegistryClient(api.host);
  const other = await pushImage(api.host, "forged/app:other", smallImage("forged-other"));
  const otherSubject = (await target.getManifest("forged/app", other.digest)).descriptor;
  const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
  const describe = (mediaType: string, data: Buffer) => ({ mediaType, digest: sha(data), size: data.length });
  const config = bytes({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const layer = zlib.gzipSync(Buffer.from("not really a tar"));
  const image = bytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: describe(MediaTypes.ociConfig, config),
    layers: [describe("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
  });
  const empty = Buffer.from("{}");
  const sbom = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
  const child = bytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: ArtifactTypes.sbom,
    config: describe("application/vnd.oci.empty.v1+json", empty),
    layers: [describe(ArtifactTypes.sbom, sbom)],
    subject: { mediaType: otherSubject.mediaType, digest: otherSubject.digest, size: otherSubject.size },
  });
  const indexReferrer = bytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    artifactType: ArtifactTypes.sbom,
    manifests: [describe(MediaTypes.ociManifest, child)],
    subject: describe(MediaTypes.ociManifest, image),
  });
  const referrersIndex = bytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      {
        ...describe(MediaTypes.ociIndex, indexReferrer),
        artifactType: ArtifactTypes.sbom,
        annotations: { [Annotations.referrerSubject]: sha(image), [Annotations.referrerSource]: "tag-schema" },
      },
    ],
  });
  const indexJson = bytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [{ ...describe(MediaTypes.ociManifest, image), annotations: { [Annotations.refName]: "1" } }],
    annotations: { [Annotations.referrersIndex]: sha(referrersIndex) },
  });
  // As this tool writes an archive: index.json, the manifests parents first, then the other blobs.
  const pack = tar.pack();
  pack.entry({ name: "oci-layout" }, '{"imageLayoutVersion":"1.0.0"}');
  pack.entry({ name: "index.json" }, indexJson);
  for (const blob of [image, referrersIndex, indexReferrer, child, config, layer, empty, sbom])
    pack.entry({ name: `blobs/sha256/${sha(blob).slice(7)}` }, blob);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const dir = await mkdtemp(join(tmpdir(), "forged-"));
  try {
    const file = join(dir, "forged.tar.gz");
    await writeFile(file, zlib.gzipSync(Buffer.concat(chunks)));
    const run = await runCli(["restore", file, `${api.host}/forged/app`], {});
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stderr,
      new RegExp(
        `REFERRER_GRAPH_INVALID: manifest ${sha(child)}, listed by referrer ${sha(indexReferrer)} in ${file}: its subject ${other.digest} is neither the image nor one of its referrers`,
      ),
    );
    for (const manifest of [child, indexReferrer, image])
      assert.equal(await target.getManifestDigest("forged/app", sha(manifest)), undefined, "no manifest pushed");
    assert.equal(await target.getManifestDigest("forged/app", "1"), undefined, "no tag pushed");
    const listed = await discoverReferrers(target, "forged/app", [other.digest]);
    assert.deepEqual(listed.referrers, [], "the other image has no referrer");
  } finally {
    await removeDir(dir);
  }
});

test("round trip: archive → restore into a second registry (tag schema) and into one with the referrers API: the same referrers, the same digests", async () => {
  const client = new RegistryClient(registry.host);
  const spec = [
    { ...smallImage("rt-amd64"), platform: { os: "linux", architecture: "amd64" } },
    { ...smallImage("rt-arm64"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ];
  const image = await pushImage(registry.host, "rt/app:2", spec);
  const rootBytes = (await client.getManifest("rt/app", image.digest)).bytes;
  const root = (await client.getManifest("rt/app", image.digest)).descriptor;
  const arm = (json(rootBytes).manifests as Descriptor[])[1]!;
  const signature = await pushReferrer(client, "rt/app", cosignSignature(image.digest));
  const sbom = await pushReferrer(client, "rt/app", artifactOf(root, ArtifactTypes.sbom, '{"spdx":"root"}'));
  const attestation = await pushReferrer(client, "rt/app", artifactOf(arm, ArtifactTypes.attestation, '{"arm":1}'));
  const sbomSignature = await pushReferrer(client, "rt/app", artifactOf(sbom.descriptor, ArtifactTypes.signature, "s"));
  await putTagSchemaIndex(client, "rt/app", image.digest, [sbom.descriptor]);
  await putTagSchemaIndex(client, "rt/app", arm.digest, [attestation.descriptor]);
  await putTagSchemaIndex(client, "rt/app", sbom.descriptor.digest, [sbomSignature.descriptor]);
  const subjects = [image.digest, ...(json(rootBytes).manifests as Descriptor[]).map((m) => m.digest)];
  const source = await discoverReferrers(client, "rt/app", subjects);
  const expected = source.referrers.map((r) => [r.descriptor.digest, r.subject, r.descriptor.artifactType, r.tag]);
  assert.deepEqual(
    expected.map((e) => e[0]).sort(),
    [signature, sbom, attestation, sbomSignature].map((r) => r.descriptor.digest).sort(),
  );

  const result = await archived(`${registry.host}/rt/app:2`);
  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  try {
    // Debian's registry has no referrers API: the restore writes the tag schema's sha256-<hex> indexes.
    const run = await runCli(["restore", restored.path, `${second.host}/rt/app`, "--json"], {});
    assert.equal(run.code, 0, run.stderr);
    const restoredResult = JSON.parse(run.stdout) as {
      digest: string;
      tags: string[];
      referrers: number;
      referrersListedBy: string;
    };
    assert.equal(restoredResult.digest, image.digest);
    assert.deepEqual(restoredResult.tags, ["2"]);
    assert.equal(restoredResult.referrers, 4);
    assert.equal(restoredResult.referrersListedBy, "tag-schema");
    const target = new RegistryClient(second.host);
    const there = await discoverReferrers(target, "rt/app", subjects);
    assert.equal(there.referrersApi, false);
    assert.deepEqual(
      there.referrers.map((r) => [r.descriptor.digest, r.subject, r.descriptor.artifactType, r.tag]),
      expected,
      "the second registry lists the same referrers, with the same digests",
    );
    for (const r of there.referrers)
      assert.ok(r.bytes.equals(source.referrers.find((s) => s.descriptor.digest === r.descriptor.digest)!.bytes));
    // A second restore finds every referrer listed already and writes nothing new.
    const again = await runCli(["restore", restored.path, `${second.host}/rt/app`, "--json"], {});
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      (await discoverReferrers(target, "rt/app", subjects)).referrers.map((r) => r.descriptor.digest),
      expected.map((e) => e[0]),
    );

    // A registry with the referrers API indexes each referrer as it is pushed (OCI-Subject): no tag schema index.
    const viaApi = await runCli(["restore", restored.path, `${api.host}/rt/app`, "--json"], {});
    assert.equal(viaApi.code, 0, viaApi.stderr);
    assert.equal((JSON.parse(viaApi.stdout) as { referrersListedBy: string }).referrersListedBy, "referrers-api");
    const apiClient = new RegistryClient(api.host);
    const listed = await discoverReferrers(apiClient, "rt/app", subjects);
    assert.equal(listed.referrersApi, true);
    assert.deepEqual(
      listed.referrers.map((r) => r.descriptor.digest).sort(),
      expected.map((e) => e[0]).sort(),
      "the referrers API lists the same digests",
    );
    assert.equal(await apiClient.findManifest("rt/app", image.digest.replace(":", "-")), undefined);
  } finally {
    await removeDir(restored.dir);
  }
});

test("referrers that arrive later: refreshReferrers archives the new ones as a supplement per set, records it in the sidecar, and a re-run with none new writes nothing", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "late/app:1", smallImage("late"));
  const subject = (await client.getManifest("late/app", image.digest)).descriptor;
  const first = await archived(`${registry.host}/late/app:1`, "late");
  assert.deepEqual((await readSidecar(first.sidecarBlob, "late")).referrers, []);
  const container = blobService.getContainerClient("late");
  const archiveEtag = (await container.getBlockBlobClient(first.archiveBlob).getProperties()).etag;
  const refresh = {
    ARCHIVE_REQUEST: JSON.stringify({
      image: `${registry.host}/late/app:1`,
      blobContainer: "late",
      refreshReferrers: true,
    }),
  };

  // A signature and an SBOM arrive after the archive.
  const signature = await pushReferrer(client, "late/app", cosignSignature(image.digest, "late@example.com"));
  const sbom = await pushReferrer(client, "late/app", artifactOf(subject, ArtifactTypes.sbom, '{"late":1}'));
  await putTagSchemaIndex(client, "late/app", image.digest, [sbom.descriptor]);
  const run1 = await runWorker({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ...refresh });
  assert.equal(run1.code, 0, run1.stderr);
  const result1 = JSON.parse(run1.stdout) as WorkerResult & { newReferrers: number; referrersSupplementBlob: string };
  assert.equal(result1.status, "already-archived");
  assert.equal(result1.newReferrers, 2);
  assert.match(result1.referrersSupplementBlob, /@sha256-[a-f0-9]{64}\.referrers-sha256-[a-f0-9]{64}\.tar\.gz$/);
  assert.equal(
    (await container.getBlockBlobClient(result1.referrersSupplementBlob).getProperties()).accessTier,
    "Archive",
  );
  assert.equal(
    (await container.getBlockBlobClient(first.archiveBlob).getProperties()).etag,
    archiveEtag,
    "the archive is never rewritten",
  );
  // The supplement is indexed like an archive, as a supplement of the image (guards issue 25.1).
  const supplementTags = (await container.getBlockBlobClient(result1.referrersSupplementBlob).getTags()).tags;
  const supplementSize = (await container.getBlockBlobClient(result1.referrersSupplementBlob).getProperties())
    .contentLength!;
  assert.deepEqual(
    [supplementTags.kind, supplementTags.repository, supplementTags.digest, supplementTags.tag, supplementTags.run],
    ["supplement", "late/app", image.digest, "1", "cli"],
  );
  assert.equal(Number(supplementTags.bytes), supplementSize);
  const sidecar1 = (await readSidecar(first.sidecarBlob, "late")) as Awaited<ReturnType<typeof readSidecar>> & {
    supplements: { archiveBlob: string; referrers: { digest: string }[] }[];
  };
  assert.deepEqual(sidecar1.referrers, [], "the archive's own referrers: still none");
  assert.deepEqual(
    sidecar1.supplements.map((s) => [s.archiveBlob, s.referrers.map((r) => r.digest)]),
    [[result1.referrersSupplementBlob, [sbom.descriptor.digest, signature.descriptor.digest]]],
  );

  // Nothing new: no supplement, the sidecar untouched.
  const sidecarEtag = (await container.getBlockBlobClient(first.sidecarBlob).getProperties()).etag;
  const run2 = await runWorker({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ...refresh });
  assert.equal(run2.code, 0, run2.stderr);
  assert.equal((JSON.parse(run2.stdout) as { newReferrers: number }).newReferrers, 0);
  assert.equal((await container.getBlockBlobClient(first.sidecarBlob).getProperties()).etag, sidecarEtag);

  // A signature of the SBOM (its subject an older referrer) arrives: a second supplement with it alone.
  const sbomSignature = await pushReferrer(client, "late/app", cosignSignature(sbom.descriptor.digest, "sbom@x"));
  const run3 = await runWorker({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ...refresh });
  assert.equal(run3.code, 0, run3.stderr);
  const result3 = JSON.parse(run3.stdout) as { newReferrers: number; referrersSupplementBlob: string };
  assert.equal(result3.newReferrers, 1);
  const sidecar3 = (await readSidecar(first.sidecarBlob, "late")) as unknown as {
    supplements: { archiveBlob: string; referrers: { digest: string }[] }[];
  };
  assert.deepEqual(
    sidecar3.supplements.map((s) => s.referrers.map((r) => r.digest)),
    [[sbom.descriptor.digest, signature.descriptor.digest], [sbomSignature.descriptor.digest]],
  );

  // The supplement holds the new referrer's blobs only (the others are in the archive or the first supplement).
  const second3 = await restoreArchive(azurite.connectionString, "late", result3.referrersSupplementBlob);
  const main = await restoreArchive(azurite.connectionString, "late", first.archiveBlob);
  const supplement1 = await restoreArchive(azurite.connectionString, "late", result1.referrersSupplementBlob);
  try {
    const files = await entries(second3.path);
    assert.equal(files.has("manifest.json"), false, "a supplement is not loadable");
    assert.ok(blob(files, sbomSignature.descriptor.digest)?.equals(sbomSignature.bytes));
    const older = [...sbom.blobs, ...signature.blobs].map((b) => b.digest);
    const fresh = sbomSignature.blobs.filter((b) => !older.includes(b.digest));
    assert.ok(fresh.length > 0);
    for (const b of fresh) assert.ok(blob(files, b.digest), `${b.digest} of the new signature is in the supplement`);
    for (const digest of older) assert.equal(blob(files, digest), undefined, `${digest} is not archived twice`);

    // Restore: the archive, then its supplements in order; the target lists every referrer with the same digests.
    for (const path of [main.path, supplement1.path, second3.path]) {
      const run = await runCli(["restore", path, `${second.host}/late/app`], {});
      assert.equal(run.code, 0, run.stderr);
    }
    const there = await discoverReferrers(new RegistryClient(second.host), "late/app", [image.digest]);
    assert.deepEqual(
      there.referrers.map((r) => r.descriptor.digest).sort(),
      [signature, sbom, sbomSignature].map((r) => r.descriptor.digest).sort(),
    );

    // `restore --from-blob` does the same from storage: the archive and the supplements its sidecar records, each
    // rehydrated by copy, pushed in order (here into a registry with the referrers API).
    const fromBlob = await runCli(
      ["restore", "--from-blob", first.archiveBlob, `${api.host}/late/app`, "--container", "late", "--wait", "--json"],
      { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
    );
    assert.equal(fromBlob.code, 0, fromBlob.stderr);
    assert.equal((JSON.parse(fromBlob.stdout) as { supplements?: number }).supplements, 2);
    const viaApi = await discoverReferrers(new RegistryClient(api.host), "late/app", [image.digest]);
    assert.equal(viaApi.referrersApi, true);
    assert.deepEqual(
      viaApi.referrers.map((r) => r.descriptor.digest).sort(),
      [signature, sbom, sbomSignature].map((r) => r.descriptor.digest).sort(),
    );
    for (const name of [first.archiveBlob, result1.referrersSupplementBlob, result3.referrersSupplementBlob])
      assert.equal(await container.getBlockBlobClient(`staging/${name}`).exists(), false, `staging/${name} deleted`);
  } finally {
    await Promise.all([second3, main, supplement1].map((r) => removeDir(r.dir)));
  }
});

test("a plain registry's listing (tags/list) leaves referrer tags out: the tag schema index and cosign tags are no images", async () => {
  const client = new RegistryClient(registry.host);
  const image = await pushImage(registry.host, "listed/app:1.0", smallImage("listed"));
  const subject = (await client.getManifest("listed/app", image.digest)).descriptor;
  await pushReferrer(client, "listed/app", cosignSignature(image.digest));
  const sbom = await pushReferrer(client, "listed/app", artifactOf(subject, ArtifactTypes.sbom, "{}"));
  await putTagSchemaIndex(client, "listed/app", image.digest, [sbom.descriptor]);
  const tags: string[] = [];
  for await (const tag of client.listTags("listed/app")) tags.push(tag);
  assert.equal(tags.length, 3, `the registry lists the referrer tags: ${tags.join(" ")}`);
  const items = await listSelectedImages(client, { repositories: ["listed/*"], includeUntagged: false }, new Date());
  assert.deepEqual(
    items.map((i) => [i.repository, i.digest, i.tags]),
    [["listed/app", image.digest, ["1.0"]]],
  );
});
