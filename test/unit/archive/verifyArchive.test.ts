// verifyImageArchive (src/archive/verifyArchive.ts): a restore's reading and graph check with nothing pushed. A whole
// multi-arch archive (one layer larger than any manifest, so it streams) verifies; each kind of damage fails as a
// restore would fail before its first manifest.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { verifyImageArchive } from "../../../src/archive/verifyArchive.js";
import { MediaTypes } from "../../../src/registry/types.js";

const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const describe = (bytes: Buffer, mediaType: string, extra: object = {}) => ({
  mediaType,
  digest: sha(bytes),
  size: bytes.length,
  ...extra,
});

const bigLayer = randomBytes(5 * 1024 * 1024); // past MAX_MANIFEST_BYTES: streamed, never held
const smallLayer = Buffer.from("a small layer");
const configs = ["amd64", "arm64"].map((architecture) => json({ architecture, os: "linux", rootfs: {} }));
const platforms = configs.map((config, i) =>
  json({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: describe(config, MediaTypes.ociConfig),
    layers: [describe(i === 0 ? bigLayer : smallLayer, MediaTypes.ociLayerGzip)],
  }),
);
const index = json({
  schemaVersion: 2,
  mediaType: MediaTypes.ociIndex,
  manifests: platforms.map((m, i) =>
    describe(m, MediaTypes.ociManifest, { platform: { os: "linux", architecture: ["amd64", "arm64"][i] } }),
  ),
});
const blob = (bytes: Buffer) => ({ name: `blobs/sha256/${sha(bytes).slice(7)}`, body: bytes });

const IMAGE = "registry.example/team/app";
const tagged = (tag: string) => ({
  "org.opencontainers.image.ref.name": tag,
  "io.containerd.image.name": `${IMAGE}:${tag}`,
});
/** manifest.json as the writer makes it for this index: linux/amd64's config and layer, the tags' image names. */
const dockerManifest = (over: Record<string, unknown> = {}) =>
  json([
    {
      Config: blob(configs[0]!).name,
      RepoTags: [`${IMAGE}:1`, `${IMAGE}:latest`],
      Layers: [blob(bigLayer).name],
      ...over,
    },
  ]);

function entries(
  overrides: { omit?: Buffer; replace?: [Buffer, Buffer]; manifestJson?: Buffer; tags?: string[] } = {},
) {
  const annotations = overrides.tags ? overrides.tags.map(tagged) : [{ "org.opencontainers.image.ref.name": "1" }];
  const all = [
    { name: "oci-layout", body: json({ imageLayoutVersion: "1.0.0" }) },
    {
      name: "index.json",
      body: json({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: annotations.map((a) => describe(index, MediaTypes.ociIndex, { annotations: a })),
      }),
    },
    ...(overrides.manifestJson ? [{ name: "manifest.json", body: overrides.manifestJson }] : []),
    ...[index, ...platforms, ...configs, bigLayer, smallLayer].filter((b) => b !== overrides.omit).map(blob),
  ];
  const [from, to] = overrides.replace ?? [];
  return all.map((e) => (from && e.body === from ? { name: e.name, body: to! } : e));
}

async function archiveOf(list: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of list) pack.entry({ name: entry.name, size: entry.body.length }, entry.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

const verify = (archive: Buffer, options = {}) =>
  verifyImageArchive(Readable.from([archive]), { name: "x.tar.gz", ...options });
const failsWith = (code: string, message: RegExp) => (error: Error & { code?: string }) => {
  assert.equal(error.code, code, error.message);
  assert.match(error.message, message);
  return true;
};

test("a whole archive verifies without a registry: its root, tags, manifests, blobs and sha256 (issue 23.1's read-back)", async () => {
  const archive = await archiveOf(entries());
  const sha256 = createHash("sha256").update(archive).digest("hex");
  const verified = await verify(archive, { archiveSha256: sha256, expectedDigest: sha(index) });
  assert.deepEqual(verified, {
    digest: sha(index),
    mediaType: MediaTypes.ociIndex,
    sha256,
    tags: ["1"],
    manifests: 3,
    referrers: 0,
    blobs: 4,
    bytes: configs[0]!.length + configs[1]!.length + bigLayer.length + smallLayer.length,
    externalLayers: 0,
    dockerManifest: false,
  });
});

test("each damage fails as a restore would before its first manifest: bytes, a missing part, the sidecar's facts, gzip", async () => {
  // The streamed layer's bytes changed (same size): the reader hashes what the sink did not read.
  const flipped = Buffer.from(bigLayer);
  flipped[flipped.length - 1]! ^= 0xff;
  await assert.rejects(
    verify(await archiveOf(entries({ replace: [bigLayer, flipped] }))),
    failsWith("DIGEST_MISMATCH", /the archive is damaged/),
  );
  await assert.rejects(
    verify(await archiveOf(entries({ omit: platforms[1]! }))),
    failsWith("ARCHIVE_INVALID", new RegExp(`lacks manifest ${sha(platforms[1]!)}`)),
  );
  await assert.rejects(
    verify(await archiveOf(entries({ omit: configs[0]! }))),
    failsWith(
      "ARCHIVE_INVALID",
      new RegExp(`lacks blob ${sha(configs[0]!)}, listed by manifest ${sha(platforms[0]!)}$`),
    ),
  );
  const whole = await archiveOf(entries());
  await assert.rejects(
    verify(whole, { archiveSha256: "0".repeat(64) }),
    failsWith("DIGEST_MISMATCH", /its sidecar says 0+/),
  );
  await assert.rejects(
    verify(whole, { expectedDigest: sha(platforms[0]!) }),
    failsWith("DIGEST_MISMATCH", /not sha256:.* as its sidecar says/),
  );
  await assert.rejects(
    verify(whole.subarray(0, whole.length - 100)),
    failsWith("ARCHIVE_INVALID", /is damaged or truncated|is truncated/),
  );
});

test("manifest.json is checked as the writer makes it: there when the format says, the default platform's Config and Layers, index.json's RepoTags (guards issue 23.1)", async () => {
  const tags = ["1", "latest"];
  const source = { registry: "registry.example", repository: "team/app" };
  const loadable = { expectedFormat: "oci-layout+docker-archive", source } as const;
  const good = await archiveOf(entries({ tags, manifestJson: dockerManifest() }));
  assert.equal((await verify(good, loadable)).dockerManifest, true);
  // Absent though the format says docker-loadable; present though it says OCI layout only.
  await assert.rejects(
    verify(await archiveOf(entries({ tags })), loadable),
    failsWith("ARCHIVE_INVALID", /has no manifest.json, but its format is oci-layout\+docker-archive/),
  );
  await assert.rejects(
    verify(good, { expectedFormat: "oci-layout" }),
    failsWith("ARCHIVE_INVALID", /has a manifest.json, but its format is oci-layout$/),
  );
  // Another platform's config, another layer list, other tags, not JSON, not one entry.
  const damaged: [Buffer, RegExp][] = [
    [dockerManifest({ Config: blob(configs[1]!).name }), /names Config .* not .*\(the default platform's\)/],
    [dockerManifest({ Layers: [blob(smallLayer).name] }), /lists other Layers than the default platform's/],
    [dockerManifest({ Layers: [] }), /lists other Layers/],
    [dockerManifest({ RepoTags: [`${IMAGE}:1`] }), /names RepoTags .*, index.json/],
    [dockerManifest({ RepoTags: [`${IMAGE}:latest`, `${IMAGE}:1`] }), /names RepoTags/],
    [Buffer.from("[{"), /manifest.json is not JSON/],
    [json([]), /is not one entry of \{Config, RepoTags, Layers\}/],
    [json({ Config: "x", RepoTags: [], Layers: [] }), /is not one entry/],
  ];
  for (const [manifestJson, message] of damaged)
    await assert.rejects(
      verify(await archiveOf(entries({ tags, manifestJson })), loadable),
      failsWith("ARCHIVE_INVALID", message),
    );
  // index.json naming another image than the one archived.
  await assert.rejects(
    verify(good, { ...loadable, source: { ...source, repository: "team/other" } }),
    failsWith(
      "ARCHIVE_INVALID",
      /index.json names registry.example\/team\/app:1 for 1, not registry.example\/team\/other:1/,
    ),
  );
});
