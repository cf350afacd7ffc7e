// The runs as records, for people and the status page (GET /api/runs, GET /api/runs/{id}): every run of every kind,
// newest first, from what storage keeps (runs/<runId>/…, the summary's head: read in one ranged request, never its
// images) and what the Durable client says of runs still going (their counts, from custom status). A run's images are
// read from its summary page by page, failures first. Plain: the Durable client comes in as RunInstances
// (durable/runInstances.ts), the HTTP query as URLSearchParams.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { ArchiveError, firstLine } from "../errors.js";
import { loginServerSchema } from "../registry/reference.js";
import { summaryBlobName } from "../storage/blobNames.js";
import { openJsonArrayBlob } from "../storage/jsonArrayBlob.js";
import { storageError, storageErrorCode } from "../storage/storageError.js";
import {
  parseRunInstanceId,
  registrySlug,
  runKindNames,
  type ParsedRunInstanceId,
  type RunKindName,
} from "./instanceIds.js";
import { decodePagingToken, encodePagingToken, tokenMismatch } from "./pagingToken.js";

// ---- What the Durable client is asked -----------------------------------------------------------------------------

/** A run's orchestration instance, as the Durable client reports it. */
export interface RunInstance {
  instanceId: string;
  runtimeStatus: string;
  /** ISO 8601. */
  createdTime: string;
  lastUpdatedTime: string;
  input?: unknown;
  customStatus?: unknown;
  output?: unknown;
}

export interface RunInstances {
  /** Top-level runs that are Pending, Running or ContinuedAsNew (their inputs need not be shown). */
  listActive(): Promise<RunInstance[]>;
  /** One run's instance with its input, or undefined when the task hub has none. */
  get(instanceId: string): Promise<RunInstance | undefined>;
}

export interface RunRecordsDependencies {
  /** The archive container: the only one read (ARCHIVE_CONTAINER). */
  container: ContainerClient;
  instances: RunInstances;
  /** The status endpoint of a run (GET /api/archive/{id}, GET /api/restore/{id}). */
  statusUrl: (kind: RunKindName, instanceId: string) => string;
}

// ---- A run's record ------------------------------------------------------------------------------------------------

export const runtimeStatuses = [
  "Pending",
  "Running",
  "Completed",
  "Failed",
  "Terminated",
  "Suspended",
  "Unknown",
] as const;
export type RunRuntimeStatus = (typeof runtimeStatuses)[number];

export interface RunRecord {
  id: string;
  kind: RunKindName;
  /** The registry archived (an archive run), or whose archive is restored (a restore run). */
  registry?: string;
  /** A restore run: where it pushes. */
  target?: { registry: string; repositoryPrefix?: string };
  /** The orchestration's runtime status (ContinuedAsNew is Running); Completed when only its summary is left. */
  runtimeStatus: RunRuntimeStatus;
  /** A running run's phase (listing, archiving, restoring, …). */
  phase?: string;
  dryRun?: boolean;
  /** The summary's totals, or, while the run goes, its custom status's counts. */
  counts: Record<string, number>;
  createdTime: string;
  endedTime?: string;
  summary?: { container: string; blob: string; url: string };
  statusUrl: string;
  /** A failed orchestration's error, one line. */
  error?: string;
  /** The summary's cost report, as the summary has it (absent when it has none). */
  cost?: Record<string, unknown>;
}

/** The run's record, or undefined when neither storage nor the task hub knows the run (or the id is no run's). */
export async function readRunRecord(runId: string, deps: RunRecordsDependencies): Promise<RunRecord | undefined> {
  const parsed = parseRunInstanceId(runId);
  if (!parsed) return undefined;
  const record = await resolveRun(runId, parsed, undefined, deps);
  return record.runtimeStatus === "Unknown" && !record.summary ? undefined : record;
}

/** A summary's head, each field taken only when it has the right type (a blob anyone with write access could edit). */
const summaryHeadSchema = z.object({
  runId: z.string().max(128).optional().catch(undefined),
  registry: z.string().max(253).optional().catch(undefined),
  target: z
    .object({ registry: z.string().max(253), repositoryPrefix: z.string().max(201).optional() })
    .optional()
    .catch(undefined),
  dryRun: z.boolean().optional().catch(undefined),
  startedAtUtc: z.iso.datetime().optional().catch(undefined),
  endedAtUtc: z.iso.datetime().optional().catch(undefined),
  totals: z.record(z.string().max(64), z.number().min(0)).optional().catch(undefined),
  cost: z.record(z.string(), z.unknown()).optional().catch(undefined),
});
type SummaryHead = z.output<typeof summaryHeadSchema>;

/** The head of a run's summary, or undefined when it has none (yet), or one that is another run's. */
async function readSummaryHead(container: ContainerClient, runId: string): Promise<SummaryHead | undefined> {
  // A head is about 1 KiB; a restore's selection can make it larger, and the reader then reads on.
  let contents;
  try {
    contents = await openJsonArrayBlob(container, summaryBlobName(runId), "images", { firstRangeBytes: 16 * 1024 });
  } catch (error) {
    // A summary that does not parse (edited by hand?) is still the run's summary: listed, with what is known.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof SyntaxError || cause instanceof RangeError || cause instanceof TypeError) return {};
    throw error;
  }
  if (!contents) return undefined;
  await contents.items.return();
  const head = summaryHeadSchema.parse(contents.head);
  return head.runId === undefined || head.runId === runId ? head : undefined;
}

const TERMINAL = new Set(["Completed", "Failed", "Terminated"]);

function normalizeStatus(runtimeStatus: string): RunRuntimeStatus {
  if (runtimeStatus === "ContinuedAsNew") return "Running";
  return (runtimeStatuses as readonly string[]).includes(runtimeStatus)
    ? (runtimeStatus as RunRuntimeStatus)
    : "Unknown";
}

/** The finite, non-negative numbers of an object (a custom status is counts, and a phase). */
function countsOf(value: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  if (value && typeof value === "object")
    for (const [key, n] of Object.entries(value))
      if (typeof n === "number" && Number.isFinite(n) && n >= 0) counts[key] = n;
  return counts;
}

const runInputSchema = z.object({
  registry: z.string().max(253).optional().catch(undefined),
  target: summaryHeadSchema.shape.target,
  dryRun: z.boolean().optional().catch(undefined),
});

async function resolveRun(
  runId: string,
  parsed: ParsedRunInstanceId,
  active: RunInstance | undefined,
  deps: RunRecordsDependencies,
): Promise<RunRecord> {
  const head = await readSummaryHead(deps.container, runId);
  // A run going (or one with no summary: failed, terminated, or not started) is the task hub's to describe.
  const instance = active || !head ? ((await deps.instances.get(runId)) ?? active) : undefined;
  const input = runInputSchema.safeParse(instance?.input ?? {});
  const fromInput = input.success ? input.data : {};
  const runtimeStatus = instance ? normalizeStatus(instance.runtimeStatus) : head ? "Completed" : "Unknown";
  const registry = head?.registry ?? fromInput.registry;
  const target = parsed.kind === "restore" ? (head?.target ?? fromInput.target) : undefined;
  const dryRun = head?.dryRun ?? fromInput.dryRun;
  const phase = (instance?.customStatus as { phase?: unknown } | undefined)?.phase;
  const ended = head?.endedAtUtc ?? (instance && TERMINAL.has(runtimeStatus) ? instance.lastUpdatedTime : undefined);
  const blob = summaryBlobName(runId);
  return {
    id: runId,
    kind: parsed.kind,
    ...(registry !== undefined && { registry }),
    ...(target !== undefined && { target }),
    runtimeStatus,
    ...(runtimeStatus === "Running" && typeof phase === "string" && { phase: phase.slice(0, 40) }),
    ...(dryRun !== undefined && { dryRun }),
    counts: head?.totals ?? countsOf(instance?.customStatus),
    createdTime: head?.startedAtUtc ?? instance?.createdTime ?? parsed.startedAt,
    ...(ended !== undefined && { endedTime: ended }),
    ...(head && {
      summary: { container: deps.container.containerName, blob, url: deps.container.getBlobClient(blob).url },
    }),
    statusUrl: deps.statusUrl(parsed.kind, runId),
    ...(runtimeStatus === "Failed" && { error: firstLine(instance?.output ?? "failed") }),
    ...(head?.cost !== undefined && { cost: head.cost }),
  };
}

// ---- GET /api/runs -------------------------------------------------------------------------------------------------

export interface RunsQuery {
  kind?: RunKindName;
  registry?: string;
  status?: RunRuntimeStatus;
  limit: number;
  /** The run the previous page ended with: this page starts after it. */
  after?: string;
}

export const DEFAULT_RUNS_LIMIT = 25;
export const MAX_RUNS_LIMIT = 100;
/** Runs resolved (a summary head read, perhaps a status) for one page at most: a filter that keeps few runs pages early. */
export const MAX_RUNS_SCANNED = 200;

const runsTokenSchema = z.strictObject({
  v: z.literal(1),
  container: z.string().max(63),
  kind: z.enum(runKindNames).optional(),
  registry: z.string().max(253).optional(),
  status: z.enum(runtimeStatuses).optional(),
  after: z.string().refine((id) => parseRunInstanceId(id) !== undefined, "must be a run id"),
});

function problem(field: string, message: string): ArchiveError {
  return new ArchiveError("INVALID_ARGUMENT", `${field}: ${message}`);
}

function parseLimit(value: string | null, max: number, fallback: number): number {
  if (value === null || value === "") return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) throw problem("limit", `must be an integer from 1 to ${max}`);
  return n;
}

/**
 * GET /api/runs's query: `kind`, `registry`, `status`, `limit`, `continuationToken` (other parameters, such as the
 * function key's `code`, are not ours). Throws INVALID_ARGUMENT naming each bad field, one a line.
 */
export function parseRunsQuery(params: URLSearchParams, scope: { container: string }): RunsQuery {
  const problems: string[] = [];
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      problems.push((error as Error).message);
      return undefined;
    }
  };
  const query: RunsQuery = { limit: DEFAULT_RUNS_LIMIT };
  const kind = params.get("kind");
  if (kind) {
    if ((runKindNames as string[]).includes(kind)) query.kind = kind as RunKindName;
    else problems.push(`kind: must be one of ${runKindNames.join(", ")}`);
  }
  const registry = params.get("registry");
  if (registry) {
    const parsed = loginServerSchema.safeParse(registry.toLowerCase());
    if (parsed.success) query.registry = parsed.data;
    else problems.push(`registry: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const status = params.get("status");
  if (status) {
    const match = runtimeStatuses.find((s) => s.toLowerCase() === status.toLowerCase());
    if (match) query.status = match;
    else problems.push(`status: must be one of ${runtimeStatuses.join(", ")}`);
  }
  query.limit = attempt(() => parseLimit(params.get("limit"), MAX_RUNS_LIMIT, DEFAULT_RUNS_LIMIT)) ?? query.limit;
  const token = params.get("continuationToken");
  if (token && problems.length === 0) {
    const decoded = attempt(() => decodePagingToken(token, runsTokenSchema));
    if (decoded) {
      if (decoded.container !== scope.container) problems.push(tokenMismatch("another container").message);
      else if (decoded.kind !== query.kind || decoded.registry !== query.registry || decoded.status !== query.status)
        problems.push(tokenMismatch("other filters (kind, registry, status): repeat them as they were").message);
      else query.after = decoded.after;
    }
  }
  if (problems.length) throw new ArchiveError("INVALID_ARGUMENT", problems.join("\n"));
  return query;
}

export interface RunsPage {
  runs: RunRecord[];
  /** Pass it back (with the same filters) for the next page; absent on the last one. */
  continuationToken?: string;
}

/** Newest first: by the start time the id carries, then by id. */
function newestFirst(a: { id: string; parsed: ParsedRunInstanceId }, b: { id: string; parsed: ParsedRunInstanceId }) {
  return b.parsed.startedAt.localeCompare(a.parsed.startedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Whether a run's record is one the query asks for. */
function recordMatches(record: RunRecord, query: RunsQuery): boolean {
  if (query.status && record.runtimeStatus !== query.status) return false;
  if (query.registry) {
    const registries = [record.registry, record.target?.registry].map((r) => r?.toLowerCase());
    if (!registries.includes(query.registry)) return false;
  }
  return true;
}

/**
 * One page of runs, newest first: the run ids storage has (`runs/<id>/`, one prefix each, listed by hierarchy) and the
 * task hub's runs in progress, narrowed by what ids say (kind; an archive run's registry slug), then each resolved
 * (summary head, or the task hub) and matched against the filters. `registry` matches an archive run's registry and a
 * restore run's source or target. At most MAX_RUNS_SCANNED runs are resolved for one page: the token then says where
 * to go on, and the page may have fewer than `limit` runs.
 */
export async function listRuns(query: RunsQuery, deps: RunRecordsDependencies): Promise<RunsPage> {
  const active = new Map((await deps.instances.listActive()).map((i) => [i.instanceId, i]));
  const kinds = query.kind ? [query.kind] : runKindNames;
  const ids = new Set(active.keys());
  for (const kind of kinds) {
    // Archive runs carry their registry's slug: a registry filter lists that prefix only.
    const slug = kind === "archive" && query.registry ? `${registrySlug(query.registry)}-` : "";
    for (const id of await runIdsInStorage(deps.container, `runs/${kind}-${slug}`)) ids.add(id);
  }
  const afterParsed = query.after ? parseRunInstanceId(query.after) : undefined;
  const after = query.after && afterParsed ? { id: query.after, parsed: afterParsed } : undefined;
  const candidates = [...ids]
    .map((id) => ({ id, parsed: parseRunInstanceId(id) }))
    .filter((c): c is { id: string; parsed: ParsedRunInstanceId } => {
      const { id, parsed } = c;
      if (!parsed || !kinds.includes(parsed.kind)) return false;
      if (query.registry && parsed.kind === "archive" && parsed.slug !== registrySlug(query.registry)) return false;
      return after === undefined || newestFirst(after, { id, parsed }) < 0;
    })
    .sort(newestFirst);

  const runs: RunRecord[] = [];
  let consumed = 0;
  while (consumed < candidates.length && runs.length < query.limit && consumed < MAX_RUNS_SCANNED) {
    const chunk = candidates.slice(consumed, consumed + Math.min(query.limit - runs.length, 10));
    const records = await Promise.all(chunk.map((c) => resolveRun(c.id, c.parsed, active.get(c.id), deps)));
    for (const record of records) {
      consumed++;
      if (recordMatches(record, query)) runs.push(record);
      if (runs.length === query.limit) break;
    }
  }
  const page: RunsPage = { runs };
  if (consumed < candidates.length) {
    page.continuationToken = encodePagingToken({
      v: 1,
      container: deps.container.containerName,
      ...(query.kind && { kind: query.kind }),
      ...(query.registry && { registry: query.registry }),
      ...(query.status && { status: query.status }),
      after: candidates[consumed - 1]!.id,
    });
  }
  return page;
}

/** The run ids under a prefix of `runs/` (one blob prefix per run); none when the container does not exist yet. */
async function runIdsInStorage(container: ContainerClient, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const item of container.listBlobsByHierarchy("/", { prefix })) {
      if (item.kind !== "prefix") continue;
      const id = item.name.slice("runs/".length, -1);
      if (parseRunInstanceId(id)) ids.push(id);
    }
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return [];
    throw storageError(`cannot list ${prefix}`, error);
  }
  return ids;
}

// ---- GET /api/runs/{id}: its record and its summary's images, failures first -----------------------------------

export interface RunImagesQuery {
  limit: number;
  /** Where this page starts: the failed images, then the others, each by index in the summary. */
  from: { failedFirst: boolean; index: number };
}

export const DEFAULT_IMAGES_LIMIT = 100;
export const MAX_IMAGES_LIMIT = 1000;

const imagesTokenSchema = z.strictObject({
  v: z.literal(1),
  container: z.string().max(63),
  runId: z.string().max(128),
  failed: z.boolean(),
  index: z.number().int().min(0).max(100_000_000),
});

/** GET /api/runs/{id}'s query: `limit`, `continuationToken` (issued for this run of this container, or a 400). */
export function parseRunImagesQuery(
  runId: string,
  params: URLSearchParams,
  scope: { container: string },
): RunImagesQuery {
  const limit = parseLimit(params.get("limit"), MAX_IMAGES_LIMIT, DEFAULT_IMAGES_LIMIT);
  const token = params.get("continuationToken");
  if (!token) return { limit, from: { failedFirst: true, index: 0 } };
  const decoded = decodePagingToken(token, imagesTokenSchema);
  if (decoded.container !== scope.container) throw tokenMismatch("another container");
  if (decoded.runId !== runId) throw tokenMismatch("another run");
  return { limit, from: { failedFirst: decoded.failed, index: decoded.index } };
}

/** A summary's image as stored (repository, digest, tags, status, bytes, error, archiveBlob, …). */
export type SummaryImage = Record<string, unknown>;

export interface RunImagesPage {
  run: RunRecord;
  /** Failed images first, then the others, each in the summary's order; none while the run has no summary. */
  images: SummaryImage[];
  continuationToken?: string;
}

/**
 * The run's record and a page of its summary's images, failures first. The summary is read in ranges from its start
 * for each page, up to where the page ends (the failed images need a pass over all of it, skipped when its totals say
 * none failed); undefined when there is no such run.
 */
export async function readRunImages(
  runId: string,
  query: RunImagesQuery,
  deps: RunRecordsDependencies,
): Promise<RunImagesPage | undefined> {
  const run = await readRunRecord(runId, deps);
  if (!run) return undefined;
  if (!run.summary) return { run, images: [] };
  const images: SummaryImage[] = [];
  const passes = [true, false].filter((failedPass) => (query.from.failedFirst ? true : !failedPass));
  for (const failedPass of passes) {
    if (failedPass && run.counts.failed === 0) continue;
    const start = failedPass === query.from.failedFirst ? query.from.index : 0;
    const contents = await openJsonArrayBlob(deps.container, run.summary.blob, "images");
    if (!contents) break;
    let index = 0;
    for await (const item of contents.items) {
      const at = index++;
      if (at < start || !item || typeof item !== "object" || Array.isArray(item)) continue;
      if (((item as SummaryImage).status === "failed") !== failedPass) continue;
      if (images.length === query.limit) {
        await contents.items.return();
        const token = { v: 1, container: deps.container.containerName, runId, failed: failedPass, index: at };
        return { run, images, continuationToken: encodePagingToken(token) };
      }
      images.push(item as SummaryImage);
    }
  }
  return { run, images };
}
