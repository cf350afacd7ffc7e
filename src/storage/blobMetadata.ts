// The blob metadata this tool writes (archive, sidecar, tag marker, run summary): the one definition of its keys, and
// the mapping between typed objects and the string map Azure stores. It lets a listing (`--include m`) say what each blob is
// without a read (an Archive-tier blob cannot be read), and a sidecar be rebuilt from its archive alone.
/** How an archive can be read: OCI layout and docker-archive in one, or (an artifact, not an image) OCI layout only. */
export type ArchiveFormat = "oci-layout+docker-archive" | "oci-layout";

/** Metadata keys (lower case: Azure keeps a key's case but matches it case-insensitively). */
export const MetadataKeys = {
  /** The image's digest (archive, sidecar, tag marker). */
  sourceDigest: "sourcedigest",
  /** `registry/repository:tag` as it was asked for (archive). */
  sourceImage: "sourceimage",
  /** sha256 hex of the .tar.gz (archive). */
  archiveSha256: "archivesha256",
  /** Bytes of the uncompressed tar (archive). */
  tarSize: "tarsize",
  gzipLevel: "gziplevel",
  /** Whole tags, comma-separated, as many as fit (archive). */
  tags: "tags",
  /** ArchiveFormat: `oci-layout+docker-archive` or `oci-layout` (archive). */
  format: "format",
  /** Hex digests of the layers left out, comma-separated; absent when they did not fit (archive). */
  externalLayers: "externallayers",
  /** `<name>/<version>` of the writer (archive). */
  tool: "tool",
  /**
   * The archive was read back from storage and verified (ArchiveVerificationMetadata as JSON): set before it goes to
   * Archive tier (whose blobs' metadata cannot change), so an archive in Archive tier with it is a verified one
   * (archive, verification record).
   */
  verification: "verification",
  /** The archive a tag marker points at, URI-encoded (tag marker). */
  archiveBlob: "archiveblob",
  /**
   * A tag marker's rank among its tag's markers: one more than the newest's when written, so the newest marker names
   * the digest the tag had when it was last seen, whatever the clocks (tag marker).
   */
  tagSequence: "tagsequence",
  /** When the tag was last seen naming this digest, ISO 8601 with milliseconds (tag marker). */
  tagSeenAt: "tagseenat",
  /** A run's totals as JSON (summary): a retried summary activity answers them without reading every image. */
  summaryTotals: "totals",
} as const;

// A blob's metadata is 8 KiB in all: the tags get half, the external layers a quarter (about 30 digests).
const MAX_TAGS_LENGTH = 4096;
const MAX_EXTERNAL_LAYERS_LENGTH = 2048;

/** What an archive blob's metadata records. */
export interface ArchiveBlobMetadata {
  sourceDigest: string;
  sourceImage: string;
  archiveSha256: string;
  tarSize: number;
  gzipLevel: number;
  tags: string[];
  format: ArchiveFormat;
  /** Digests (`sha256:…`) of the non-distributable layers left out of the archive. */
  externalLayers: string[];
  tool: string;
}

/**
 * The metadata map of an archive blob. Lossy where 8 KiB demand it: only whole tags that fit, and the external layers
 * only when all of them fit (a rebuild without them asks the registry).
 */
export function archiveBlobMetadata(metadata: ArchiveBlobMetadata): Record<string, string> {
  const external = metadata.externalLayers.map((digest) => digest.slice("sha256:".length)).join(",");
  return {
    [MetadataKeys.sourceDigest]: metadata.sourceDigest,
    [MetadataKeys.sourceImage]: metadata.sourceImage,
    [MetadataKeys.archiveSha256]: metadata.archiveSha256,
    [MetadataKeys.tarSize]: String(metadata.tarSize),
    [MetadataKeys.gzipLevel]: String(metadata.gzipLevel),
    [MetadataKeys.tags]: joinWithin(metadata.tags, MAX_TAGS_LENGTH),
    [MetadataKeys.format]: metadata.format,
    ...(external.length <= MAX_EXTERNAL_LAYERS_LENGTH && { [MetadataKeys.externalLayers]: external }),
    [MetadataKeys.tool]: metadata.tool,
  };
}

/**
 * An archive blob's metadata map read back: each field that is present (an archive the old worker wrote has none).
 * `tags` and `externalLayers` are present, possibly empty, whenever their key is.
 */
export function parseArchiveBlobMetadata(metadata: Record<string, string> | undefined): Partial<ArchiveBlobMetadata> {
  const m = metadata ?? {};
  const list = (value: string) => (value ? value.split(",") : []);
  const parsed: Partial<ArchiveBlobMetadata> = {};
  if (m[MetadataKeys.sourceDigest] !== undefined) parsed.sourceDigest = m[MetadataKeys.sourceDigest];
  if (m[MetadataKeys.sourceImage] !== undefined) parsed.sourceImage = m[MetadataKeys.sourceImage];
  if (m[MetadataKeys.archiveSha256] !== undefined) parsed.archiveSha256 = m[MetadataKeys.archiveSha256];
  if (m[MetadataKeys.tarSize] !== undefined) parsed.tarSize = Number(m[MetadataKeys.tarSize]);
  if (m[MetadataKeys.gzipLevel] !== undefined) parsed.gzipLevel = Number(m[MetadataKeys.gzipLevel]);
  if (m[MetadataKeys.tags] !== undefined) parsed.tags = list(m[MetadataKeys.tags]);
  const format = m[MetadataKeys.format];
  if (format === "oci-layout" || format === "oci-layout+docker-archive") parsed.format = format;
  if (m[MetadataKeys.externalLayers] !== undefined)
    parsed.externalLayers = list(m[MetadataKeys.externalLayers]).map((hex) => `sha256:${hex}`);
  if (m[MetadataKeys.tool] !== undefined) parsed.tool = m[MetadataKeys.tool];
  return parsed;
}

/** How an archive was verified: read back by its writer before Archive tier, or by a verify-only restore run. */
export type VerificationMethod = "read-back-after-write" | "verify-only-restore";

/** What an archive's metadata records of its verification (the sidecar has the whole record). */
export interface ArchiveVerificationMetadata {
  /** ISO 8601 UTC, with milliseconds. */
  verifiedAtUtc: string;
  method: VerificationMethod;
  /** Blobs (configs, layers, the referrers' blobs) and manifests checked, and referrers listed. */
  blobs: number;
  manifests: number;
  referrers: number;
}

/** The metadata entry that records a verification (added to the archive's own before its tier changes). */
export function verificationMetadata(verification: ArchiveVerificationMetadata): Record<string, string> {
  const { verifiedAtUtc, method, blobs, manifests, referrers } = verification;
  return { [MetadataKeys.verification]: JSON.stringify({ verifiedAtUtc, method, blobs, manifests, referrers }) };
}

/**
 * A verification from metadata, or undefined when there is none or it is not well-formed (anyone with write access
 * can set metadata: a malformed one counts as none, never as verified).
 */
export function parseVerificationMetadata(
  metadata: Record<string, string> | undefined,
): ArchiveVerificationMetadata | undefined {
  const json = metadata?.[MetadataKeys.verification];
  if (json === undefined || json.length > 1024) return undefined;
  let value: Partial<Record<keyof ArchiveVerificationMetadata, unknown>>;
  try {
    value = JSON.parse(json) as typeof value;
  } catch {
    return undefined;
  }
  const count = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  const { verifiedAtUtc, method, blobs, manifests, referrers } = value ?? {};
  if (
    typeof verifiedAtUtc !== "string" ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(verifiedAtUtc) ||
    Number.isNaN(new Date(verifiedAtUtc).getTime()) ||
    (method !== "read-back-after-write" && method !== "verify-only-restore") ||
    !count(blobs) ||
    !count(manifests) ||
    !count(referrers)
  )
    return undefined;
  return { verifiedAtUtc, method, blobs, manifests, referrers };
}

/** A sidecar's metadata: the digest it describes. */
export function sidecarBlobMetadata(sourceDigest: string): Record<string, string> {
  return { [MetadataKeys.sourceDigest]: sourceDigest };
}

/** When a tag was last seen naming a marker's digest: its rank among the tag's markers, and the time. */
export interface TagSeen {
  /** 1 for a tag's first marker; a marker written before sequences has none (ranks 0). */
  sequence: number;
  seenAt: Date;
}

/** A tag marker's metadata: the archive it points at, that archive's digest, and when the tag was last seen on it. */
export function tagMarkerBlobMetadata(
  archiveBlob: string,
  sourceDigest: string,
  seen?: TagSeen,
): Record<string, string> {
  return {
    [MetadataKeys.archiveBlob]: encodeURIComponent(archiveBlob),
    [MetadataKeys.sourceDigest]: sourceDigest,
    ...(seen && {
      [MetadataKeys.tagSequence]: String(seen.sequence),
      [MetadataKeys.tagSeenAt]: seen.seenAt.toISOString(),
    }),
  };
}

/** A tag marker's TagSeen from its metadata: each part only when well-formed (anyone with write access can set it). */
export function parseTagSeen(metadata: Record<string, string> | undefined): Partial<TagSeen> {
  const parsed: Partial<TagSeen> = {};
  const sequence = metadata?.[MetadataKeys.tagSequence];
  if (sequence !== undefined && /^[1-9][0-9]{0,14}$/.test(sequence)) parsed.sequence = Number(sequence);
  const seenAt = metadata?.[MetadataKeys.tagSeenAt];
  if (seenAt !== undefined && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(seenAt)) {
    const at = new Date(seenAt);
    if (!Number.isNaN(at.getTime())) parsed.seenAt = at;
  }
  return parsed;
}

/** A run summary's metadata: its totals, as JSON. */
export function summaryBlobMetadata(totals: unknown): Record<string, string> {
  return { [MetadataKeys.summaryTotals]: JSON.stringify(totals) };
}

/** A run summary's totals from its metadata; undefined when absent or not JSON (a summary written before them). */
export function parseSummaryTotals<T>(metadata: Record<string, string> | undefined): T | undefined {
  const json = metadata?.[MetadataKeys.summaryTotals];
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}

/** Whole values, comma-separated, as many as fit in `max` characters. */
function joinWithin(values: string[], max: number): string {
  let joined = "";
  for (const value of values) {
    const next = joined ? `${joined},${value}` : value;
    if (next.length > max) break;
    joined = next;
  }
  return joined;
}
