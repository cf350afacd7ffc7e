// A body that resumes, as go-containerregistry's transport/resumable.go and the Azure SDK's RetriableReadableStream do:
// the bytes [start, end) of one resource read across answers, where a body that breaks off (a socket error, the idle
// timeout) or ends early is asked for again from the byte it had. The reader sees one stream; it verifies the bytes
// (verifyingReader.ts), since a resumed answer is only as good as the server that sent it.
import { ArchiveError } from "../../errors.js";

/** One answer's body, for bytes from a known position of the resource. */
export interface PositionedBody {
  /** The answer's bytes; undefined: it has none, and the read ends. */
  body: AsyncIterable<Uint8Array> | undefined;
  /** Leading bytes of the body before the position asked for (a 200 to a Range sends the whole resource): dropped. */
  skip: number;
  /** A 206: the body ends where the range asked for does, and is read to its end (its connection stays usable). */
  partial: boolean;
}

export interface ResumableBodyOptions {
  /** The answer already in hand, for bytes from `start`. */
  first: PositionedBody;
  start: number;
  /** The read is complete at this byte. */
  end: number;
  /** Bytes past `end` passed on before the reading stops (1 at a blob's end: the verifier's SIZE_MISMATCH); default 0. */
  overrun?: number;
  /** Asks again for the bytes from `position` on (with Range). */
  reopen(position: number): Promise<PositionedBody>;
  /** What is read, in errors (`blob sha256:… of repo`). */
  what: string;
  abortSignal?: AbortSignal;
}

// Bytes re-requested with Range after a body ends early, before the read fails.
const MAX_RESUMES = 3;
/**
 * A break after at least this many bytes since the last one starts the resume count again: a long read (a blob streamed
 * in one GET) gets MAX_RESUMES per stretch, not for its whole length, while a server that breaks every few bytes still
 * runs out (at most one request per this many bytes, as ranged parts cost).
 */
const RESUME_PROGRESS_BYTES = 4 * 1024 * 1024;

/**
 * The bytes [start, end) in order. A body that breaks off is resumed from the byte it broke at (REGISTRY_UNREACHABLE
 * after MAX_RESUMES breaks in a row without RESUME_PROGRESS_BYTES between them); one that ends short is resumed the
 * same way, and after as many ends short the read just ends (the caller's verifier says how short). Bytes past
 * `end + overrun` are cut off and not read: never more than that, whatever an answer's length. Ending the generator
 * early (`return`) lets the body in hand go.
 */
export async function* resumableBody(options: ResumableBodyOptions): AsyncGenerator<Buffer> {
  const { end, what, abortSignal } = options;
  const limit = end + (options.overrun ?? 0);
  let position = options.start;
  let resumes = 0;
  let brokeAt = position;
  const broke = () => {
    if (position - brokeAt >= RESUME_PROGRESS_BYTES) resumes = 0;
    brokeAt = position;
    return ++resumes > MAX_RESUMES;
  };
  for (let answer = options.first; ; answer = await options.reopen(position)) {
    const { body, partial } = answer;
    if (!body) return;
    let skip = answer.skip;
    let failed = false;
    try {
      for await (const raw of body) {
        let chunk = raw as Buffer;
        if (skip > 0) {
          const drop = Math.min(skip, chunk.length);
          skip -= drop;
          chunk = chunk.subarray(drop);
          if (chunk.length === 0) continue;
        }
        const overrun = position + chunk.length > limit;
        if (overrun) chunk = chunk.subarray(0, limit - position);
        position += chunk.length;
        // An overrun may also end this generator from the reader (return at the yield), never through the catch.
        if (chunk.length > 0) yield chunk;
        // The rest of a 200 answer is not ours, nor more than a 206 promised: let the body go (the loop's end destroys it).
        if (overrun || (position >= limit && !partial)) break;
      }
    } catch (error) {
      if (abortSignal?.aborted) throw new ArchiveError("ABORTED", `${what}: the read was aborted`, { cause: error });
      if (broke())
        throw new ArchiveError("REGISTRY_UNREACHABLE", `${what}: the download kept failing at byte ${position}`, {
          cause: error,
        });
      failed = true;
    }
    if (position >= end) return;
    if (!failed && broke()) return;
  }
}
