// A Writable that cuts the archive stream into blocks and stages them (with a transactional MD5 each),
// at most `concurrency` in flight. Block buffers are recycled, so memory is blockSize × (concurrency + 1) however
// large the image (fresh 8 MiB buffers per block left the garbage collector hundreds of MiB behind).
// Nothing is visible until the caller commits the block list: a crash leaves only uncommitted blocks,
// which Azure discards, never a half-written blob.
import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { BlockBlobClient } from "@azure/storage-blob";

export interface BlockUploadStreamOptions {
  blockSizeBytes: number;
  concurrency: number;
  abortSignal?: AbortSignal;
  /** Called after each staged block with the bytes staged so far. */
  onProgress?: (stagedBytes: number) => void;
}

// Azure allows 50,000 blocks per blob.
const MAX_BLOCKS = 50_000;

export class BlockUploadStream extends Writable {
  readonly blockIds: string[] = [];
  private readonly uploadId = randomBytes(6).toString("hex");
  private buffer: Buffer;
  private readonly spare: Buffer[] = [];
  private filled = 0;
  private stagedBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly options: BlockUploadStreamOptions,
  ) {
    super({ highWaterMark: options.blockSizeBytes });
    this.buffer = Buffer.allocUnsafeSlow(options.blockSizeBytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.append(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    (async () => {
      if (this.filled > 0) await this.stageCurrent();
      await Promise.all(this.inFlight);
      if (this.failure) throw this.failure;
    })().then(() => callback(), callback);
  }

  private async append(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.failure) throw this.failure;
      const n = Math.min(chunk.length - offset, this.buffer.length - this.filled);
      chunk.copy(this.buffer, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.buffer.length) await this.stageCurrent();
    }
  }

  private async stageCurrent(): Promise<void> {
    while (this.inFlight.size >= this.options.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    if (this.blockIds.length >= MAX_BLOCKS)
      throw new RangeError(`the archive needs more than ${MAX_BLOCKS} blocks: raise UPLOAD_BLOCK_SIZE_MIB`);
    const full = this.buffer;
    const block = this.filled === full.length ? full : full.subarray(0, this.filled);
    const id = Buffer.from(`${this.uploadId}-${String(this.blockIds.length).padStart(6, "0")}`).toString("base64");
    this.blockIds.push(id);
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.options.blockSizeBytes);
    this.filled = 0;
    const md5 = createHash("md5").update(block).digest();
    const task = this.blob
      .stageBlock(id, block, block.length, {
        transactionalContentMD5: md5,
        ...(this.options.abortSignal && { abortSignal: this.options.abortSignal }),
      })
      .then(() => {
        this.stagedBytes += block.length;
        this.spare.push(full); // staged: its bytes are no longer needed
        this.options.onProgress?.(this.stagedBytes);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }
}
