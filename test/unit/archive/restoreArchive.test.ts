// restoreImageArchive on archives that are not what they claim, before any registry is contacted: an index.json that
// is not JSON, or one larger than any index, is refused in words (never a SyntaxError, never read whole).
import assert from "node:assert/strict";
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
