// Pure pieces of the archive: tar headers read back by an independent reader, the adaptive gzip stream,
// blob names, image references and configuration errors.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AdaptiveGzip } from "../src/archive/adaptiveGzip.js";
import { encodeTarHeader, tarEnd, tarPadding } from "../src/archive/tarHeader.js";
import { readWorkerConfig } from "../src/config.js";
import { startArchiveRunSchema } from "../src/runs/startArchiveRun.js";
import { formatIssues } from "../src/validation.js";
import { archiveRequestSchema } from "../src/archive/archiveRequest.js";
import { isArchiveError } from "../src/errors.js";
import { parseImageReference } from "../src/registry/reference.js";
import { archiveBlobName, resultBlobName, sidecarBlobName, tagMarkerBlobName } from "../src/storage/blobNames.js";

const D1 = `sha256:${"a".repeat(64)}`;

test("tar headers read back with tar-stream, including base-256 sizes", async () => {
  const files = [
    { name: "oci-layout", data: Buffer.from("{}") },
    { name: `blobs/sha256/${"b".repeat(64)}`, data: randomBytes(1000) },
  ];
  const parts: Buffer[] = [];
  for (const f of files) parts.push(encodeTarHeader({ name: f.name, size: f.data.length, type: "file" }), f.data, tarPadding(f.data.length));
  parts.push(tarEnd());
  const extract = tar.extract();
  Readable.from([Buffer.concat(parts)]).pipe(extract as unknown as NodeJS.WritableStream);
  const seen: { name: string; data: Buffer }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    seen.push({ name: entry.header.name, data: Buffer.concat(chunks) });
  }
  assert.deepEqual(seen.map((s) => s.name), files.map((f) => f.name));
  assert.ok(seen[1]!.data.equals(files[1]!.data));
  const big = encodeTarHeader({ name: "big", size: 9 * 1024 ** 3, type: "file" });
  assert.equal(big[124], 0x80, "sizes ≥ 8 GiB use the base-256 form");
  assert.equal(big.readBigUInt64BE(124 + 4), BigInt(9 * 1024 ** 3));
  assert.throws(() => encodeTarHeader({ name: "x".repeat(101), size: 0, type: "file" }), RangeError);
});

test("adaptive gzip: one member, stored where asked, deflated elsewhere, gunzips to the input", async () => {
  const text = Buffer.from("compressible text ".repeat(50_000));
  const random = randomBytes(1 << 20);
  const gzip = new AdaptiveGzip(6);
  const out: Buffer[] = [];
  gzip.stream.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise((r) => gzip.stream.on("end", r));
  await gzip.write({ data: text, store: false });
  await gzip.write({ data: random, store: true });
  await gzip.write({ data: text, store: false });
  await gzip.end();
  await ended;
  const gz = Buffer.concat(out);
  assert.ok(zlib.gunzipSync(gz).equals(Buffer.concat([text, random, text])));
  assert.ok(gz.length < random.length + 100_000, `text was deflated (${gz.length} bytes)`);
  assert.ok(gz.length > random.length, "random bytes were kept");
  // Stored blocks keep the bytes verbatim (split every ~16 KiB by a 5-byte block header); deflate would not.
  let verbatim = 0;
  for (let offset = 0; offset < random.length; offset += 4096) if (gz.includes(random.subarray(offset, offset + 4096))) verbatim++;
  assert.ok(verbatim >= (random.length / 4096) * 0.5, `${verbatim} of ${random.length / 4096} 4 KiB runs appear verbatim`);
});

test("blob names are deterministic, collision-free and findable by tag prefix", () => {
  const a = archiveBlobName({ registry: "acr.io", repository: "a/b", digest: D1 });
  const b = archiveBlobName({ registry: "acr.io", repository: "a__b", digest: D1 });
  const c = archiveBlobName({ registry: "acr.io", repository: "a", digest: D1 });
  assert.equal(a, `acr.io/a/b@sha256-${"a".repeat(64)}.tar.gz`);
  assert.equal(new Set([a, b, c]).size, 3);
  assert.ok(!b.startsWith(c.replace(/\.tar\.gz$/, "")) || b === c);
  assert.equal(sidecarBlobName(a), `${a}.json`);
  assert.equal(tagMarkerBlobName({ registry: "acr.io", repository: "a/b", digest: D1 }, "1.0"), `acr.io/a/b:1.0@sha256-${"a".repeat(64)}`);
  assert.equal(resultBlobName("run1", { registry: "acr.io", repository: "a/b", digest: D1 }), `runs/run1/results/acr.io/a/b@sha256-${"a".repeat(64)}.json`);
  assert.throws(() => archiveBlobName({ registry: "acr.io", repository: "../x", digest: D1 }), TypeError);
});

test("image references", () => {
  assert.deepEqual(parseImageReference("acr.io/team/app/api:1.0"), { registry: "acr.io", repository: "team/app/api", tag: "1.0" });
  assert.deepEqual(parseImageReference("127.0.0.1:5000/app"), { registry: "127.0.0.1:5000", repository: "app", tag: "latest" });
  assert.deepEqual(parseImageReference(`localhost/app@${D1}`), { registry: "localhost", repository: "app", digest: D1 });
  assert.deepEqual(parseImageReference(`acr.io/app:v1@${D1}`), { registry: "acr.io", repository: "app", tag: "v1", digest: D1 });
  for (const bad of ["", "app:1", "acr.io/App:1", "acr.io/app:-x", "acr.io/app@sha256:12", `acr.io/app:${"x".repeat(129)}`, "acr.io//app"]) {
    assert.throws(() => parseImageReference(bad), (e: unknown) => isArchiveError(e) && e.code === "INVALID_REFERENCE", bad);
  }
});

test("configuration errors name the variable or field", () => {
  assert.throws(() => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", PIGZ_LEVEL: "12", UPLOAD_CONCURRENCY: "zero" }), (e: unknown) => {
    assert.ok(isArchiveError(e) && e.code === "CONFIG_INVALID");
    assert.match((e as Error).message, /PIGZ_LEVEL: must be ≤ 9/);
    assert.match((e as Error).message, /UPLOAD_CONCURRENCY: must be a number/);
    return true;
  });
  assert.throws(() => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", ACR_USERNAME: "u" }), /ACR_USERNAME and ACR_PASSWORD must be set together/);
  const config = readWorkerConfig({ STORAGE_ACCOUNT: "archive01" });
  assert.deepEqual(config.storage, { kind: "accountUrl", accountUrl: "https://archive01.blob.core.windows.net" });
  const request = archiveRequestSchema.safeParse({ image: "acr.io/app:1", blobContainer: "images", extra: 1 });
  assert.ok(!request.success);
  assert.deepEqual(formatIssues(request.error), ["extra: unknown field"]);
  const run = startArchiveRunSchema.safeParse({ registry: "acr.io", maxParallel: 0, olderThanDays: 1.5 });
  assert.ok(!run.success);
  assert.deepEqual(formatIssues(run.error).sort(), ["maxParallel: must be ≥ 1", "olderThanDays: must be an integer"]);
});
