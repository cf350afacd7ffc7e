// The one home of the sha256 digest's shape: every regular expression that reads a digest (a manifest's descriptor, a
// blob path in an archive, a blob name in storage, a referrer tag) is built from SHA256_HEX_SOURCE. sha256 is the only
// algorithm this tool reads or writes.
import { createHash } from "node:crypto";

/** A sha256 digest's hex part as regular-expression source: 64 lowercase hex digits. */
export const SHA256_HEX_SOURCE = "[a-f0-9]{64}";

/** 64 lowercase hex digits and nothing else (an archive's sha256 as a sidecar records it). */
export const SHA256_HEX = new RegExp(`^${SHA256_HEX_SOURCE}$`);

/** `sha256:<64 lowercase hex>` and nothing else. */
export const SHA256_DIGEST = new RegExp(`^sha256:${SHA256_HEX_SOURCE}$`);

export function isSha256Digest(value: unknown): value is string {
  return typeof value === "string" && SHA256_DIGEST.test(value);
}

/** The digest of these bytes: `sha256:<hex>`. */
export function sha256DigestOf(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
