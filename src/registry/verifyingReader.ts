// Checks a blob against its descriptor while it streams, as oras-go's content.VerifyReader does: bytes pass through
// unchanged and are hashed; more bytes than the descriptor says fail at once, a short read or another digest at the
// end. One verifier for blobs read from a registry (RegistryClient.getBlob) and from an archive (restore).
import { createHash } from "node:crypto";
import { ArchiveError } from "../errors.js";
import type { Descriptor } from "./types.js";

export interface VerifyingReaderOptions {
  /** What the bytes are, in messages (`blob sha256:… of repo`); default `blob <digest>`. */
  what?: string;
  /** What a digest mismatch means, after the digest in its message; default `its bytes are corrupt`. */
  corruption?: string;
}

/**
 * Yields `source`'s bytes, failing with SIZE_MISMATCH as soon as they pass `descriptor.size` (before the overrun is
 * yielded or more is read), and at the end with SIZE_MISMATCH (short) or DIGEST_MISMATCH (a sha256 digest other than
 * `descriptor.digest`). An async generator: single use, and ending it early (`return`) ends `source` too.
 */
export async function* verifyingReader(
  source: AsyncIterable<Uint8Array>,
  descriptor: Descriptor,
  options: VerifyingReaderOptions = {},
): AsyncGenerator<Buffer> {
  const what = options.what ?? `blob ${descriptor.digest}`;
  const hash = createHash("sha256");
  let received = 0;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    received += bytes.length;
    if (received > descriptor.size)
      throw new ArchiveError("SIZE_MISMATCH", `${what} is longer than its descriptor's ${descriptor.size} bytes`);
    hash.update(bytes);
    yield bytes;
  }
  if (received !== descriptor.size)
    throw new ArchiveError("SIZE_MISMATCH", `${what} ended after ${received} of ${descriptor.size} bytes`);
  const digest = `sha256:${hash.digest("hex")}`;
  if (digest !== descriptor.digest)
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${what} hashes to ${digest}: ${options.corruption ?? "its bytes are corrupt"}`,
    );
}
