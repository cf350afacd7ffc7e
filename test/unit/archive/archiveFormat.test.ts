// Pure pieces of the archive format: tar headers read back by an independent reader (tar-stream), and the adaptive
// gzip stream (one member, stored blocks where asked). Blob names: storage/blobNames; references: registry/reference.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import zlib from "node:zlib";
import tar from "tar-stream";
import { AdaptiveGzip } from "../../../src/archive/adaptiveGzip.js";
import { encodeTarHeader, tarEnd, tarPadding } from "../../../src/archive/tarHeader.js";

test("tar headers read back with tar-stream, including base-256 sizes", async () => {
  const files = [
    { name: "oci-layout", data: Buffer.from("{}") },
    { name: `blobs/sha256/${"b".repeat(64)}`, data: randomBytes(1000) },
  ];
  const parts: Buffer[] = [];
  for (const f of files)
    parts.push(encodeTarHeader({ name: f.name, size: f.data.length, type: "file" }), f.data, tarPadding(f.data.length));
  parts.push(tarEnd());
  const extract = tar.extract();
  Readable.from([Buffer.concat(parts)]).pipe(extract as unknown as NodeJS.WritableStream);
  const seen: { name: string; data: Buffer }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    seen.push({ name: entry.header.name, data: Buffer.concat(chunks) });
  }
  assert.deepEqual(
    seen.map((s) => s.name),
    files.map((f) => f.name),
  );
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
  for (let offset = 0; offset < random.length; offset += 4096)
    if (gz.includes(random.subarray(offset, offset + 4096))) verbatim++;
  assert.ok(
    verbatim >= (random.length / 4096) * 0.5,
    `${verbatim} of ${random.length / 4096} 4 KiB runs appear verbatim`,
  );
});
