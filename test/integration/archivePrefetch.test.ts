// The archive writer with blobs read ahead in ranged parts (BlobPrefetcher) against the real registry: the .tar.gz is
// byte for byte the one written one blob at a time (REGISTRY_CONCURRENCY=1, no prefetch), for a multi-layer image of
// stored (gzip), deflated (uncompressed) and tiny layers; a blob corrupted in the registry still fails the image with
// DIGEST_MISMATCH before the sink is finished (archiveImage commits only after the writer resolves).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { DEFAULT_PREFETCH, writeImageArchive } from "../../src/archive/archiveWriter.js";
import { planImageArchive } from "../../src/archive/imagePlan.js";
import { isArchiveError } from "../../src/errors.js";
import type { BlobPrefetchOptions } from "../../src/registry/blobPrefetcher.js";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { pushImage } from "../../tools/localenv/fixtures.js";
import { registryBlobPath, startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";

const MiB = 1024 * 1024;
let registry: TestRegistry;

before(async () => {
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
});

/** A sink that hashes what it is given and records whether it was finished. */
function hashingSink() {
  const hash = createHash("sha256");
  const state = { finished: false, bytes: 0 };
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      state.bytes += chunk.length;
      callback();
    },
    final(callback) {
      state.finished = true;
      callback();
    },
  });
  return { sink, state, digest: () => hash.digest("hex") };
}

async function archiveSha256(
  repository: string,
  digest: string,
  gzipLevel: number,
  prefetch: BlobPrefetchOptions,
): Promise<string> {
  const client = new RegistryClient(registry.host);
  const plan = await planImageArchive(client, repository, digest);
  const { sink, digest: sha256 } = hashingSink();
  const written = await writeImageArchive(client, plan, sink, { tags: ["1"], gzipLevel, prefetch });
  assert.equal(written.sha256, sha256());
  return written.sha256;
}

const SEQUENTIAL: BlobPrefetchOptions = { concurrency: 1, budgetBytes: 0, partBytes: 1024 * MiB };

test("prefetch in ranged parts writes the same .tar.gz bytes as one blob at a time", async () => {
  const pushed = await pushImage(registry.host, "prefetch/multi:1", {
    layers: [
      { randomBytes: 5 * MiB + 12_345, compression: "gzip-stored" },
      { textBytes: 3 * MiB, compression: "none" },
      { files: { "etc/a.conf": "a=1\n" } },
      { textBytes: 2 * MiB + 7 },
      { randomBytes: 3 * MiB, compression: "gzip-stored" },
    ],
  });
  for (const level of [1, 0]) {
    const sequential = await archiveSha256("prefetch/multi", pushed.digest, level, SEQUENTIAL);
    const parallel = await archiveSha256("prefetch/multi", pushed.digest, level, {
      concurrency: 6,
      budgetBytes: 4 * MiB,
      partBytes: 256 * 1024,
    });
    const defaults = await archiveSha256("prefetch/multi", pushed.digest, level, DEFAULT_PREFETCH);
    assert.equal(parallel, sequential, `level ${level}: ranged parts`);
    assert.equal(defaults, sequential, `level ${level}: default settings`);
  }
});

test("a blob corrupted in the registry fails the split read with DIGEST_MISMATCH and the sink is never finished", async () => {
  const pushed = await pushImage(registry.host, "prefetch/corrupt:1", {
    layers: [{ randomBytes: 2 * MiB, compression: "gzip-stored" }, { textBytes: 100_000 }],
  });
  const client = new RegistryClient(registry.host);
  const plan = await planImageArchive(client, "prefetch/corrupt", pushed.digest);
  const big = plan.blobs.reduce((a, b) => (b.size > a.size ? b : a));
  const path = registryBlobPath(registry, big.digest);
  const { readFile } = await import("node:fs/promises");
  const bytes = await readFile(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  await writeFile(path, bytes);
  const { sink, state } = hashingSink();
  await assert.rejects(
    writeImageArchive(client, plan, sink, {
      tags: ["1"],
      gzipLevel: 1,
      prefetch: { concurrency: 4, budgetBytes: MiB, partBytes: 256 * 1024 },
    }),
    (error: unknown) => {
      assert.ok(isArchiveError(error) && error.code === "DIGEST_MISMATCH", String(error));
      return true;
    },
  );
  assert.equal(state.finished, false);
});
