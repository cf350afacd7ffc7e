// JsonArrayBlobWriter (src/storage/jsonArrayBlob.ts) against real Azurite: the committed bytes are exactly
// JSON.stringify's (pretty and compact, no items, one, many over many blocks, strings that need escaping), blocks are
// staged while items are appended (nothing visible until the commit), and a write-once commit keeps a blob that exists,
// including one another writer committed while this one was staging. openJsonArrayBlob reads such a blob back in
// ranges: the head, then the items one at a time (any range size, strings and UTF-8 cut anywhere), and refuses what is
// not such a blob.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { JsonArrayBlobWriter, openJsonArrayBlob } from "../../../src/storage/jsonArrayBlob.js";
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

async function readBack(blob: string, options: Parameters<typeof openJsonArrayBlob>[3] = {}) {
  const contents = await openJsonArrayBlob(container, blob, "items", options);
  assert.ok(contents, `${blob} opens`);
  const items: unknown[] = [];
  for await (const item of contents.items) items.push(item);
  return { head: contents.head, items };
}

test("read back in ranges: the head and every item, pretty or compact, whatever the range cuts (strings, escapes, UTF-8)", async () => {
  const many = Array.from({ length: 300 }, (_, i) => ({ i, name: `image-${i}`, note: 'é ✓ 😀 "quoted" ]},' }));
  for (const items of [[], [tricky[0]], tricky, many]) {
    for (const pretty of [true, false]) {
      const blob = name();
      await write(blob, head, items, { pretty, blockBytes: 512 });
      for (const [firstRangeBytes, rangeBytes] of [
        [1, 1],
        [7, 13],
        [64 * 1024, 4 * 1024 * 1024],
      ]) {
        if (firstRangeBytes === 1 && items.length > 10) continue; // a byte a request: only the small ones
        const read = await readBack(blob, { firstRangeBytes, rangeBytes });
        assert.deepEqual(read.head, head, `head, ${items.length} items, ranges ${firstRangeBytes}/${rangeBytes}`);
        assert.deepEqual(read.items, JSON.parse(JSON.stringify(items)), `items, ${items.length}, ${firstRangeBytes}`);
      }
    }
  }
});

test("the head is read without the items: stopping early reads no further range", async () => {
  const blob = name();
  await write(
    blob,
    head,
    Array.from({ length: 2000 }, (_, i) => ({ i, padding: "p".repeat(200) })),
    { pretty: true },
  );
  const contents = await openJsonArrayBlob(container, blob, "items", { firstRangeBytes: 4096, rangeBytes: 1024 });
  assert.deepEqual(contents?.head, head);
  // Replaced now: a further range would fail its If-Match (next test), so the first items come from the first range.
  await write(blob, { other: true }, [], { pretty: true });
  const taken: unknown[] = [];
  for await (const item of contents!.items) {
    taken.push(item);
    if (taken.length === 3) break;
  }
  assert.deepEqual(
    taken.map((i) => (i as { i: number }).i),
    [0, 1, 2],
  );
});

test("a blob that changes between two ranges, one that is not such an object, an oversized item: STORAGE_ERROR; a missing one: undefined", async () => {
  assert.equal(await openJsonArrayBlob(container, name(), "items"), undefined);
  const changed = name();
  await write(
    changed,
    head,
    Array.from({ length: 200 }, (_, i) => ({ i })),
    { pretty: true },
  );
  const contents = await openJsonArrayBlob(container, changed, "items", { firstRangeBytes: 256, rangeBytes: 256 });
  await write(changed, head, [{ replaced: true }], { pretty: true });
  await assert.rejects(
    async () => {
      for await (const item of contents!.items) void item;
    },
    (error: Error & { code?: string }) => error.code === "STORAGE_ERROR" && /412|ConditionNotMet/.test(error.message),
  );
  for (const body of ["[1,2]", '"text"', '{"items": [1, 2', '{"a": 1} trailing', "", '{"items": [1]} {}']) {
    const blob = name();
    await container.getBlockBlobClient(blob).upload(body, Buffer.byteLength(body));
    await assert.rejects(
      async () => {
        const opened = await openJsonArrayBlob(container, blob, "items", { firstRangeBytes: 4, rangeBytes: 4 });
        for await (const item of opened!.items) void item;
      },
      (error: Error & { code?: string }) => error.code === "STORAGE_ERROR",
      JSON.stringify(body),
    );
  }
  const big = name();
  await write(big, head, [{ big: "x".repeat(5000) }]);
  await assert.rejects(
    async () => {
      const opened = await openJsonArrayBlob(container, big, "items", { maxItemChars: 1000 });
      for await (const item of opened!.items) void item;
    },
    (error: Error & { code?: string }) => error.code === "STORAGE_ERROR" && /over 1000 characters/.test(error.message),
  );
  // Without the array, the whole object is the head.
  const headOnly = name();
  await container.getBlockBlobClient(headOnly).upload('{"a": [1], "b": {"c": "]"}}', 27);
  assert.deepEqual(await readBack(headOnly), { head: { a: [1], b: { c: "]" } }, items: [] });
});
