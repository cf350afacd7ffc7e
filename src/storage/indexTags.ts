// The blob index tags of an archive and of a referrers supplement: the one definition of their keys, of how each value
// is made from what the archive is, and of the Find Blobs by Tags expressions over them (storage/archiveStore.ts runs
// them, catalog/ builds queries from them). Index tags stay readable, writable and searchable while a blob is in
// Archive tier (metadata cannot be changed there), so "what do we have for team/api, and from when?" is answered
// without reading, let alone rehydrating, an archive. The sidecar keeps the full record; the tags are its index.
//
// Azure's rules: at most 10 tags a blob; keys 1-128 and values 0-256 characters of [a-zA-Z0-9 +-./:=_]; case-sensitive;
// every comparison is between strings, lexicographic. So dates and sizes are fixed-width (they sort as they compare).
import { createHash } from "node:crypto";

/** Keys (lower case, all ten a blob may have). */
export const IndexTagKeys = {
  /** `archive` or `supplement` (a referrers supplement: referrers that arrived after the archive). */
  kind: "kind",
  /** The registry's login server, lower case. */
  registry: "registry",
  /** The repository. */
  repository: "repository",
  /** The image's digest, `sha256:<hex>`. */
  digest: "digest",
  /** The tag the image was archived under (its first tag); empty for an untagged image. Every tag: the sidecar. */
  tag: "tag",
  /** When it was committed, UTC to the second: `YYYY-MM-DDTHH:MM:SSZ` (fixed width, so it sorts as it compares). */
  archivedAt: "archivedat",
  /** The run that wrote it (`runs/<run>/…`), `cli` for the CLI without --run-id, `unknown` for a backfilled archive. */
  run: "run",
  /** Bytes of the .tar.gz, 15 digits, zero-padded (sorts as it compares; up to ~909 TiB). */
  bytes: "bytes",
  /** Verification state: `no` until a verification (read back as a restore would) sets `yes` (the verify issue). */
  verified: "verified",
  /** Purge state of the image in its registry: `none` until a purge sets another value (the purge issue). */
  purge: "purge",
} as const;

export type IndexTagKey = (typeof IndexTagKeys)[keyof typeof IndexTagKeys];

export type IndexedKind = "archive" | "supplement";

/** The placeholders the verify and purge work will replace: set on every archive, never downgraded by a backfill. */
export const INITIAL_VERIFIED = "no";
export const INITIAL_PURGE = "none";

/** The states a catalog query can ask for, and the tag clause each one means. */
export const CATALOG_STATES = {
  /** Read back and checked as a restore would (verified = yes). */
  verified: { key: IndexTagKeys.verified, value: "yes" },
  /** Not (yet) verified (verified = no). */
  unverified: { key: IndexTagKeys.verified, value: INITIAL_VERIFIED },
  /** Deleted from the registry by a purge (purge = purged). */
  purged: { key: IndexTagKeys.purge, value: "purged" },
  /** Still in the registry as far as this tool knows (purge = none). */
  "not-purged": { key: IndexTagKeys.purge, value: INITIAL_PURGE },
} as const;
export type CatalogState = keyof typeof CATALOG_STATES;

const MAX_VALUE_LENGTH = 256;
const VALUE_CHARSET = /^[a-zA-Z0-9 +\-./:=_]*$/;
const BYTES_WIDTH = 15;

/**
 * A value as stored: itself when it fits (at most 256 characters of the allowed set), else `sha256=<hex of its UTF-8
 * bytes>`. With this app's validation every registry, repository (≤ 255), tag (≤ 128), digest and run id fits as it
 * is; the mapping is what keeps a value that would not (an old archive's odd name) queryable by equality. `=` occurs
 * in none of those names, so a mapped value can never be mistaken for a real one.
 */
export function indexTagValue(value: string): string {
  if (value.length <= MAX_VALUE_LENGTH && VALUE_CHARSET.test(value)) return value;
  return `sha256=${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

/** `archivedat`'s form of a time: UTC, to the second. */
export function archivedAtValue(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

/** `bytes`'s form of a size: 15 digits, zero-padded. */
export function bytesValue(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a whole number ≥ 0: ${bytes}`);
  return String(bytes).padStart(BYTES_WIDTH, "0");
}

/** What an archive's (or supplement's) index tags say, typed. */
export interface ArchiveIndexFields {
  kind: IndexedKind;
  registry: string;
  repository: string;
  digest: string;
  /** The tag it was archived under; undefined for an untagged image. */
  tag?: string;
  archivedAt: Date;
  /** The run that wrote it; undefined: the CLI without --run-id. */
  runId?: string;
  bytes: number;
  /** Defaults: INITIAL_VERIFIED / INITIAL_PURGE (a backfill keeps whatever is there). */
  verified?: string;
  purge?: string;
}

/** The tag map stored with an archive or supplement (exactly the ten keys). */
export function archiveIndexTags(fields: ArchiveIndexFields): Record<string, string> {
  return {
    [IndexTagKeys.kind]: fields.kind,
    [IndexTagKeys.registry]: indexTagValue(fields.registry.toLowerCase()),
    [IndexTagKeys.repository]: indexTagValue(fields.repository),
    [IndexTagKeys.digest]: indexTagValue(fields.digest),
    [IndexTagKeys.tag]: indexTagValue(fields.tag ?? ""),
    [IndexTagKeys.archivedAt]: archivedAtValue(fields.archivedAt),
    [IndexTagKeys.run]: indexTagValue(fields.runId ?? "cli"),
    [IndexTagKeys.bytes]: bytesValue(fields.bytes),
    [IndexTagKeys.verified]: indexTagValue(fields.verified ?? INITIAL_VERIFIED),
    [IndexTagKeys.purge]: indexTagValue(fields.purge ?? INITIAL_PURGE),
  };
}

/** What a blob's tags say, each field only when present and well-formed (anyone with tag access can set them). */
export interface ParsedIndexTags {
  kind?: IndexedKind;
  archivedAt?: Date;
  runId?: string;
  bytes?: number;
  verified?: string;
  purge?: string;
  tag?: string;
}

export function parseArchiveIndexTags(tags: Record<string, string> | undefined): ParsedIndexTags {
  const t = tags ?? {};
  const parsed: ParsedIndexTags = {};
  const kind = t[IndexTagKeys.kind];
  if (kind === "archive" || kind === "supplement") parsed.kind = kind;
  const at = t[IndexTagKeys.archivedAt];
  if (at !== undefined && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(at) && !Number.isNaN(Date.parse(at)))
    parsed.archivedAt = new Date(at);
  const bytes = t[IndexTagKeys.bytes];
  if (bytes !== undefined && /^\d{15}$/.test(bytes)) parsed.bytes = Number(bytes);
  if (t[IndexTagKeys.run] !== undefined) parsed.runId = t[IndexTagKeys.run];
  if (t[IndexTagKeys.verified] !== undefined) parsed.verified = t[IndexTagKeys.verified];
  if (t[IndexTagKeys.purge] !== undefined) parsed.purge = t[IndexTagKeys.purge];
  if (t[IndexTagKeys.tag] !== undefined) parsed.tag = t[IndexTagKeys.tag];
  return parsed;
}

/** Whether a blob's tags are the complete set this version writes (else a backfill writes them). */
export function hasCompleteIndexTags(tags: Record<string, string> | undefined): boolean {
  return Object.values(IndexTagKeys).every((key) => tags?.[key] !== undefined);
}

// ---- Find Blobs by Tags expressions -----------------------------------------------------------------------------------

/** One clause of an expression: `"key" <op> 'value'`, the value mapped as stored. */
export interface TagClause {
  key: IndexTagKey;
  op: "=" | ">" | ">=" | "<" | "<=";
  value: string;
}

/**
 * The clauses ANDed into a Find Blobs by Tags expression. Keys come from IndexTagKeys and values from indexTagValue
 * (or the fixed-width forms above), so a value holds no quote and the expression cannot be broken out of; anything
 * else is refused here rather than sent.
 */
export function tagExpression(clauses: readonly TagClause[]): string {
  if (clauses.length === 0) throw new RangeError("an index tag expression needs at least one clause");
  return clauses
    .map(({ key, op, value }) => {
      if (!Object.values(IndexTagKeys).includes(key)) throw new RangeError(`not an index tag key: ${key}`);
      if (!VALUE_CHARSET.test(value) || value.length > MAX_VALUE_LENGTH)
        throw new RangeError(`not an index tag value: ${JSON.stringify(value)}`);
      return `"${key}" ${op} '${value}'`;
    })
    .join(" AND ");
}
