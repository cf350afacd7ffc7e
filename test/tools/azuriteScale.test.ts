// startAzurite({ scale: true }) (the scale benchmark's Azurite: in memory, blob lookups through the name index,
// tools/localenv/azuriteIndexedLookups.ts) answers what stock Azurite answers: the same blobs, in the same order, for
// prefix listings (prefixes with regex metacharacters, hierarchical listings with a delimiter, paging), lookups of
// blobs that exist and not, conditional writes, staged and committed blocks, deletes, and other containers' blobs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";

let stock: AzuriteInstance;
let scale: AzuriteInstance;
before(async () => {
  [stock, scale] = await Promise.all([startAzurite(), startAzurite({ scale: true })]);
});
after(async () => {
  await Promise.all([stock?.stop(), scale?.stop()]);
});

const NAMES = [
  "a",
  "a/b",
  "a/b/c.json",
  "a.b/c",
  "a+b/c",
  "a(b)/c",
  "a[b]/c",
  "a$b",
  "a^b",
  "a\\b",
  "a|b",
  "a?b",
  "a*b",
  "ab",
  "abc/d",
  "b/a",
  "reg/team/app@sha256-0f.tar.gz",
  "reg/team/app@sha256-0f.tar.gz.json",
  "reg/team/app:1@sha256-0f",
  "reg/team/app2@sha256-1e.tar.gz",
  "runs/r1/listing/00000.json",
  "runs/r1/listing/00001.json",
  "runs/r1/summary.json",
  "é/ü",
  "z",
];
const PREFIXES = [
  "",
  "a",
  "a/",
  "a.",
  "a+",
  "a(",
  "a[",
  "a$",
  "a^",
  "a\\",
  "a|",
  "a?",
  "a*",
  "ab",
  "reg/team/app",
  "reg/team/app@",
  "runs/r1/",
  "é",
  "nothing",
  "a.b",
  "A",
];

async function fill(service: BlobServiceClient): Promise<ContainerClient[]> {
  const containers = ["one", "two"].map((c) => service.getContainerClient(c));
  for (const container of containers) await container.create();
  for (const name of NAMES) {
    await containers[0]!.getBlockBlobClient(name).uploadData(Buffer.from(name), { metadata: { n: "1" } });
    // The other container holds a few of the same names: they must never show in the first one's answers.
    if (name.startsWith("a")) await containers[1]!.getBlockBlobClient(name).uploadData(Buffer.from(`other ${name}`));
  }
  return containers;
}

/** Everything the app and the tests ask of Azurite, answered by one instance. */
async function answers(instance: AzuriteInstance): Promise<unknown[]> {
  const service = BlobServiceClient.fromConnectionString(instance.connectionString);
  const [one, two] = await fill(service);
  const out: unknown[] = [];
  for (const prefix of PREFIXES) {
    const flat: string[] = [];
    for await (const blob of one!.listBlobsFlat({ prefix, includeMetadata: true }))
      flat.push(`${blob.name}:${blob.metadata?.n}`);
    const tree: string[] = [];
    for await (const item of one!.listBlobsByHierarchy("/", { prefix })) tree.push(`${item.kind}:${item.name}`);
    const pages: string[][] = [];
    for await (const page of one!.listBlobsFlat({ prefix }).byPage({ maxPageSize: 2 }))
      pages.push(page.segment.blobItems.map((b) => b.name));
    out.push({ prefix, flat, tree, pages });
  }
  for (const name of [...NAMES, "missing", "a/", "reg/team/app"]) {
    const blob = one!.getBlockBlobClient(name);
    const exists = await blob.exists();
    out.push({ name, exists, body: exists ? (await blob.downloadToBuffer()).toString() : undefined });
  }
  // Write once: an existing name refuses, a new one is written.
  for (const name of ["a/b", "new/one"]) {
    const status = await one!
      .getBlockBlobClient(name)
      .uploadData(Buffer.from("again"), { conditions: { ifNoneMatch: "*" } })
      .then(
        () => 201,
        (e: { statusCode?: number }) => e.statusCode,
      );
    out.push({ writeOnce: name, status });
  }
  // Blocks: two blobs' staged blocks, one committed; the other's stay uncommitted.
  const staged = one!.getBlockBlobClient("blocks/x");
  const other = one!.getBlockBlobClient("blocks/y");
  const id = (n: number) => Buffer.from(`block-${n}`).toString("base64");
  for (let n = 0; n < 3; n++) {
    await staged.stageBlock(id(n), Buffer.from(`x${n}`), 2);
    await other.stageBlock(id(n), Buffer.from(`y${n}`), 2);
  }
  await staged.commitBlockList([id(2), id(0)]);
  const list = await other.getBlockList("all");
  out.push({
    committed: (await staged.downloadToBuffer()).toString(),
    uncommitted: list.uncommittedBlocks?.map((b) => b.name),
  });
  await one!.getBlockBlobClient("a/b").delete();
  const afterDelete: string[] = [];
  for await (const blob of one!.listBlobsFlat({ prefix: "a" })) afterDelete.push(blob.name);
  const second: string[] = [];
  for await (const blob of two!.listBlobsFlat({ prefix: "a/" })) second.push(blob.name);
  out.push({ afterDelete, second, secondBody: (await two!.getBlockBlobClient("a/b").downloadToBuffer()).toString() });
  return out;
}

test("the scale Azurite answers every listing, lookup, conditional write, block and delete as stock Azurite does", async () => {
  const [expected, actual] = await Promise.all([answers(stock), answers(scale)]);
  assert.ok(expected.length > PREFIXES.length + NAMES.length);
  assert.deepEqual(actual, expected);
});
