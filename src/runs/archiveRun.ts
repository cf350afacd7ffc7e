// The model of one archive run: its inputs (zod schemas, checked by the starter and again by every orchestrator and
// activity, since the Durable webhook key starts any orchestration with any input), what flows between its
// orchestrations, and what it reports. Plain data; policies are in runPolicy.ts, arithmetic in runTotals.ts.
import { z } from "zod";
import type { ArchiveRunCost } from "../cost/costEstimate.js";
import type { CatalogBackfillResult } from "../catalog/catalogBackfill.js";
import { globListSchema } from "../globs.js";
import type { OutcomeCounting } from "./engine/outcomeCounting.js";
import type { ImageOutcome, ImageWorkItem } from "./engine/workItem.js";
import { runInputShape } from "./engine/runState.js";

// ---- Orchestration inputs: validated by the starter AND by each orchestrator (the Durable webhook key can start any
// orchestration with any input, past the HTTP schema). Pure and deterministic, so orchestrators may run them. ----

export const runFiltersSchema = z.strictObject({
  repositories: globListSchema.optional(),
  excludeRepositories: globListSchema.optional(),
  tags: globListSchema.optional(),
  excludeTags: globListSchema.optional(),
  includeUntagged: z.boolean(),
  olderThanDays: z.number().int().min(0).max(36500).optional(),
});
export type RunFilters = z.output<typeof runFiltersSchema>;

/** The archiveRun orchestration's input: everything the run needs, resolved before it starts. */
export const archiveRunInputSchema = z.strictObject({
  ...runInputShape,
  filters: runFiltersSchema,
  /**
   * Look up the referrers of images already archived and archive those their archive lacks, as a supplementary
   * archive per image (runs/referrerProbe.ts); within REFRESH_REFERRERS_MAX_REQUESTS registry requests a run.
   */
  refreshReferrers: z.boolean().default(false),
  requestedBy: z.enum(["http", "timer"]),
});
export type ArchiveRunInput = z.output<typeof archiveRunInputSchema>;

/**
 * What an archiveImage orchestration needs of its run, and no more: filters, dry run and the requester stay in the
 * parent's history instead of being copied into every image's.
 */
export const imageRunContextSchema = archiveRunInputSchema
  .pick({
    runId: true,
    registry: true,
    container: true,
    maxAttempts: true,
    jobTimeoutMinutes: true,
    pollMaxIntervalSeconds: true,
  })
  .extend({
    /** Job executions of the run at once: each worker's share of the registry's read budget is 1/maxParallel. */
    maxParallel: archiveRunInputSchema.shape.maxParallel.optional(),
  });
export type ImageRunContext = z.output<typeof imageRunContextSchema>;

/** What an archive run's runBatch orchestration needs of its run: the image context plus its wave width. */
export const batchRunContextSchema = imageRunContextSchema.extend({
  maxParallel: archiveRunInputSchema.shape.maxParallel,
});
export type BatchRunContext = z.output<typeof batchRunContextSchema>;

export function batchRunContext(run: ArchiveRunInput): BatchRunContext {
  const { runId, registry, container, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds, maxParallel } = run;
  return { runId, registry, container, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds, maxParallel };
}

export function imageRunContext(run: BatchRunContext): ImageRunContext {
  const { runId, registry, container, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds, maxParallel } = run;
  return { runId, registry, container, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds, maxParallel };
}

/** A listed image, with what the archive container already holds for its digest. */
export interface ListedImage extends ImageWorkItem {
  lastUpdatedOn?: string;
  archived: boolean;
  bytes?: number;
  sha256?: string;
  /** Archived, and its archive is verified (its metadata or verification record says so). */
  verified?: true;
  /** refreshReferrers: referrers found in the registry that the image's sidecar does not list. */
  newReferrers?: number;
  /** It goes into a batch for them (not in a dry run): a work item with `refreshReferrers`. */
  refreshReferrers?: true;
}

/** refreshReferrers: what one listing page's probes did (runs/referrerProbe.ts); the summary adds them up. */
export interface ReferrerRefreshCounts {
  /** Archived images whose referrers were compared with their sidecar's. */
  checked: number;
  /** Archived images left unprobed: the run's request budget was spent. */
  unchecked: number;
  /** Of the checked, those with referrers their archive lacks (each gets a job, or, dry, is reported). */
  withNew: number;
  /** Registry requests the probes made (token requests and retries included). */
  requests: number;
}

export interface RunTotals {
  total: number;
  archived: number;
  alreadyArchived: number;
  failed: number;
  bytesArchived: number;
  /** Images (archived or already archived) whose archive is verified. */
  verified: number;
}

/** How an archive run counts its images (runs/engine/outcomeCounting.ts). */
export const archiveCounting: OutcomeCounting<RunTotals> = {
  keys: ["total", "archived", "alreadyArchived", "failed", "bytesArchived", "verified"],
  byStatus: { archived: "archived", "already-archived": "alreadyArchived", failed: "failed" },
  bytes: { key: "bytesArchived", statuses: ["archived"] },
  byFlag: { verified: "verified" },
};

/** The orchestration's custom status: counts only (custom status is capped at 16 KB). */
export interface RunProgress extends RunTotals {
  running: number;
  batches: number;
  batchesDone: number;
  phase: "listing" | "archiving" | "summarizing" | "done";
}

/** What archiveRun returns (the status endpoint reads `summaryBlob` and `container` of it). */
export interface ArchiveRunOutput {
  runId: string;
  registry: string;
  summaryBlob: string;
  container: string;
  dryRun: boolean;
  totals: RunTotals & { jobExecutions: number };
  /** Requests the run's listing made to the registry (token requests and retries included). */
  registryRequests: number;
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
  /**
   * Requests the run made to the registry (token requests and retries included): its listing's, and its workers' (the
   * sum of the images' `registryRequests`, as their results reported them).
   */
  registryRequests: { listing: number; workers: number };
  /** refreshReferrers runs: what the listing's probes found (runs/referrerProbe.ts), and what the jobs archived. */
  referrers?: ReferrerRefreshCounts & { newReferrers: number; supplements: number; maxRequests?: number };
  /** The cost report: bytes archived and their Archive-tier cost a month, estimated from list prices (COST_*). */
  cost: ArchiveRunCost;
  /** The catalog's backfill of index tags this run made (archives written before them), when it made one. */
  catalogBackfill?: CatalogBackfillResult;
  images: (ImageOutcome & { archiveBlob: string; sidecarBlob: string })[];
}
