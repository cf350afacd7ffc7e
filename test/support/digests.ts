// sha256 as the tests compute it on their own (an independent check of the code's digests): hex, OCI digest, file.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `sha256:<hex>`, the OCI digest of these bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/** The sha256 hex of a file's bytes, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
