// What a catalog question may say (GET /api/catalog's query string, the CLI's `find`), checked field by field (a 400
// names each bad one), and its paging token: where the previous page ended, bound to the container, the registry and
// the filters it was made for, so that a token can only continue the very query it came from.
import { createHash } from "node:crypto";
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { isValidDigest, isValidRepository, isValidTag, loginServerSchema } from "../registry/reference.js";
import { SHA256_HEX } from "../registry/digest.js";
import { CATALOG_STATES, type CatalogState } from "../storage/indexTags.js";
import { formatIssues } from "../validation.js";

export const CATALOG_MAX_PAGE_SIZE = 200;
export const CATALOG_DEFAULT_PAGE_SIZE = 50;
const MAX_TOKEN_LENGTH = 4096;

/** A time filter: an ISO 8601 date (`2026-12-01`, midnight UTC) or date-time with `Z` or an offset. */
const timeFilter = z
  .string()
  .refine(
    (s) =>
      (/^\d{4}-\d\d-\d\d$/.test(s) || /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/.test(s)) &&
      !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)),
    "must be an ISO 8601 date (2026-12-01) or date-time with a zone (2026-12-01T10:00:00Z)",
  )
  .transform((s) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s));

const pageSize = z.preprocess(
  (v) => (v === undefined || v === "" ? CATALOG_DEFAULT_PAGE_SIZE : typeof v === "string" ? Number(v) : v),
  z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be ≥ 1")
    .max(CATALOG_MAX_PAGE_SIZE, `must be ≤ ${CATALOG_MAX_PAGE_SIZE}`),
);

export const catalogQuerySchema = z
  .strictObject({
    /** The login server whose archives to search (archives are filed by it). */
    registry: z.preprocess(
      (v) => (typeof v === "string" ? v.toLowerCase() : v),
      z.string({ error: "is required: the registry's login server" }).pipe(loginServerSchema),
    ),
    repository: z.string().refine(isValidRepository, "must be a repository name (team/api)").optional(),
    /** Every digest the tag has named in the repository (its tag markers), so it needs the repository. */
    tag: z.string().refine(isValidTag, "must be a tag").optional(),
    digest: z.string().refine(isValidDigest, "must be a digest sha256:<64 hex>").optional(),
    /** Archived at or after (inclusive), to the second. */
    archivedAfter: timeFilter.optional(),
    /** Archived before (exclusive), to the second. */
    archivedBefore: timeFilter.optional(),
    state: z
      .enum(Object.keys(CATALOG_STATES) as [CatalogState, ...CatalogState[]], {
        error: `must be one of ${Object.keys(CATALOG_STATES).join(", ")}`,
      })
      .optional(),
    pageSize,
    continuationToken: z
      .string()
      .min(1)
      .max(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`)
      .optional(),
  })
  .superRefine((q, ctx) => {
    if (q.tag !== undefined && q.repository === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["tag"],
        message: "needs repository (a tag's history is kept per repository)",
      });
    if (q.archivedAfter && q.archivedBefore && q.archivedAfter >= q.archivedBefore)
      ctx.addIssue({ code: "custom", path: ["archivedBefore"], message: "must be later than archivedAfter" });
  });

export type CatalogQuery = z.output<typeof catalogQuerySchema>;
/** What a caller passes (query-string values are strings; the schema checks everything). */
export interface CatalogQueryInput {
  registry: string;
  repository?: string;
  tag?: string;
  digest?: string;
  archivedAfter?: string;
  archivedBefore?: string;
  state?: string;
  pageSize?: number | string;
  continuationToken?: string;
}

/** A query from untrusted input; INVALID_ARGUMENT naming every bad field, one a line. */
export function parseCatalogQuery(input: unknown): CatalogQuery {
  const parsed = catalogQuerySchema.safeParse(input);
  if (!parsed.success) throw new ArchiveError("INVALID_ARGUMENT", formatIssues(parsed.error).join("\n"));
  return parsed.data;
}

/** The filters of a query as they are answered and echoed (dates in ISO form), without paging. */
export interface CatalogFilters {
  registry: string;
  repository?: string;
  tag?: string;
  digest?: string;
  archivedAfter?: string;
  archivedBefore?: string;
  state?: CatalogState;
}

export function catalogFilters(query: CatalogQuery): CatalogFilters {
  return {
    registry: query.registry,
    ...(query.repository !== undefined && { repository: query.repository }),
    ...(query.tag !== undefined && { tag: query.tag }),
    ...(query.digest !== undefined && { digest: query.digest }),
    ...(query.archivedAfter && { archivedAfter: query.archivedAfter.toISOString() }),
    ...(query.archivedBefore && { archivedBefore: query.archivedBefore.toISOString() }),
    ...(query.state !== undefined && { state: query.state }),
  };
}

// ---- the paging token ------------------------------------------------------------------------------------------------

/** Which listing a token continues: Find Blobs by Tags, or a tag's markers (a prefix listing). */
export type CatalogSource = "index" | "tag-markers";

/** What a token carries: the service's marker, and what it is bound to. */
export interface CatalogPosition {
  source: CatalogSource;
  /** The storage service's own continuation marker (opaque). */
  marker: string;
}

const tokenSchema = z.strictObject({
  v: z.literal(1),
  container: z.string(),
  registry: z.string(),
  filters: z.string().regex(SHA256_HEX),
  source: z.enum(["index", "tag-markers"]),
  marker: z.string().min(1).max(2048),
});

/** The digest the token binds a query's filters with: the same filters, the same hash, whatever their order. */
function filtersHash(filters: CatalogFilters): string {
  const canonical = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)));
  return createHash("sha256").update(canonical).digest("hex");
}

/** A token that continues this query (in this container) where `position` says. */
export function encodeCatalogToken(container: string, filters: CatalogFilters, position: CatalogPosition): string {
  const body = {
    v: 1,
    container,
    registry: filters.registry,
    filters: filtersHash(filters),
    source: position.source,
    marker: position.marker,
  } satisfies z.input<typeof tokenSchema>;
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/**
 * The position a token holds, once it is shown to belong to this container, this registry and these filters
 * (INVALID_ARGUMENT `continuationToken: …` otherwise). No signature is needed: a token only moves a cursor inside the
 * query it is checked against, and that query names the container (Find Blobs by Tags in Container, a listing of the
 * container) and the registry (an index tag clause, a name prefix), so even a forged marker cannot reach another
 * container's or another registry's records.
 */
export function decodeCatalogToken(token: string, container: string, filters: CatalogFilters): CatalogPosition {
  const problem = (message: string) => new ArchiveError("INVALID_ARGUMENT", `continuationToken: ${message}`);
  let body: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw problem("is not a token this catalog issued");
  }
  const parsed = tokenSchema.safeParse(body);
  if (!parsed.success) throw problem("is not a token this catalog issued");
  const t = parsed.data;
  if (t.container !== container) throw problem("belongs to another container's catalog");
  if (t.registry !== filters.registry) throw problem("belongs to another registry's catalog");
  if (t.filters !== filtersHash(filters)) throw problem("belongs to a query with other filters");
  const expected: CatalogSource = filters.tag !== undefined ? "tag-markers" : "index";
  if (t.source !== expected) throw problem("belongs to a query with other filters");
  return { source: t.source, marker: t.marker };
}
