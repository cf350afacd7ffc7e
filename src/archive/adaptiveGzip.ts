// One gzip member whose compression changes along the stream: bytes that are already compressed (gzip/zstd
// layers) go in as *stored* deflate blocks framed by hand (no zlib call, only CRC32: ~5 GB/s), everything else
// (tar headers, JSON, uncompressed layers) is deflated at the configured level. Measured here: zlib at level 0
// through a Node stream ran at ~50 MB/s (a thread-pool round trip per chunk), and gzip over compressed layers
// gains ~0%, so the old pipeline's `pigz -1` spent most of its time for nothing.
//
// Each compressible run is an independent raw deflate stream ended with a sync flush (byte-aligned, no final
// bit), so runs and stored blocks concatenate into one valid deflate stream; `end()` adds the final empty block
// and the gzip trailer. The result is an ordinary .gz that gunzip, Go's and Node's readers and docker load accept.
import { PassThrough } from "node:stream";
import zlib from "node:zlib";

export interface GzipSegment {
  data: Buffer;
  /** True for bytes that are already compressed: stored, not deflated. */
  store: boolean;
}

// mtime 0 and OS "unknown" keep the output byte-reproducible (as `pigz -n` / `gzip -n` do).
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
const MAX_STORED_BLOCK = 65_535;
// Compressible bytes are gathered up to this size before one deflate call (ratio close to one long stream).
const COMPRESS_RUN_BYTES = 1024 * 1024;

export class AdaptiveGzip {
  /** The .gz bytes, with backpressure towards `write`. */
  readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  private crc = 0;
  private size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Stored bytes not yet framed (less than one block). */
  private stored: Buffer[] = [];
  private storedBytes = 0;
  private started = false;

  constructor(private readonly level: number) {}

  /**
   * Writes one segment, honouring backpressure. Calls must not overlap. The framing depends on the bytes and their
   * `store` flags only, never on how they are cut into segments: stored blocks are full 65,535-byte blocks (a shorter one
   * only where stored bytes end), compressible runs exactly COMPRESS_RUN_BYTES (shorter only where they end). So the
   * same image gives the same .tar.gz whatever the network's chunks or the prefetch settings.
   */
  async write(segment: GzipSegment): Promise<void> {
    const { data } = segment;
    if (data.length === 0) return;
    this.crc = zlib.crc32(data, this.crc);
    this.size += data.length;
    if (!segment.store && this.level > 0) {
      await this.flushStored();
      for (let offset = 0; offset < data.length;) {
        const take = Math.min(COMPRESS_RUN_BYTES - this.pendingBytes, data.length - offset);
        this.pending.push(offset === 0 && take === data.length ? data : data.subarray(offset, offset + take));
        this.pendingBytes += take;
        offset += take;
        if (this.pendingBytes >= COMPRESS_RUN_BYTES) await this.flushCompressible();
      }
      return;
    }
    await this.flushCompressible();
    for (let offset = 0; offset < data.length;) {
      const take = Math.min(MAX_STORED_BLOCK - this.storedBytes, data.length - offset);
      this.stored.push(offset === 0 && take === data.length ? data : data.subarray(offset, offset + take));
      this.storedBytes += take;
      offset += take;
      if (this.storedBytes >= MAX_STORED_BLOCK) await this.flushStored();
    }
  }

  /** One stored block of the stored bytes gathered (at most MAX_STORED_BLOCK). */
  private async flushStored(): Promise<void> {
    if (this.storedBytes === 0) return;
    const pieces = this.stored;
    const length = this.storedBytes;
    this.stored = [];
    this.storedBytes = 0;
    const header = Buffer.allocUnsafe(5);
    header[0] = 0x00; // BFINAL=0, BTYPE=00 (stored); we are byte-aligned after a sync flush or a stored block
    header.writeUInt16LE(length, 1);
    header.writeUInt16LE(~length & 0xffff, 3);
    await this.push(header);
    for (const piece of pieces) await this.push(piece);
  }

  async end(): Promise<void> {
    await this.flushStored();
    await this.flushCompressible();
    await this.push(Buffer.alloc(0)); // the header, for an empty input
    const trailer = Buffer.allocUnsafe(13);
    // A final, empty stored block ends the deflate stream.
    trailer.set([0x01, 0x00, 0x00, 0xff, 0xff], 0);
    trailer.writeUInt32LE(this.crc >>> 0, 5);
    trailer.writeUInt32LE(this.size % 2 ** 32, 9);
    this.stream.end(trailer);
  }

  private async flushCompressible(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const input = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.push(zlib.deflateRawSync(input, { level: this.level, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  }

  private async push(chunk: Buffer): Promise<void> {
    if (this.stream.destroyed) throw new ArchiveStreamClosedError();
    if (!this.started) {
      this.started = true;
      this.stream.write(GZIP_HEADER);
    }
    if (chunk.length === 0) return;
    if (!this.stream.write(chunk)) {
      // Wait for room, or for the consumer to go away: a failed upload destroys the stream, and then no
      // `drain` will ever come (waiting for it alone hung the worker until the job timeout).
      await new Promise<void>((resolve, reject) => {
        const settle = () => {
          this.stream.off("drain", settle);
          this.stream.off("close", settle);
          if (this.stream.destroyed) reject(new ArchiveStreamClosedError());
          else resolve();
        };
        this.stream.once("drain", settle);
        this.stream.once("close", settle);
      });
    }
  }
}

/** The consumer of the gzip stream went away (its own error says why). */
export class ArchiveStreamClosedError extends Error {
  constructor() {
    super("the archive stream was closed by its consumer");
    this.name = "ArchiveStreamClosedError";
  }
}
