// Reads the blobs of one image ahead, in parallel, while its archive is written in its fixed order: the writer takes
// blob after blob (stream(i)), each verified against its digest and size as its bytes are taken, and meanwhile the next
// blobs are fetched over up to `concurrency` connections. A blob larger than `partBytes` is split into ranged GETs
// (parts) fetched concurrently; the client resumes a part that breaks off (client/resumableBody.ts). Each GET's first
// answer says whether the registry honours Range: one that answers 200 gets each later blob as one stream (the first
// part becomes the whole blob, read no faster than it is taken).
// Parts grow with a connection's speed (partPlan), because each GET costs: ACR meters reads per minute (the client's
// read budget delays requests past REGISTRY_READS_PER_MINUTE) and a registry spends CPU per request. The speed is
// counted from a part's first answer, not its request: the wait before an answer (the budget, a round trip, a busy
// server) is not the connection's. Measurements: docs/benchmarks.md.
//
// Memory: a part is started only while the bytes reserved by parts not yet taken stay within `budgetBytes` (or when
// nothing is reserved, so one part larger than the budget still goes), a fallback or streamed part buffers at most
// one part (what it reserves), and no part takes more than its range and one byte, whatever a registry sends (the byte
// over is the verifier's SIZE_MISMATCH): never more than budget + one part is held. `stats` counts it, for the tests.
import { setMaxListeners } from "node:events";
import { ArchiveError } from "../errors.js";
import type { OperationOptions, RegistryClient } from "./registryClient.js";
import type { Descriptor } from "./types.js";
import { verifyingReader } from "./verifyingReader.js";

export interface BlobPrefetchOptions {
  /** Blob GETs in flight at once (connections to the registry). */
  concurrency: number;
  /** Bytes fetched ahead of the writer, at most (plus one part). */
  budgetBytes: number;
  /** Blobs larger than this are fetched as ranged parts of this size. */
  partBytes: number;
  /**
   * A part may grow to this many bytes (whole parts of `partBytes`) where one connection reads fast enough; default
   * `partBytes` (parts never grow).
   */
  maxPartBytes?: number;
}

export const DEFAULT_PART_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_PART_BYTES = 16 * 1024 * 1024;
/** A grown part is about this long a read for one connection at the speed the last part showed. */
export const PART_TARGET_SECONDS = 0.2;

/** What one part showed: its answer's bytes per second from its first answer on, and how long its request waited. */
export interface PartTiming {
  bytesPerSecond: number;
  waitSeconds: number;
}

/**
 * How the next part of a blob is fetched, from what the last part showed. `limit`: the bytes it may take, at most: what
 * one connection reads at `last`'s speed in PART_TARGET_SECONDS, or in as long as `last`'s request waited if longer (a
 * part's bytes should take at least as long as the wait before them, or the waits, not the bytes, set the pace); never
 * more than maxPartBytes or half the budget (a grown part is fetched while the writer still has the other half to take),
 * never less than partBytes.
 *
 * `stream`: the rest of the blob is better one GET read as it is taken. Parts at that bound, n in flight (as many as
 * the budget and `concurrency` allow), bring about n * bound per (wait + bound / speed); one stream brings the speed.
 * The stream is faster when speed * wait > (n - 1) * bound: where requests wait (longer than PART_TARGET_SECONDS) and
 * a connection is fast. Behind a slow, paced connection parts stay, however long the wait. Only where parts may grow.
 */
export function partPlan(
  last: PartTiming,
  options: { concurrency: number; partBytes: number; maxPartBytes: number; budgetBytes: number },
): { limit: number; stream: boolean } {
  const { concurrency, partBytes, maxPartBytes, budgetBytes } = options;
  const want = last.bytesPerSecond * Math.max(PART_TARGET_SECONDS, last.waitSeconds);
  const bound = Math.min(maxPartBytes, Math.max(partBytes, budgetBytes / 2));
  const inFlight = Math.max(1, Math.min(concurrency, Math.floor(budgetBytes / bound)));
  return {
    limit: Math.max(partBytes, Math.min(bound, want)),
    stream:
      maxPartBytes > partBytes && last.waitSeconds > PART_TARGET_SECONDS && want > Math.max(1, inFlight - 1) * bound,
  };
}

export interface BlobPrefetchStats {
  /** Blob GETs started (parts; resumes within a part are not counted). */
  partsStarted: number;
  bufferedBytes: number;
  peakBufferedBytes: number;
  peakReservedBytes: number;
  peakActive: number;
  /** The largest part started, in bytes (more than partBytes: parts grew). */
  largestPartBytes: number;
  /** Parts started as the rest of their blob in one streamed GET. */
  streamedParts: number;
  /** A ranged GET was answered with 200: the registry ignores Range. */
  rangeIgnored: boolean;
}

interface Part {
  blob: number;
  /** Its place among its blob's parts. */
  index: number;
  start: number;
  end: number;
  /** The blob has several parts: this one is asked for with Range. */
  ranged: boolean;
  state: "waiting" | "running" | "done" | "skipped";
  reserved: number;
  /** The registry ignored Range: this part is the whole blob, read as it is taken. */
  whole: boolean;
  /** The rest of its blob in one GET, read as it is taken (requests wait too long for parts: see partPlan). */
  streamed: boolean;
  received: number;
  chunks: Buffer[];
  buffered: number;
  error?: unknown;
  wake?: () => void;
  drained?: () => void;
}

export class BlobPrefetcher {
  readonly stats: BlobPrefetchStats = {
    partsStarted: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
    peakReservedBytes: 0,
    peakActive: 0,
    largestPartBytes: 0,
    streamedParts: 0,
    rangeIgnored: false,
  };
  private readonly parts: Part[] = [];
  private readonly partsOf: Part[][] = [];
  /** Per blob: did the registry answer its first ranged part with 206 (true) or 200 (false); undefined: not yet. */
  private readonly rangeHonoured: (boolean | undefined)[] = [];
  private rangeSupport: boolean | undefined;
  private next = 0;
  private active = 0;
  private reserved = 0;
  private closed = false;
  private readonly controller = new AbortController();
  private readonly onAbort = () => this.close();
  private readonly options: Required<BlobPrefetchOptions>;
  /** The last part measured (ended whole, at least partBytes): one connection's speed and its request's wait. */
  private lastPart: PartTiming | undefined;

  private readonly blobs: Descriptor[] = [];

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    blobs: readonly Descriptor[],
    options: BlobPrefetchOptions & OperationOptions,
  ) {
    const partBytes = Math.max(1, options.partBytes);
    this.options = {
      concurrency: Math.max(1, options.concurrency),
      budgetBytes: Math.max(0, options.budgetBytes),
      partBytes,
      maxPartBytes: Math.max(partBytes, options.maxPartBytes ?? partBytes),
    };
    // Each GET in flight listens on this signal (its request, a retry's wait): more than Node's default 10 is normal.
    setMaxListeners(Math.max(10, 3 * this.options.concurrency + 4), this.controller.signal);
    if (options.abortSignal?.aborted) this.close();
    options.abortSignal?.addEventListener("abort", this.onAbort, { once: true });
    this.append(blobs);
  }

  /** The blobs read so far, in archive order (the constructor's, then every append's). */
  get descriptors(): readonly Descriptor[] {
    return this.blobs;
  }

  /**
   * More blobs after those already given (an image's referrers, found while its own blobs are read ahead): they are
   * fetched after them, within the same budget, and taken with stream(index) at their index in archive order.
   */
  append(blobs: readonly Descriptor[]): void {
    const { partBytes } = this.options;
    for (const blob of blobs) {
      const index = this.blobs.length;
      this.blobs.push(blob);
      const ranged = blob.size > partBytes;
      const parts: Part[] = [];
      for (let start = 0; start < blob.size || (start === 0 && parts.length === 0); start += partBytes) {
        const end = Math.min(blob.size, start + partBytes);
        parts.push({
          blob: index,
          index: parts.length,
          start,
          end,
          ranged,
          state: "waiting",
          reserved: 0,
          whole: false,
          streamed: false,
          received: 0,
          chunks: [],
          buffered: 0,
        });
        if (blob.size === 0) break;
      }
      this.partsOf.push(parts);
      this.parts.push(...parts);
    }
    this.pump();
  }

  /** Blob `index`'s bytes, verified as they are taken; take the blobs in order, each to its end. */
  stream(index: number): AsyncGenerator<Buffer> {
    const descriptor = this.blobs[index]!;
    const what = `blob ${descriptor.digest} of ${this.repository}`;
    return verifyingReader(this.take(index), descriptor, { what, corruption: "its bytes in the registry are corrupt" });
  }

  /** Stops every fetch; the bytes held are let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.abort();
    for (const part of this.parts) {
      part.chunks = [];
      part.buffered = 0;
      part.wake?.();
      part.drained?.();
    }
    this.stats.bufferedBytes = 0;
  }

  private async *take(index: number): AsyncGenerator<Buffer> {
    for (const part of this.partsOf[index]!) {
      if (part.state === "skipped") continue;
      for (;;) {
        if (this.closed) throw new ArchiveError("ABORTED", "the blob reads were stopped");
        const chunk = part.chunks.shift();
        if (chunk) {
          part.buffered -= chunk.length;
          this.stats.bufferedBytes -= chunk.length;
          part.drained?.();
          yield chunk;
          continue;
        }
        if (part.error !== undefined) throw part.error;
        if (part.state === "done") break;
        await new Promise<void>((resolve) => (part.wake = resolve));
        part.wake = undefined;
      }
      this.reserved -= part.reserved;
      part.reserved = 0;
      this.pump();
    }
  }

  /** Starts the next parts, in archive order, while connections and the budget allow. */
  private pump(): void {
    const { concurrency, budgetBytes } = this.options;
    while (!this.closed && this.next < this.parts.length && this.active < concurrency) {
      const part = this.parts[this.next]!;
      if (part.state === "skipped") {
        this.next++;
        continue;
      }
      if (part.start > 0) {
        const honoured = this.rangeHonoured[part.blob];
        // Wait for the blob's first answer, unless the registry has already shown it honours Range.
        if (honoured === undefined && this.rangeSupport !== true) break;
      }
      const parts = this.partsOf[part.blob]!;
      const { last, streamed } = this.partToTake(part);
      const length = parts[last]!.end - part.start;
      // A streamed part holds at most one part's bytes, however long it is.
      const reserve = streamed ? Math.min(length, this.options.partBytes) : length;
      if (this.reserved > 0 && this.reserved + reserve > budgetBytes) break;
      this.next++;
      for (let i = part.index + 1; i <= last; i++) parts[i]!.state = "skipped";
      part.end = parts[last]!.end;
      part.streamed = streamed;
      part.state = "running";
      part.reserved = reserve;
      this.reserved += part.reserved;
      this.active++;
      this.stats.partsStarted++;
      if (streamed) this.stats.streamedParts++;
      this.stats.largestPartBytes = Math.max(this.stats.largestPartBytes, length);
      this.stats.peakReservedBytes = Math.max(this.stats.peakReservedBytes, this.reserved);
      this.stats.peakActive = Math.max(this.stats.peakActive, this.active);
      void this.fetch(part);
    }
  }

  /**
   * The last of its blob's parts this one takes in (its own index: none), and whether it is streamed: as many
   * following waiting parts as fit in partPlan's limit, or all of them, streamed. Where the budget is full (the writer
   * is slower than the reading), the part waits for room rather than start small.
   */
  private partToTake(part: Part): { last: number; streamed: boolean } {
    if (!part.ranged || this.lastPart === undefined) return { last: part.index, streamed: false };
    const plan = partPlan(this.lastPart, this.options);
    const parts = this.partsOf[part.blob]!;
    let last = part.index;
    const fits = (next: Part) => plan.stream || next.end - part.start <= plan.limit;
    while (last + 1 < parts.length && parts[last + 1]!.state === "waiting" && fits(parts[last + 1]!)) last++;
    return { last, streamed: plan.stream && last > part.index };
  }

  private async fetch(part: Part): Promise<void> {
    const descriptor = this.blobs[part.blob]!;
    const { partBytes } = this.options;
    const started = performance.now();
    let answeredAt: number | undefined;
    try {
      const answer = await this.client.readBlobRange(this.repository, descriptor, part, {
        abortSignal: this.controller.signal,
        what: `blob ${descriptor.digest} of ${this.repository}`,
      });
      let wholeBlob = false;
      // Only a ranged part's answer says anything of Range support; a blob of one part is not measured either.
      if (part.ranged) {
        answeredAt = answer.answeredAt;
        // A streamed part is not measured for speed (it is read as taken), but its wait says whether to go on.
        if (part.streamed && this.lastPart)
          this.lastPart = { ...this.lastPart, waitSeconds: (answeredAt - started) / 1000 };
        wholeBlob = this.answered(part, answer.rangeHonoured);
      }
      const bytes = answer.bytes({ wholeBlob });
      reading: for await (const chunk of bytes) {
        // A whole blob read because Range was ignored, or a streamed part, holds at most one part's bytes (what it
        // reserved): it takes in what fits and waits for the writer for the rest.
        const heldBack = part.whole || part.streamed;
        for (let rest = chunk; rest.length > 0;) {
          while (heldBack && part.buffered >= partBytes && !this.closed) {
            await new Promise<void>((resolve) => (part.drained = resolve));
            part.drained = undefined;
          }
          if (this.closed) return;
          // Never more than the part's range and one byte (the verifier's SIZE_MISMATCH), whatever the registry sends;
          // leaving the loop ends the read (the client's read stops there too).
          const room = part.end - part.start + 1 - part.received;
          if (room <= 0) break reading;
          const take = Math.min(rest.length, room, heldBack ? partBytes - part.buffered : Infinity);
          part.chunks.push(take === rest.length ? rest : rest.subarray(0, take));
          rest = rest.subarray(take);
          part.buffered += take;
          part.received += take;
          this.stats.bufferedBytes += take;
          this.stats.peakBufferedBytes = Math.max(this.stats.peakBufferedBytes, this.stats.bufferedBytes);
          part.wake?.();
        }
      }
      // Inside the blob a short part would shift every later byte: fail it here (at the end, the verifier does).
      if (!part.whole && part.end < descriptor.size && part.received < part.end - part.start) {
        throw new ArchiveError(
          "SIZE_MISMATCH",
          `blob ${descriptor.digest} of ${this.repository}: bytes ${part.start}-${part.end - 1} ended after ${part.received}`,
        );
      }
      // A whole blob or a streamed part is read as fast as it is taken, and a short part says little: none measures
      // the connection.
      if (!part.whole && !part.streamed && part.received >= partBytes && answeredAt !== undefined) {
        this.lastPart = {
          bytesPerSecond: part.received / Math.max(1e-3, (performance.now() - answeredAt) / 1000),
          waitSeconds: (answeredAt - started) / 1000,
        };
      }
    } catch (error) {
      part.error = error;
    } finally {
      part.state = "done";
      this.active--;
      part.wake?.();
      this.pump();
    }
  }

  /** The first answer to a ranged part: a 200 for the blob's first part makes that part the whole blob (fallback). */
  private answered(part: Part, honoured: boolean): boolean {
    if (part.start !== 0) return false;
    this.rangeHonoured[part.blob] = honoured;
    if (honoured) {
      this.rangeSupport ??= true;
    } else {
      this.rangeSupport = false;
      this.stats.rangeIgnored = true;
      const rest = this.partsOf[part.blob]!.slice(1);
      // Parts already started (the registry had honoured Range before) are read as ranges of a 200 answer instead.
      // (A part is skipped here only if this one took it in by growing.)
      if (rest.every((p) => p.state === "waiting" || p.state === "skipped")) {
        for (const p of rest) p.state = "skipped";
        part.whole = true;
        part.end = this.blobs[part.blob]!.size;
      }
    }
    queueMicrotask(() => this.pump());
    return part.whole;
  }
}
