// The one verifying blob reader (src/registry/verifyingReader.ts), pure: bytes pass through unchanged; an overrun fails
// at once, before the rest of the source is read; a short read and another digest fail at the end.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { isArchiveError } from "../../../src/errors.js";
import type { Descriptor } from "../../../src/registry/types.js";
import { verifyingReader } from "../../../src/registry/verifyingReader.js";
import { sha256Digest } from "../../support/digests.js";

const blob = randomBytes(3000);
const descriptorOf = (bytes: Buffer): Descriptor => ({
  mediaType: "application/octet-stream",
  digest: sha256Digest(bytes),
  size: bytes.length,
});

/** A source of `chunks` that records how many it handed out and whether it was closed early. */
function source(chunks: Uint8Array[]) {
  const state = { pulled: 0, closed: false };
  async function* generate() {
    try {
      for (const chunk of chunks) {
        state.pulled++;
        yield chunk;
      }
    } finally {
      state.closed = true;
    }
  }
  return { iterable: generate(), state };
}

/** Reads the reader to its end; returns what it yielded and the error it ended with, if any. */
async function drain(reader: AsyncIterable<Buffer>): Promise<{ bytes: Buffer; error?: Error & { code?: string } }> {
  const got: Buffer[] = [];
  try {
    for await (const chunk of reader) got.push(chunk);
  } catch (error) {
    return { bytes: Buffer.concat(got), error: error as Error & { code?: string } };
  }
  return { bytes: Buffer.concat(got) };
}

test("bytes that match their descriptor pass through unchanged, Uint8Array chunks as Buffers", async () => {
  const chunks = [blob.subarray(0, 1000), new Uint8Array(blob.subarray(1000, 1001)), blob.subarray(1001)];
  const { bytes, error } = await drain(verifyingReader(source(chunks).iterable, descriptorOf(blob)));
  assert.equal(error, undefined);
  assert.ok(bytes.equals(blob));
  for await (const chunk of verifyingReader(source(chunks).iterable, descriptorOf(blob)))
    assert.ok(Buffer.isBuffer(chunk));
  const empty = await drain(verifyingReader(source([]).iterable, descriptorOf(Buffer.alloc(0))));
  assert.equal(empty.error, undefined, "an empty blob is its empty digest");
});

test("more bytes than the descriptor says fail with SIZE_MISMATCH at once: the overrun is not passed on, the rest not read", async () => {
  const descriptor = descriptorOf(blob);
  const { iterable, state } = source([
    blob.subarray(0, 2000),
    Buffer.concat([blob.subarray(2000), Buffer.from("extra")]),
    randomBytes(10),
  ]);
  const { bytes, error } = await drain(verifyingReader(iterable, descriptor, { what: "blob X of repo" }));
  assert.ok(isArchiveError(error), String(error));
  assert.equal(error.code, "SIZE_MISMATCH");
  assert.equal(error.message, "blob X of repo is longer than its descriptor's 3000 bytes");
  assert.equal(bytes.length, 2000, "only the bytes within the descriptor's size were yielded");
  assert.equal(state.pulled, 2, "the chunk after the overrun was never asked for");
  assert.equal(state.closed, true, "the source was closed (return) when the reader failed");
});

test("the right size with other bytes fails with DIGEST_MISMATCH only at the end, after every byte passed", async () => {
  const changed = Buffer.from(blob);
  changed[0] ^= 0xff;
  const chunks = [changed.subarray(0, 10), changed.subarray(10)];
  const { bytes, error } = await drain(
    verifyingReader(source(chunks).iterable, descriptorOf(blob), { corruption: "the archive is damaged" }),
  );
  assert.ok(isArchiveError(error), String(error));
  assert.equal(error.code, "DIGEST_MISMATCH");
  assert.ok(bytes.equals(changed), "every byte was yielded before the digest was known");
  const actual = descriptorOf(changed).digest;
  assert.equal(error.message, `blob ${descriptorOf(blob).digest} hashes to ${actual}: the archive is damaged`);
});

test("fewer bytes than the descriptor says fail with SIZE_MISMATCH at the end", async () => {
  const { bytes, error } = await drain(
    verifyingReader(source([blob.subarray(0, 2999)]).iterable, descriptorOf(blob), { what: "blob Y" }),
  );
  assert.ok(isArchiveError(error), String(error));
  assert.equal(error.code, "SIZE_MISMATCH");
  assert.equal(error.message, "blob Y ended after 2999 of 3000 bytes");
  assert.equal(bytes.length, 2999);
});

test("a source's own error passes through unchanged", async () => {
  async function* failing() {
    yield blob.subarray(0, 10);
    throw new Error("connection reset");
  }
  const { error } = await drain(verifyingReader(failing(), descriptorOf(blob)));
  assert.equal(error?.message, "connection reset");
});
