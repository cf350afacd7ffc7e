// The catalog: "what do we have archived for team/api, and from when?", answered while every archive sits in Archive
// tier. Archives are found by their blob index tags (Find Blobs by Tags, storage/indexTags.ts), or, for a tag, by its
// tag markers (every digest the tag has named in the repository); each one found is described from its sidecar (Cool
// tier, readable) and its index tags. Nothing is rehydrated, nothing is read from an archive. Paged: a page's token
// continues the same query only (catalogQuery.ts). The first page adds the totals of the whole answer (bytes, their
// Archive-tier cost a month, when all of it may be deleted without the early-deletion charge), counted from index tags
// alone, and where the registry's storage stands against its SKU's allowance.
import type { ContainerClient } from "@azure/storage-blob";
import { mapConcurrent } from "../concurrency.js";
import {
  archivePerMonth,
  earlyDeletionFreeFrom,
  estimateBasis,
  money,
  registryAllowance,
  type EstimateBasis,
  type PriceSheet,
  type RegistryAllowance,
  type RegistryStorage,
} from "../cost/costEstimate.js";
import type { ArchiveSidecar } from "../archive/sidecar.js";
import {
  findBlobsByIndexTags,
  getIndexTags,
  getSidecar,
  listBlobsWithIndexTags,
  type TaggedBlob,
} from "../storage/archiveStore.js";
import {
  archiveBlobIdentity,
  archiveBlobName,
  referrersSupplementIdentity,
  repositoryTagMarkersPrefix,
  sidecarBlobName,
  tagMarkerIdentity,
} from "../storage/blobNames.js";
import {
  archivedAtValue,
  CATALOG_STATES,
  IndexTagKeys,
  indexTagValue,
  parseArchiveIndexTags,
  tagExpression,
  type TagClause,
} from "../storage/indexTags.js";
import {
  catalogFilters,
  decodeCatalogToken,
  encodeCatalogToken,
  type CatalogFilters,
  type CatalogPosition,
  type CatalogQuery,
} from "./catalogQuery.js";

export interface CatalogDependencies {
  container: ContainerClient;
  prices: PriceSheet;
  /** The registry's SKU and usage (registry/registryStorage.ts); without it the totals say nothing of the registry. */
  registryStorage?: (registry: string) => Promise<RegistryStorage>;
  /** The totals count at most this many blobs (archives and supplements); past it they say `complete: false`. */
  totalsMaxBlobs?: number;
  abortSignal?: AbortSignal;
}

/** One archived image, as its sidecar and index tags describe it. */
export interface CatalogItem {
  registry: string;
  repository: string;
  digest: string;
  /** Every tag it had when it was archived (its sidecar's). */
  tags: string[];
  /** When it was archived (its `archivedat` index tag, or, not yet indexed, its sidecar's creation time). */
  archivedAt: string;
  /** The run that archived it (`cli`: the CLI; `unknown`: indexed by the backfill). */
  runId?: string;
  /** Verification and purge state (index tags); undefined while the archive has no index tags yet (the backfill). */
  state?: { verified: string; purge: string };
  archiveBlob: string;
  sidecarBlob: string;
  /** The archive's bytes plus its referrers supplements'. */
  bytes: number;
  archive: { bytes: number; sha256?: string };
  format?: string;
  platforms: string[];
  referrers: number;
  supplements: { archiveBlob: string; createdAtUtc: string; bytes: number; referrers: number }[];
  /** False when the sidecar could not be read (an archive whose writer died before it: the next run rebuilds it). */
  sidecar: boolean;
  cost: { estimate: true; currency: string; archivePerMonth: number; earlyDeletionFreeFrom: string };
}

export interface CatalogTotals {
  images: number;
  supplements: number;
  bytes: number;
  /** False when the count stopped at its bound (the figures are then a lower bound). */
  complete: boolean;
  earliestArchivedAt?: string;
  latestArchivedAt?: string;
  cost: EstimateBasis & {
    archivePerMonth: number;
    /** When every archive counted may be deleted without the early-deletion charge (the latest one's date). */
    allEarlyDeletionFreeFrom?: string;
  };
  /** The registry's storage against its SKU's included storage: whether deleting from it saves anything. */
  registry?: RegistryAllowance & EstimateBasis;
}

export interface CatalogPage {
  registry: string;
  container: string;
  filters: CatalogFilters;
  items: CatalogItem[];
  /** Pass it back (with the same filters) for the next page; absent on the last page. */
  continuationToken?: string;
  /** The whole answer's totals: on the first page only (a request without a continuationToken). */
  totals?: CatalogTotals;
}

/** Find Blobs by Tags answers at most 5,000 a call. */
const SCAN_PAGE = 5000;
/** A page is filled by at most this many service calls (the service may answer fewer than asked, or none). */
const FILL_CALLS = 5;
const READ_CONCURRENCY = 8;
const DEFAULT_TOTALS_MAX_BLOBS = 100_000;

export async function queryCatalog(query: CatalogQuery, deps: CatalogDependencies): Promise<CatalogPage> {
  const containerName = deps.container.containerName;
  const filters = catalogFilters(query);
  const position = query.continuationToken
    ? decodeCatalogToken(query.continuationToken, containerName, filters)
    : undefined;
  const found =
    query.tag !== undefined
      ? await tagMarkerPage(query, deps, position?.marker)
      : await indexPage(query, deps, position?.marker);
  const described = await mapConcurrent(found.archives, READ_CONCURRENCY, (archiveBlob) =>
    describeArchive(archiveBlob, query, deps),
  );
  const items = described.filter((i): i is CatalogItem => i !== undefined);
  const next: CatalogPosition | undefined = found.marker
    ? { source: query.tag !== undefined ? "tag-markers" : "index", marker: found.marker }
    : undefined;
  return {
    registry: query.registry,
    container: containerName,
    filters,
    items,
    ...(next && { continuationToken: encodeCatalogToken(containerName, filters, next) }),
    ...(!query.continuationToken && { totals: await catalogTotals(query, deps) }),
  };
}

/** The index tag clauses of a query's filters (the registry always; the kind when `kind` is given). */
function filterClauses(query: CatalogQuery, kind?: "archive"): TagClause[] {
  const clauses: TagClause[] = [];
  if (kind) clauses.push({ key: IndexTagKeys.kind, op: "=", value: kind });
  clauses.push({ key: IndexTagKeys.registry, op: "=", value: indexTagValue(query.registry) });
  if (query.repository !== undefined)
    clauses.push({ key: IndexTagKeys.repository, op: "=", value: indexTagValue(query.repository) });
  if (query.digest !== undefined) clauses.push({ key: IndexTagKeys.digest, op: "=", value: query.digest });
  if (query.archivedAfter)
    clauses.push({ key: IndexTagKeys.archivedAt, op: ">=", value: archivedAtValue(query.archivedAfter) });
  if (query.archivedBefore)
    clauses.push({ key: IndexTagKeys.archivedAt, op: "<", value: archivedAtValue(query.archivedBefore) });
  if (query.state !== undefined) {
    const { key, value } = CATALOG_STATES[query.state];
    clauses.push({ key, op: "=", value });
  }
  return clauses;
}

/** One page of archives from Find Blobs by Tags; `marker` where the service's listing goes on. */
async function indexPage(
  query: CatalogQuery,
  deps: CatalogDependencies,
  marker: string | undefined,
): Promise<{ archives: string[]; marker?: string }> {
  const where = tagExpression(filterClauses(query, "archive"));
  const archives: string[] = [];
  let next = marker;
  for (let call = 0; call < FILL_CALLS && archives.length < query.pageSize; call++) {
    const page = await findBlobsByIndexTags(deps.container, where, {
      maxPageSize: query.pageSize - archives.length,
      ...(next && { continuationToken: next }),
      ...abort(deps),
    });
    // Only names of archives this tool wrote for this registry (a blob anyone tagged alike is not one).
    archives.push(...page.blobs.map((b) => b.name).filter((name) => ownArchive(name, query.registry)));
    next = page.continuationToken;
    if (!next) break;
  }
  return { archives, ...(next && { marker: next }) };
}

/** One page of a tag's markers (every digest it has named in the repository): their archives. */
async function tagMarkerPage(
  query: CatalogQuery,
  deps: CatalogDependencies,
  marker: string | undefined,
): Promise<{ archives: string[]; marker?: string }> {
  const page = await listBlobsWithIndexTags(deps.container, tagMarkersPrefix(query), {
    maxPageSize: query.pageSize,
    ...(marker && { continuationToken: marker }),
    ...abort(deps),
  });
  const archives = page.blobs
    .map((b) => markedArchive(b.name, query))
    .filter((name): name is string => name !== undefined);
  return { archives, ...(page.continuationToken && { marker: page.continuationToken }) };
}

function tagMarkersPrefix(query: CatalogQuery): string {
  return `${repositoryTagMarkersPrefix(query.registry, query.repository!)}${query.tag}@`;
}

/** The archive a tag marker of this query's tag names (by its name, not its metadata), or undefined. */
function markedArchive(name: string, query: CatalogQuery): string | undefined {
  const marker = tagMarkerIdentity(name);
  if (!marker || marker.registry !== query.registry || marker.repository !== query.repository) return undefined;
  if (marker.tag !== query.tag || (query.digest !== undefined && marker.digest !== query.digest)) return undefined;
  return archiveBlobName(marker);
}

function ownArchive(name: string, registry: string): boolean {
  return archiveBlobIdentity(name)?.registry === registry;
}

/**
 * An archive, described: its index tags (state, time, run) and its sidecar (tags, size, platforms, referrers,
 * supplements). Undefined when the archive is not there, or (a tag's markers, which carry no tags) when its index tags
 * do not pass the query's time and state filters.
 */
async function describeArchive(
  archiveBlob: string,
  query: CatalogQuery,
  deps: CatalogDependencies,
): Promise<CatalogItem | undefined> {
  const identity = archiveBlobIdentity(archiveBlob);
  if (!identity) return undefined;
  const sidecarBlob = sidecarBlobName(archiveBlob);
  const [tags, stored] = await Promise.all([
    getIndexTags(deps.container, archiveBlob, abort(deps)),
    getSidecar<ArchiveSidecar>(deps.container, sidecarBlob, abort(deps)),
  ]);
  if (tags === undefined) return undefined; // no archive (a marker whose archive was never committed)
  const indexed = parseArchiveIndexTags(tags);
  const sidecar = stored?.sidecar;
  const sidecarTime = typeof sidecar?.createdAtUtc === "string" ? new Date(sidecar.createdAtUtc) : undefined;
  const archivedAt =
    indexed.archivedAt ?? (sidecarTime && !Number.isNaN(sidecarTime.getTime()) ? sidecarTime : undefined);
  const state =
    indexed.verified !== undefined && indexed.purge !== undefined
      ? { verified: indexed.verified, purge: indexed.purge }
      : undefined;
  // A tag's markers are listed by name: the time and state filters apply here, from the archive's index tags.
  if (query.tag !== undefined) {
    if (query.archivedAfter && !(archivedAt && archivedAt >= query.archivedAfter)) return undefined;
    if (query.archivedBefore && !(archivedAt && archivedAt < query.archivedBefore)) return undefined;
    if (query.state !== undefined) {
      const { key, value } = CATALOG_STATES[query.state];
      if (tags[key] !== value) return undefined;
    }
  }
  const archiveBytes = numberOr(sidecar?.archive?.size, indexed.bytes ?? 0);
  const supplements = (Array.isArray(sidecar?.supplements) ? sidecar.supplements : []).map((s) => ({
    archiveBlob: String(s?.archiveBlob ?? ""),
    createdAtUtc: String(s?.createdAtUtc ?? ""),
    bytes: numberOr(s?.archive?.size, 0),
    referrers: Array.isArray(s?.referrers) ? s.referrers.length : 0,
  }));
  const bytes = archiveBytes + supplements.reduce((n, s) => n + s.bytes, 0);
  const at = archivedAt ?? new Date(0);
  return {
    registry: identity.registry,
    repository: identity.repository,
    digest: identity.digest,
    tags: Array.isArray(sidecar?.tags) ? sidecar.tags.filter((t): t is string => typeof t === "string") : [],
    archivedAt: at.toISOString(),
    ...(indexed.runId !== undefined && { runId: indexed.runId }),
    ...(state && { state }),
    archiveBlob,
    sidecarBlob,
    bytes,
    archive: {
      bytes: archiveBytes,
      ...(typeof sidecar?.archive?.sha256 === "string" && { sha256: sidecar.archive.sha256 }),
    },
    ...(typeof sidecar?.format === "string" && { format: sidecar.format }),
    platforms: Array.isArray(sidecar?.platforms) ? sidecar.platforms.map((p) => String(p?.platform)) : [],
    referrers: Array.isArray(sidecar?.referrers) ? sidecar.referrers.length : 0,
    supplements,
    sidecar: sidecar !== undefined,
    cost: {
      estimate: true,
      currency: deps.prices.currency,
      archivePerMonth: archivePerMonth(bytes, deps.prices),
      earlyDeletionFreeFrom: earlyDeletionFreeFrom(at).toISOString(),
    },
  };
}

/**
 * The whole answer's totals, from index tags alone (no sidecar read): Find Blobs by Tags answers only the tags its
 * expression names, so the expression also asks for `bytes` and `archivedat` with clauses every value passes.
 */
async function catalogTotals(query: CatalogQuery, deps: CatalogDependencies): Promise<CatalogTotals> {
  const max = deps.totalsMaxBlobs ?? DEFAULT_TOTALS_MAX_BLOBS;
  // A tag's answer: its digests, then the repository's archives and supplements of those digests.
  let digests: Set<string> | undefined;
  let complete = true;
  if (query.tag !== undefined) {
    digests = new Set();
    let marker: string | undefined;
    do {
      const page = await listBlobsWithIndexTags(deps.container, tagMarkersPrefix(query), {
        maxPageSize: SCAN_PAGE,
        ...(marker && { continuationToken: marker }),
        ...abort(deps),
      });
      for (const blob of page.blobs) {
        const archive = markedArchive(blob.name, query);
        if (archive) digests.add(archiveBlobIdentity(archive)!.digest);
      }
      marker = page.continuationToken;
      if (digests.size >= max) complete = !marker;
    } while (marker && digests.size < max);
  }
  const clauses = filterClauses(query);
  clauses.push({ key: IndexTagKeys.bytes, op: ">=", value: "0" });
  if (!query.archivedAfter && !query.archivedBefore)
    clauses.push({ key: IndexTagKeys.archivedAt, op: ">=", value: "0" });
  const where = tagExpression(clauses);
  let images = 0;
  let supplements = 0;
  let bytes = 0;
  let scanned = 0;
  let earliest: string | undefined;
  let latest: string | undefined;
  let marker: string | undefined;
  do {
    const page = await findBlobsByIndexTags(deps.container, where, {
      maxPageSize: Math.min(SCAN_PAGE, max - scanned),
      ...(marker && { continuationToken: marker }),
      ...abort(deps),
    });
    for (const blob of page.blobs) {
      scanned++;
      const counted = countable(blob, query.registry, digests);
      if (!counted) continue;
      if (counted === "archive") images++;
      else supplements++;
      const indexed = parseArchiveIndexTags(blob.tags);
      bytes += indexed.bytes ?? 0;
      const at = blob.tags[IndexTagKeys.archivedAt];
      if (indexed.archivedAt && at !== undefined) {
        if (earliest === undefined || at < earliest) earliest = at;
        if (latest === undefined || at > latest) latest = at;
      }
    }
    marker = page.continuationToken;
    if (marker && scanned >= max) complete = false;
  } while (marker && scanned < max);
  const basis = estimateBasis(deps.prices);
  const totals: CatalogTotals = {
    images,
    supplements,
    bytes,
    complete,
    ...(earliest && { earliestArchivedAt: new Date(earliest).toISOString() }),
    ...(latest && { latestArchivedAt: new Date(latest).toISOString() }),
    cost: {
      ...basis,
      archivePerMonth: money(archivePerMonth(bytes, deps.prices)),
      ...(latest && { allEarlyDeletionFreeFrom: earlyDeletionFreeFrom(new Date(latest)).toISOString() }),
    },
  };
  if (deps.registryStorage) {
    const storage = await deps.registryStorage(query.registry);
    totals.registry = { ...registryAllowance(storage, deps.prices), ...basis };
  }
  return totals;
}

/** Whether a found blob is an archive or supplement of this registry (of these digests, for a tag), and which. */
function countable(
  blob: TaggedBlob,
  registry: string,
  digests: Set<string> | undefined,
): "archive" | "supplement" | undefined {
  const archive = archiveBlobIdentity(blob.name);
  const supplement = archive ? undefined : referrersSupplementIdentity(blob.name);
  const identity = archive ?? supplement;
  if (!identity || identity.registry !== registry) return undefined;
  if (digests && !digests.has(identity.digest)) return undefined;
  return archive ? "archive" : "supplement";
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function abort(deps: { abortSignal?: AbortSignal }): { abortSignal?: AbortSignal } {
  return deps.abortSignal ? { abortSignal: deps.abortSignal } : {};
}
