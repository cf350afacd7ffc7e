// JsonArrayBlobWriter (src/storage/jsonArrayBlob.ts) against real Azurite: the committed bytes are exactly
// JSON.stringify's (pretty and compact, no items, one, many over many blocks, strings that need escaping), blocks are
// staged while items are appended (nothing visible until the commit), and a write-once commit keeps a blob that exists,
// including one another writer committed while this one was staging.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { JsonArrayBlobWriter } from "../../../src/storage/jsonArrayBlob.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let container: ContainerClient;
let counter = 0;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("json");
  await container.create();
});
after(async () => {
  await azurite?.stop();
});

const name = () => `blob-${++counter}.json`;
const read = async (blob: string) => (await container.getBlockBlobClient(blob).downloadToBuffer()).toString("utf8");

async function write(
  blob: string,
  head: Record<string, unknown>,
  items: unknown[],
  options: { pretty?: boolean; blockBytes?: number } = {},
): Promise<boolean> {
  const writer = new JsonArrayBlobWriter(container, blob, "items", options);
  for (const item of items) await writer.append(item);
  assert.equal(writer.count, items.length);
  return writer.commit(head);
}

const head = { schemaVersion: 1, runId: "run-1", filters: { tags: ["v*", 'a"b'] }, totals: { total: 3 } };
const tricky = [
  { repository: "team/a", tags: ["1", "line\nbreak", 'quote"', "tab\t", "unicode é ✓ 😀"], nested: [{ x: [] }, {}] },
  "a string",
  42,
  null,
  [1, [2, [3]]],
  { empty: {}, list: [] },
];

test("the bytes are JSON.stringify(value, null, 2) + newline: no items, one, and many over many small blocks", async () => {
  for (const items of [[], [tricky[0]], tricky, Array.from({ length: 500 }, (_, i) => ({ i, name: `image-${i}` }))]) {
    for (const blockBytes of [1, 64, 4 * 1024 * 1024]) {
      const blob = name();
      assert.equal(await write(blob, head, items, { pretty: true, blockBytes }), true);
      assert.equal(await read(blob), `${JSON.stringify({ ...head, items }, null, 2)}\n`, `${items.length} items`);
    }
  }
});

test("compact: the bytes are JSON.stringify(value)", async () => {
  for (const items of [[], tricky]) {
    const blob = name();
    await write(blob, head, items, { blockBytes: 16 });
    assert.equal(await read(blob), JSON.stringify({ ...head, items }));
  }
});

test("the array is the head's last key, whatever the head holds under that key; an item with no JSON form is null", async () => {
  const blob = name();
  await write(blob, { items: "ignored", a: 1, b: { c: 2 } }, [undefined, { d: 3 }], { pretty: true });
  assert.equal(await read(blob), `${JSON.stringify({ a: 1, b: { c: 2 }, items: [null, { d: 3 }] }, null, 2)}\n`);
  assert.deepEqual(Object.keys(JSON.parse(await read(blob)) as object), ["a", "b", "items"]);
});

test("blocks are staged while items are appended, nothing is visible before the commit, and the commit sets the content type and metadata", async () => {
  const blob = name();
  const writer = new JsonArrayBlobWriter(container, blob, "items", { pretty: true, blockBytes: 1024 });
  const items = Array.from({ length: 100 }, (_, i) => ({ i, padding: "x".repeat(100) }));
  for (const item of items) await writer.append(item);
  const client = container.getBlockBlobClient(blob);
  assert.equal(await client.exists(), false, "not visible before the commit");
  const { uncommittedBlocks } = await client.getBlockList("uncommitted");
  // ~130 bytes an item, 1 KiB blocks: the appends staged ~12 blocks, none larger than a block and one item.
  assert.ok((uncommittedBlocks?.length ?? 0) >= 10, `staged while appending: ${uncommittedBlocks?.length}`);
  for (const block of uncommittedBlocks ?? []) assert.ok(block.size <= 1024 + 200, `block of ${block.size} bytes`);
  assert.equal(await writer.commit(head, { metadata: { totals: '{"total":100}' } }), true);
  const properties = await client.getProperties();
  assert.equal(properties.contentType, "application/json");
  assert.deepEqual(properties.metadata, { totals: '{"total":100}' });
  assert.equal(await read(blob), `${JSON.stringify({ ...head, items }, null, 2)}\n`);
  await assert.rejects(writer.append({}), /committed already/);
});

test("write once: an existing blob is kept and the commit answers false; without ifNotExists it is replaced", async () => {
  const blob = name();
  await write(blob, head, [1, 2]);
  const kept = new JsonArrayBlobWriter(container, blob, "items");
  await kept.append(3);
  assert.equal(await kept.commit({ other: true }, { ifNotExists: true }), false);
  assert.equal(await read(blob), JSON.stringify({ ...head, items: [1, 2] }));
  const replacing = new JsonArrayBlobWriter(container, blob, "items");
  await replacing.append(3);
  assert.equal(await replacing.commit({ other: true }), true);
  assert.equal(await read(blob), JSON.stringify({ other: true, items: [3] }));
});

test("two writers of one blob: the first commit stands whole, the second answers false (its blocks are not mixed in)", async () => {
  const blob = name();
  const first = new JsonArrayBlobWriter(container, blob, "items", { blockBytes: 8 });
  const second = new JsonArrayBlobWriter(container, blob, "items", { blockBytes: 8 });
  // Interleaved, each staging blocks of the same numbers.
  for (let i = 0; i < 20; i++) {
    await first.append({ writer: "first", i });
    await second.append({ writer: "second", i });
  }
  assert.equal(await first.commit({ by: "first" }, { ifNotExists: true }), true);
  await second.append({ writer: "second", i: 20 }); // after the first commit discarded its uncommitted blocks
  assert.equal(await second.commit({ by: "second" }, { ifNotExists: true }), false);
  const items = Array.from({ length: 20 }, (_, i) => ({ writer: "first", i }));
  assert.equal(await read(blob), JSON.stringify({ by: "first", items }));
});
