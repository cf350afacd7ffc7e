// Blobs of the OCI distribution API: GET (a verified stream, or an unverified range for a reader that verifies the
// whole blob in order), HEAD, and the monolithic upload. Reads go through node:http (nodeRequest.ts: no copy per chunk,
// no web stream) and resume with Range where a body breaks off (resumableBody.ts).
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { ArchiveError } from "../../errors.js";
import { nodeBodyOf } from "../nodeRequest.js";
import { MediaTypes, type Descriptor } from "../types.js";
import { verifyingReader } from "../verifyingReader.js";
import { resumableBody, type PositionedBody } from "./resumableBody.js";
import { discardBody, type OperationOptions, type RegistrySession } from "./session.js";

export interface BlobExistsOptions extends OperationOptions {
  /** Ask with the push scope (restore, default) or the pull scope only (archive: a pull-only identity). */
  forPush?: boolean;
}

/** Bytes [start, end) of a blob; `ranged`: ask for them with Range (otherwise the blob is asked for whole). */
export interface BlobRange {
  start: number;
  end: number;
  ranged: boolean;
}

/** A range read's first answer, before any of its bytes is read. */
export interface BlobRangeAnswer {
  /** The registry answered with 206 (the range); false: 200, the whole blob (it ignores Range, or none was asked). */
  rangeHonoured: boolean;
  /** performance.now() when the answer came (its status and headers, checked), before its body. */
  answeredAt: number;
  /**
   * The bytes, resumed with Range where the body breaks off. `wholeBlob`: where the answer is the whole blob (a 200
   * from byte 0), take all of it rather than the range (a registry that ignores Range: one stream per blob). Call it
   * once and read it (to its end, or `return` it): the answer's body is held until then.
   */
  bytes(options?: { wholeBlob?: boolean }): AsyncGenerator<Buffer>;
}

/**
 * GET /v2/<name>/blobs/<digest> as a stream that checks size and digest while it flows (verifyingReader.ts): it errors
 * with SIZE_MISMATCH as soon as more bytes arrive than the descriptor says, and with DIGEST_MISMATCH or SIZE_MISMATCH
 * at the end. A body that ends early is resumed with a Range request.
 */
export function getBlob(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  options: OperationOptions = {},
): Readable {
  const what = `blob ${descriptor.digest} of ${repository}`;
  async function* bytes() {
    const answer = await readBlobRange(
      session,
      repository,
      descriptor,
      { start: 0, end: descriptor.size, ranged: false },
      {
        ...options,
        what,
      },
    );
    yield* answer.bytes();
  }
  const verified = verifyingReader(bytes(), descriptor, { what, corruption: "its bytes in the registry are corrupt" });
  return Readable.from(verified, { objectMode: false, highWaterMark: 1 << 20 });
}

/**
 * UNVERIFIED bytes of a blob's range, for a reader that verifies the whole blob in order (BlobPrefetcher over
 * verifyingReader). Resolves with the first answer: whether the registry honoured the Range, and when it answered;
 * its bytes are then read with `bytes()`. The range's bytes after `end` are cut off and not read, except at the blob's
 * end, where one byte more is yielded (the reader's verifier fails it with SIZE_MISMATCH) and then the reading stops:
 * never more than the range and one byte, whatever the answer's length. A 200 to a Range has the bytes before the
 * range dropped.
 */
export async function readBlobRange(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  range: BlobRange,
  options: OperationOptions & { what?: string } = {},
): Promise<BlobRangeAnswer> {
  const { start, end, ranged } = range;
  const what = options.what ?? `blob ${descriptor.digest} of ${repository}`;
  const open = (position: number, to: number, askRange: boolean) =>
    openBlobAt(session, repository, descriptor, { position, end: to, askRange }, what, options.abortSignal);
  const first = await open(start, end, ranged);
  return {
    rangeHonoured: first.partial,
    answeredAt: performance.now(),
    bytes: ({ wholeBlob = false } = {}) => {
      const to = wholeBlob && ranged && !first.partial && start === 0 ? descriptor.size : end;
      return resumableBody({
        first,
        start,
        end: to,
        overrun: to === descriptor.size ? 1 : 0,
        reopen: (position) => open(position, to, true),
        what,
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      });
    },
  };
}

/** One GET of a blob's bytes from `position` (with Range if asked: to `end`, or open-ended at the blob's end). */
async function openBlobAt(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  at: { position: number; end: number; askRange: boolean },
  what: string,
  abortSignal: AbortSignal | undefined,
): Promise<PositionedBody> {
  const { position, end, askRange } = at;
  const headers: Record<string, string> = askRange
    ? { range: end === descriptor.size ? `bytes=${position}-` : `bytes=${position}-${end - 1}` }
    : {};
  const response = await session.request(
    `/v2/${repository}/blobs/${descriptor.digest}`,
    `repository:${repository}:pull`,
    {
      headers,
      nodeBody: true,
      ...(abortSignal && { abortSignal }),
    },
  );
  await session.throwIfError(response, what);
  const nodeBody = nodeBodyOf(response);
  let skip = 0;
  if (response.status === 206) {
    const start = Number(/bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1] ?? NaN);
    if (start !== position) {
      nodeBody?.destroy();
      await discardBody(response);
      throw new ArchiveError("REGISTRY_ERROR", `${what}: the registry resumed at byte ${start}, expected ${position}`);
    }
  } else if (position > 0) skip = position; // the server ignored Range: drop what comes before
  const body = nodeBody ?? (response.body ? Readable.fromWeb(response.body as ReadableStream<Uint8Array>) : undefined);
  return { body, skip, partial: response.status === 206 };
}

/** HEAD /v2/<name>/blobs/<digest>: does the repository already have this blob? */
export async function blobExists(
  session: RegistrySession,
  repository: string,
  digest: string,
  options: BlobExistsOptions = {},
): Promise<boolean> {
  // A restore asks with the push scope it is about to use (one token); an archive only reads.
  const scope = options.forPush === false ? `repository:${repository}:pull` : `repository:${repository}:pull,push`;
  const response = await session.request(`/v2/${repository}/blobs/${digest}`, scope, {
    method: "HEAD",
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
  });
  if (response.status === 404) {
    await discardBody(response);
    return false;
  }
  await session.throwIfError(response, `blob ${digest} of ${repository}`);
  await discardBody(response);
  return true;
}

/**
 * Uploads one blob (POST to open an upload, then one monolithic PUT with `?digest=`). The body streams and is not
 * retried; the POST answers the auth challenge first, so the PUT goes out with a token.
 */
export async function uploadBlob(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  body: AsyncIterable<Buffer> | Buffer,
  options: OperationOptions = {},
): Promise<void> {
  const scope = `repository:${repository}:pull,push`;
  const opened = await session.request(`/v2/${repository}/blobs/uploads/`, scope, { method: "POST", ...options });
  await session.throwIfError(opened, `an upload to ${repository}`);
  await discardBody(opened);
  const location = opened.headers.get("location");
  if (!location) throw new ArchiveError("REGISTRY_ERROR", `${session.registry} opened an upload without a Location`);
  const url = new URL(location, session.baseUrl);
  url.searchParams.set("digest", descriptor.digest);
  const response = await session.request(url.toString(), scope, {
    method: "PUT",
    headers: { "content-type": MediaTypes.octetStream, "content-length": String(descriptor.size) },
    body,
    ...options,
  });
  await session.throwIfError(response, `blob ${descriptor.digest} of ${repository}`);
  await discardBody(response);
}
