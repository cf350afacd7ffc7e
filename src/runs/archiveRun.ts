// The shape of one archive run and the policies its orchestrations follow: plain data and pure functions,
// shared by the orchestrators (which must stay deterministic) and the activities.
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import type { ArchiveErrorCode } from "../errors.js";

export interface RunFilters {
  repositories?: string[];
  excludeRepositories?: string[];
  tags?: string[];
  excludeTags?: string[];
  includeUntagged: boolean;
  olderThanDays?: number;
}

/** The archiveRegistry orchestration's input: everything the run needs, resolved before it starts. */
export interface ArchiveRunInput {
  runId: string;
  /** Login server. */
  registry: string;
  container: string;
  filters: RunFilters;
  dryRun: boolean;
  maxParallel: number;
  maxAttempts: number;
  jobTimeoutMinutes: number;
  pollMaxIntervalSeconds: number;
  batchSize: number;
  requestedBy: "http" | "timer";
  requestedAtUtc: string;
}

/** One image to archive: what a batch blob holds and an archiveImage orchestration gets. */
export interface ImageWorkItem {
  repository: string;
  digest: string;
  tags: string[];
}

/** A listed image, with what the archive container already holds for its digest. */
export interface ListedImage extends ImageWorkItem {
  lastUpdatedOn?: string;
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

export type ImageStatus = "archived" | "already-archived" | "failed" | "would-archive";

/** What an archiveImage orchestration returns: compact, so batches stay far below the message size limits. */
export interface ImageOutcome {
  repository: string;
  digest: string;
  tags: string[];
  status: ImageStatus;
  bytes?: number;
  sha256?: string;
  attempts: number;
  durationSeconds: number;
  error?: { code: string; message: string };
}

export interface RunTotals {
  total: number;
  archived: number;
  alreadyArchived: number;
  failed: number;
  bytesArchived: number;
}

/** The orchestration's custom status: counts only (custom status is capped at 16 KB). */
export interface RunProgress extends RunTotals {
  running: number;
  batches: number;
  batchesDone: number;
  phase: "listing" | "archiving" | "summarizing" | "done";
}

export interface ListImagesResult {
  total: number;
  toArchive: number;
  alreadyArchived: number;
  batchCount: number;
}

export interface BatchResult extends RunTotals {
  batchIndex: number;
}

export interface RunSummary {
  schemaVersion: 1;
  runId: string;
  registry: string;
  container: string;
  filters: RunFilters;
  dryRun: boolean;
  requestedBy: "http" | "timer";
  startedAtUtc: string;
  endedAtUtc: string;
  totals: RunTotals & { jobExecutions: number };
  images: (ImageOutcome & { archiveBlob: string; sidecarBlob: string })[];
}

// Codes that another attempt cannot fix: the reference, the manifest or the name is the problem.
const PERMANENT_ERRORS: ReadonlySet<string> = new Set<ArchiveErrorCode>(["INVALID_REFERENCE", "REGISTRY_NOT_FOUND", "UNSUPPORTED_MEDIA_TYPE", "ARCHIVE_CONFLICT", "CONFIG_INVALID", "INVALID_ARGUMENT"]);

export function isPermanentFailure(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_ERRORS.has(code);
}

/** Seconds until the next poll of a running execution: 5, 10, 20, … capped at `maxSeconds`. */
export function pollDelaySeconds(poll: number, maxSeconds: number): number {
  return Math.min(5 * 2 ** Math.min(poll, 16), maxSeconds);
}

/** Seconds to wait before attempt `attempt + 1` after a failed one: 30, 60, 120, … capped at 15 minutes. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(30 * 2 ** (attempt - 1), 900);
}

export function emptyTotals(): RunTotals {
  return { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0 };
}

export function addOutcome(totals: RunTotals, outcome: ImageOutcome): RunTotals {
  return {
    total: totals.total + 1,
    archived: totals.archived + (outcome.status === "archived" ? 1 : 0),
    alreadyArchived: totals.alreadyArchived + (outcome.status === "already-archived" ? 1 : 0),
    failed: totals.failed + (outcome.status === "failed" ? 1 : 0),
    bytesArchived: totals.bytesArchived + (outcome.status === "archived" ? (outcome.bytes ?? 0) : 0),
  };
}

export function addTotals(a: RunTotals, b: RunTotals): RunTotals {
  return { total: a.total + b.total, archived: a.archived + b.archived, alreadyArchived: a.alreadyArchived + b.alreadyArchived, failed: a.failed + b.failed, bytesArchived: a.bytesArchived + b.bytesArchived };
}

/** The outcome an archiveImage orchestration reports from the worker's result blob. */
export function outcomeFromResult(item: ImageWorkItem, result: ArchiveImageResult, attempts: number, durationSeconds: number): ImageOutcome {
  return {
    repository: item.repository,
    digest: item.digest,
    tags: item.tags,
    status: result.status,
    ...(result.bytes !== undefined && { bytes: result.bytes }),
    ...(result.sha256 !== undefined && { sha256: result.sha256 }),
    attempts,
    durationSeconds,
    ...(result.error && { error: { code: result.error.code, message: result.error.message.slice(0, 500) } }),
  };
}

/** `registry/repository:tag@digest`: the worker fetches by digest and records the tag. */
export function workerImageReference(registry: string, item: ImageWorkItem): string {
  return `${registry}/${item.repository}${item.tags[0] ? `:${item.tags[0]}` : ""}@${item.digest}`;
}

/** Retries for idempotent activities (blob and ARM reads, run blobs): attempts, first delay, backoff. */
export const ACTIVITY_RETRY = { maxNumberOfAttempts: 4, firstRetryIntervalInMilliseconds: 5_000, backoffCoefficient: 2 } as const;

// A worker request carries at most this many tags (the rest are in the listing and the summary).
export const MAX_TAGS_PER_REQUEST = 50;
