// restoreImageArchive on archives that are not what they claim, before any registry is contacted: an index.json that
// is not JSON, or one larger than any index, is refused in words (never a SyntaxError, never read whole).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { test } from "node:test";
import tar from "tar-stream";
import { restoreImageArchive } from "../../../src/archive/restoreArchive.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";

async function archiveOf(entries: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) pack.entry({ name: entry.name, size: entry.body.length }, entry.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

// Never contacted: each case fails before a push (port 9 is discard, nothing listens).
const client = new RegistryClient("127.0.0.1:9");

test("an index.json that is not JSON is INVALID_ARGUMENT in words (guards issue 8.14)", async () => {
  const archive = await archiveOf([
    { name: "oci-layout", body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: "index.json", body: Buffer.from("{ not json") },
  ]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), client, "team/app", { name: "x.tar.gz" }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.equal(error.message, "x.tar.gz: index.json is not JSON: it is not an OCI image layout this tool wrote");
      return true;
    },
  );
});

test("an index.json larger than any index (4 MiB) is refused without being read whole (guards issue 8.14)", async () => {
  const archive = await archiveOf([{ name: "index.json", body: Buffer.alloc(5 * 1024 * 1024, 0x20) }]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), client, "team/app", { name: "big.tar.gz" }),
    /big\.tar\.gz: index\.json is larger than 4 MiB/,
  );
});

// A forged referrers index (index.json's annotation names it) is refused before anything is pushed: every referrer must
// refer to the image or to a referrer listed before it, agree with its own `subject`, and carry its subject's cosign tag.
const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const image = json({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(Buffer.from("c")), size: 1 },
  layers: [],
});
const imageDescriptor = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: sha(image),
  size: image.length,
};
const other = `sha256:${"e".repeat(64)}`;

function referrerManifest(subject: string | undefined): Buffer {
  return json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha(Buffer.from("{}")), size: 2 },
    layers: [],
    ...(subject && { subject: { ...imageDescriptor, digest: subject } }),
  });
}

async function withReferrers(referrer: Buffer, annotations: Record<string, string>, omitIndex = false) {
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: sha(referrer),
        size: referrer.length,
        annotations,
      },
    ],
  });
  return archiveOf([
    {
      name: "index.json",
      body: json({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{ ...imageDescriptor, annotations: { "org.opencontainers.image.ref.name": "1" } }],
        annotations: { "vnd.acr-cold-archive.referrers.index": sha(index) },
      }),
    },
    { name: `blobs/sha256/${sha(image).slice(7)}`, body: image },
    ...(omitIndex ? [] : [{ name: `blobs/sha256/${sha(index).slice(7)}`, body: index }]),
    { name: `blobs/sha256/${sha(referrer).slice(7)}`, body: referrer },
  ]);
}

test("a forged referrers index is INVALID_ARGUMENT before any push: another subject, a disagreeing subject, another's cosign tag, a missing index", async () => {
  const subject = "vnd.acr-cold-archive.referrer.subject";
  const cases: [Buffer, RegExp][] = [
    [
      await withReferrers(referrerManifest(other), { [subject]: other }),
      /its subject sha256:e+ is not listed before it/,
    ],
    [
      await withReferrers(referrerManifest(other), { [subject]: sha(image) }),
      /its subject is sha256:e+, the archive says/,
    ],
    [
      await withReferrers(referrerManifest(undefined), {
        [subject]: sha(image),
        "vnd.acr-cold-archive.referrer.tag": `sha256-${"e".repeat(64)}.sig`,
      }),
      /is not a cosign tag of/,
    ],
    [await withReferrers(referrerManifest(sha(image)), { [subject]: sha(image) }, true), /lacks its referrers index/],
  ];
  for (const [archive, message] of cases)
    await assert.rejects(
      restoreImageArchive(Readable.from([archive]), client, "team/app", { name: "forged.tar.gz" }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "INVALID_ARGUMENT", error.message);
        assert.match(error.message, message);
        return true;
      },
    );
});
