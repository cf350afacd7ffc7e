// The shape of one archive run and the policies its orchestrations follow: plain data and pure functions,
// shared by the orchestrators (which must stay deterministic) and the activities.
import { z } from "zod";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import type { ArchiveErrorCode } from "../errors.js";
import { globListSchema } from "../globs.js";
import { isValidDigest, isValidRepository, isValidTag, loginServerSchema } from "../registry/reference.js";
import { containerNameSchema, runIdSchema } from "../storage/blobNames.js";

// ---- Orchestration inputs: validated by the starter AND by each orchestrator (the Durable webhook key can start any
// orchestration with any input, past the HTTP schema). Pure and deterministic, so orchestrators may run them. ----

const isoTime = z.iso.datetime({ error: "must be an ISO 8601 UTC time" });

export const runFiltersSchema = z.strictObject({
  repositories: globListSchema.optional(),
  excludeRepositories: globListSchema.optional(),
  tags: globListSchema.optional(),
  excludeTags: globListSchema.optional(),
  includeUntagged: z.boolean(),
  olderThanDays: z.number().int().min(0).max(36500).optional(),
});
export type RunFilters = z.output<typeof runFiltersSchema>;

/** The archiveRegistry orchestration's input: everything the run needs, resolved before it starts. */
export const archiveRunInputSchema = z.strictObject({
  runId: runIdSchema,
  /** Login server. */
  registry: loginServerSchema,
  container: containerNameSchema,
  filters: runFiltersSchema,
  dryRun: z.boolean(),
  maxParallel: z.number().int().min(1).max(100),
  maxAttempts: z.number().int().min(1).max(10),
  jobTimeoutMinutes: z.number().int().min(1).max(24 * 60),
  pollMaxIntervalSeconds: z.number().int().min(1).max(3600),
  batchSize: z.number().int().min(1).max(1000),
  requestedBy: z.enum(["http", "timer"]),
  requestedAtUtc: isoTime,
});
export type ArchiveRunInput = z.output<typeof archiveRunInputSchema>;

/** One image to archive: what a batch blob holds and an archiveImage orchestration gets. */
export const imageWorkItemSchema = z.strictObject({
  repository: z.string().refine(isValidRepository, "must be a repository name"),
  digest: z.string().refine(isValidDigest, "must be sha256:<64 hex>"),
  tags: z.array(z.string().refine(isValidTag, "must be a tag")).max(10_000),
});
export type ImageWorkItem = z.output<typeof imageWorkItemSchema>;

/** (registry, repository, digest): what an archive's name is built from. */
export const imageIdentitySchema = z.strictObject({
  registry: loginServerSchema,
  repository: imageWorkItemSchema.shape.repository,
  digest: imageWorkItemSchema.shape.digest,
});

/** A batch of a run: readBatch, writeBatchOutcomes. */
export const batchRefSchema = z.strictObject({ runId: runIdSchema, container: containerNameSchema, batchIndex: z.number().int().min(0).max(1_000_000) });

/** A listed image, with what the archive container already holds for its digest. */
export interface ListedImage extends ImageWorkItem {
  lastUpdatedOn?: string;
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

export const imageStatusSchema = z.enum(["archived", "already-archived", "failed", "would-archive"]);
export type ImageStatus = z.output<typeof imageStatusSchema>;

/** What an archiveImage orchestration returns: compact, so batches stay far below the message size limits. */
export const imageOutcomeSchema = imageWorkItemSchema.extend({
  status: imageStatusSchema,
  bytes: z.number().int().min(0).optional(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/).optional(),
  /** Foreign / non-distributable layers the registry did not have: recorded in the sidecar, not in the archive. */
  externalLayers: z.number().int().min(0).optional(),
  attempts: z.number().int().min(0).max(10_000),
  durationSeconds: z.number().min(0),
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
});
export type ImageOutcome = z.output<typeof imageOutcomeSchema>;

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
    ...(result.externalLayers ? { externalLayers: result.externalLayers } : {}),
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
