// One gzip member whose deflate level changes along the stream: bytes that are already compressed (gzip/zstd
// layers) go in stored blocks (level 0: no CPU spent for ~0% gain), everything else at the configured level.
// Measured (research notes): gzip over compressed layers gains ~0% and costs most of the old pipeline's time.
// The result is a plain single-member .gz that `docker load`, gunzip and every gzip reader accept.
import { once } from "node:events";
import zlib from "node:zlib";

export interface GzipSegment {
  data: Buffer;
  /** True for bytes that are already compressed: stored, not deflated. */
  store: boolean;
}

export class AdaptiveGzip {
  readonly stream: zlib.Gzip;
  private currentLevel: number;

  constructor(private readonly level: number) {
    this.stream = zlib.createGzip({ level, chunkSize: 256 * 1024 });
    this.currentLevel = level;
  }

  /** Writes one segment at the right level, honouring backpressure. Calls must not overlap. */
  async write(segment: GzipSegment): Promise<void> {
    if (segment.data.length === 0) return;
    const wanted = segment.store ? 0 : this.level;
    if (wanted !== this.currentLevel) {
      // params() queues a flush behind every earlier write, so the switch happens exactly here in the stream.
      await new Promise<void>((resolve) => (this.stream as unknown as zlib.ZlibParams).params(wanted, zlib.constants.Z_DEFAULT_STRATEGY, () => resolve()));
      this.currentLevel = wanted;
    }
    if (!this.stream.write(segment.data)) await once(this.stream, "drain");
  }

  async end(): Promise<void> {
    this.stream.end();
  }
}
