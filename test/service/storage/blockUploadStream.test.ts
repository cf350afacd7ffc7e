// BlockUploadStream (src/storage/blockUploadStream.ts) against real Azurite, its stageBlock observed: blocks of the
// configured size, at most `concurrency` in flight, block buffers recycled (memory bounded), and a failed staging that
// rejects the stream, stops it, and leaves nothing committed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from "@azure/storage-blob";
import { BlockUploadStream } from "../../../src/storage/blockUploadStream.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let container: ContainerClient;
let counter = 0;

before(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("uploads");
  await container.create();
});
after(async () => {
  await azurite?.stop();
});

/** A blob whose stageBlock is observed: sizes, calls in flight, the buffers handed over; each call can wait or fail. */
function observedBlob(options: { delayInMs?: number; failAt?: number } = {}) {
  const blob = container.getBlockBlobClient(`blob-${++counter}`);
  const stageBlock = blob.stageBlock.bind(blob);
  const seen = { calls: 0, inFlight: 0, maxInFlight: 0, sizes: [] as number[], buffers: new Set<ArrayBufferLike>() };
  blob.stageBlock = async (id, body, length, stageOptions) => {
    const index = seen.calls++;
    seen.inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    seen.sizes.push(length);
    seen.buffers.add((body as Buffer).buffer);
    try {
      await sleep(options.delayInMs ?? 0);
      if (index === options.failAt) throw new Error(`injected failure staging block ${index}`);
      return await stageBlock(id, body, length, stageOptions);
    } finally {
      seen.inFlight--;
    }
  };
  return { blob, seen };
}

/** `data` in chunks of `size` bytes (not a divisor of the block size: blocks are cut across chunks). */
const chunked = (data: Buffer, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

test("the stream is cut into blocks of the configured size (the last one shorter), staged in order, committable to the input", async () => {
  const blockSizeBytes = 4096;
  const data = randomBytes(blockSizeBytes * 5 + 1000);
  const { blob, seen } = observedBlob();
  const progress: number[] = [];
  const upload = new BlockUploadStream(blob, {
    blockSizeBytes,
    concurrency: 2,
    onProgress: (bytes) => progress.push(bytes),
  });
  await pipeline(chunked(data, 1500), upload);

  assert.deepEqual(seen.sizes, [4096, 4096, 4096, 4096, 4096, 1000]);
  assert.equal(upload.blockIds.length, 6);
  assert.equal(new Set(upload.blockIds).size, 6, "block ids are unique");
  assert.equal(await blob.exists(), false, "staged blocks are invisible until the caller commits");
  const { uncommittedBlocks } = await blob.getBlockList("uncommitted");
  assert.deepEqual(
    uncommittedBlocks?.map((b) => b.size).sort((a, b) => a - b),
    [1000, 4096, 4096, 4096, 4096, 4096],
  );
  await blob.commitBlockList(upload.blockIds);
  assert.ok((await blob.downloadToBuffer()).equals(data), "the committed blob is the input, byte for byte");
  assert.equal(progress.at(-1), data.length);
  assert.ok(
    progress.every((bytes, i) => i === 0 || bytes > progress[i - 1]!),
    `progress only grows: ${progress.join(", ")}`,
  );
});

test("at most `concurrency` blocks are in flight, and block buffers are recycled: concurrency + 1 of them for 24 blocks", async () => {
  const blockSizeBytes = 1024;
  const concurrency = 3;
  const data = randomBytes(blockSizeBytes * 24);
  const { blob, seen } = observedBlob({ delayInMs: 20 });
  const upload = new BlockUploadStream(blob, { blockSizeBytes, concurrency });
  await pipeline(chunked(data, 700), upload);

  assert.equal(seen.calls, 24);
  assert.equal(seen.maxInFlight, concurrency, "stagings overlap, up to the bound and no further");
  assert.ok(
    seen.buffers.size <= concurrency + 1,
    `${seen.buffers.size} distinct block buffers for ${seen.calls} blocks`,
  );
  await blob.commitBlockList(upload.blockIds);
  assert.ok((await blob.downloadToBuffer()).equals(data));
});

test("a failed staging rejects the stream with its error, stops the staging, and nothing is committed", async () => {
  const blockSizeBytes = 1024;
  const concurrency = 2;
  const { blob, seen } = observedBlob({ delayInMs: 10, failAt: 2 });
  const upload = new BlockUploadStream(blob, { blockSizeBytes, concurrency });
  await assert.rejects(
    pipeline(chunked(randomBytes(blockSizeBytes * 40), 1024), upload),
    /injected failure staging block 2/,
  );
  assert.ok(
    seen.calls < 2 + concurrency + 2,
    `${seen.calls} of 40 blocks were staged: the stream stops at the failure`,
  );
  assert.equal(upload.destroyed, true);
  assert.equal(await blob.exists(), false, "no blob: nothing was committed");
});

test("past Azure's 50,000 blocks per blob the stream fails with a RangeError naming the setting to raise", async () => {
  let staged = 0;
  const blob = { stageBlock: async () => void staged++ } as unknown as BlockBlobClient;
  const upload = new BlockUploadStream(blob, { blockSizeBytes: 1, concurrency: 8 });
  await assert.rejects(pipeline(Readable.from([Buffer.alloc(50_001)]), upload), (error: unknown) => {
    assert.ok(error instanceof RangeError, String(error));
    assert.match(error.message, /more than 50000 blocks: raise UPLOAD_BLOCK_SIZE_MIB/);
    return true;
  });
  assert.equal(staged, 50_000);
});
