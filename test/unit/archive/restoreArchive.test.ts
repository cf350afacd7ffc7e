// restoreImageArchive on archives that are not what they claim, before any registry is contacted: an index.json that
// is not JSON, or one larger than any index, is refused in words (never a SyntaxError, never read whole).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createGzip, gzipSync } from "node:zlib";
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

test("an index.json that is not JSON is ARCHIVE_INVALID in words (guards issue 8.14)", async () => {
  const archive = await archiveOf([
    { name: "oci-layout", body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: "index.json", body: Buffer.from("{ not json") },
  ]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), client, "team/app", { name: "x.tar.gz" }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ARCHIVE_INVALID");
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

test("a forged referrers index is ARCHIVE_INVALID before any push: another subject, a disagreeing subject, another's cosign tag, a missing index", async () => {
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
        assert.equal(error.code, "ARCHIVE_INVALID", error.message);
        assert.match(error.message, message);
        return true;
      },
    );
});

// What a restore holds in memory (manifests, and JSON blobs that may be manifests until the graph says) is bounded:
// a crafted archive of many small JSON blobs (gzip makes hundreds of MiB of them a few hundred KiB) fails at the entry
// that would pass the bound, before any registry is contacted. Not even retried: a contact fails at once, otherwise.
const unreachable = new RegistryClient("127.0.0.1:9", {
  retry: { maxRetries: 0, retryDelayInMs: 1, maxRetryDelayInMs: 1 },
});
const MiB = 1024 * 1024;

/** A JSON blob that could be a manifest (schemaVersion 2), `size` bytes, made unique by `n`. */
function lookalike(n: number, size: number): Buffer {
  const head = `{"schemaVersion":2,"n":${n},"pad":"`;
  return Buffer.from(`${head}${" ".repeat(size - head.length - 2)}"}`);
}

/** Gzipped tar of the entries, made one at a time (the test holds the small .tar.gz, not the blobs). */
async function streamedArchive(entries: Iterable<{ name: string; body: Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  const gzip = pack.pipe(createGzip());
  const collected = (async () => {
    const out: Buffer[] = [];
    for await (const chunk of gzip) out.push(chunk as Buffer);
    return Buffer.concat(out);
  })();
  for (const entry of entries)
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: entry.name, size: entry.body.length }, entry.body, (e) => (e ? reject(e) : resolve())),
    );
  pack.finalize();
  return collected;
}

function* lookalikes(count: number, size: number) {
  for (let n = 1; n <= count; n++) {
    const body = lookalike(n, size);
    yield { name: `blobs/sha256/${sha(body).slice(7)}`, body };
  }
}

const rootIndexJson = json({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{ ...imageDescriptor, annotations: { "org.opencontainers.image.ref.name": "1" } }],
});

test("JSON blobs held past RESTORE_MAX_HELD_MIB fail at the one that would pass it, before any push (guards issue 21.2)", async () => {
  const entries = [...lookalikes(6, MiB)];
  const archive = await streamedArchive([{ name: "index.json", body: rootIndexJson }, ...entries]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), unreachable, "team/app", {
      name: "held.tar.gz",
      limits: { maxHeldBytes: 3 * MiB, maxHeldCount: 100 },
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ARCHIVE_INVALID", error.message);
      assert.equal(
        error.message,
        `held.tar.gz: ${entries[3]!.name} (1.0 MiB) would take the manifests and unclassified JSON blobs this restore holds in memory past 3.0 MiB (RESTORE_MAX_HELD_MIB; it holds 3.0 MiB in 3)`,
      );
      return true;
    },
  );
});

test("more JSON blobs held than RESTORE_MAX_HELD_MANIFESTS fail at the one past it, before any push (guards issue 21.2)", async () => {
  const entries = [...lookalikes(10, 100)];
  const archive = await streamedArchive([...entries, { name: "index.json", body: rootIndexJson }]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), unreachable, "team/app", {
      name: "many.tar.gz",
      limits: { maxHeldBytes: 64 * MiB, maxHeldCount: 4 },
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ARCHIVE_INVALID", error.message);
      assert.equal(
        error.message,
        `many.tar.gz: ${entries[4]!.name} would take the manifests and unclassified JSON blobs this restore holds in memory past 4 (RESTORE_MAX_HELD_MANIFESTS; it holds 0.0 MiB in 4)`,
      );
      return true;
    },
  );
});

test("manifests the graph lists count too: an index of large manifests fails at the one past RESTORE_MAX_HELD_MIB (guards issue 21.2)", async () => {
  // Each child an image manifest padded to ~1 MiB with an annotation; the root index lists all five.
  const children = [1, 2, 3, 4, 5].map((n) =>
    json({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: imageDescriptor,
      layers: [],
      annotations: { pad: `${n}${" ".repeat(MiB - 300)}` },
    }),
  );
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: children.map((c) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: sha(c),
      size: c.length,
    })),
  });
  const indexJson = json({
    schemaVersion: 2,
    manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: sha(index), size: index.length }],
  });
  const archive = await streamedArchive([
    { name: "index.json", body: indexJson },
    { name: `blobs/sha256/${sha(index).slice(7)}`, body: index },
    ...children.map((c) => ({ name: `blobs/sha256/${sha(c).slice(7)}`, body: c })),
  ]);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), unreachable, "team/app", {
      name: "wide.tar.gz",
      limits: { maxHeldBytes: 3 * MiB, maxHeldCount: 100 },
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ARCHIVE_INVALID", error.message);
      assert.match(
        error.message,
        new RegExp(
          `^wide\\.tar\\.gz: blobs/sha256/${sha(children[2]!).slice(7)} \\(1\\.0 MiB\\) would take .* past 3\\.0 MiB \\(RESTORE_MAX_HELD_MIB; it holds 2\\.0 MiB in 3\\)$`,
        ),
      );
      return true;
    },
  );
});

test("by default a restore holds at most 64 MiB: the issue's archive (4 MiB JSON blobs, gzip makes them tiny) fails at the 17th (guards issue 21.2)", async () => {
  const size = 4 * MiB;
  const archive = await streamedArchive([{ name: "index.json", body: rootIndexJson }, ...lookalikes(24, size)]);
  assert.ok(archive.length < 1 * MiB, `${archive.length} bytes of archive`);
  const seventeenth = lookalike(17, size);
  await assert.rejects(
    restoreImageArchive(Readable.from([archive]), unreachable, "team/app", { name: "crafted.tar.gz" }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "ARCHIVE_INVALID", error.message);
      assert.equal(
        error.message,
        `crafted.tar.gz: blobs/sha256/${sha(seventeenth).slice(7)} (4.0 MiB) would take the manifests and unclassified JSON blobs this restore holds in memory past 64.0 MiB (RESTORE_MAX_HELD_MIB; it holds 64.0 MiB in 16)`,
      );
      return true;
    },
  );
});

test("each manifest of an archive is JSON-parsed once, referrers and an index referrer's manifests included (guards issue 22.2)", async () => {
  const referrer = referrerManifest(sha(image));
  const child = json({ ...JSON.parse(referrer.toString("utf8")), annotations: { platform: "linux/arm64" } });
  const childDescriptor = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: sha(child),
    size: child.length,
  };
  const indexReferrer = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    artifactType: "application/spdx+json",
    manifests: [childDescriptor],
    subject: imageDescriptor,
  });
  const listedAs = (bytes: Buffer, mediaType: string) => ({
    mediaType,
    digest: sha(bytes),
    size: bytes.length,
    annotations: { "vnd.acr-cold-archive.referrer.subject": sha(image) },
  });
  const referrers = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      listedAs(referrer, "application/vnd.oci.image.manifest.v1+json"),
      listedAs(indexReferrer, "application/vnd.oci.image.index.v1+json"),
    ],
  });
  const blob = (bytes: Buffer) => ({ name: `blobs/sha256/${sha(bytes).slice(7)}`, body: bytes });
  // As this tool writes it: the image, its referrers index, then each referrer after the manifests it lists.
  const archive = await archiveOf([
    {
      name: "index.json",
      body: json({
        schemaVersion: 2,
        manifests: [imageDescriptor],
        annotations: { "vnd.acr-cold-archive.referrers.index": sha(referrers) },
      }),
    },
    ...[image, referrers, referrer, child, indexReferrer].map(blob),
  ]);
  const texts = new Map([image, referrers, referrer, child, indexReferrer].map((m) => [m.toString("utf8"), 0]));
  const parse = JSON.parse;
  JSON.parse = (text: string, reviver?: Parameters<typeof parse>[1]) => {
    if (texts.has(text)) texts.set(text, texts.get(text)! + 1);
    return parse(text, reviver);
  };
  try {
    // The image's config is in no archive here: the check asks the (unreachable) target for it, after every other.
    await assert.rejects(
      restoreImageArchive(Readable.from([archive]), unreachable, "team/app", { name: "signed.tar.gz" }),
      (error: Error & { code?: string }) => error.code === "REGISTRY_UNREACHABLE",
    );
  } finally {
    JSON.parse = parse;
  }
  assert.deepEqual([...texts.values()], [1, 1, 1, 1, 1], "image, referrers index, referrer, child, index referrer");
});
