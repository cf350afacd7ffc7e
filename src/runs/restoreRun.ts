// The model of one restore run, the second kind of run on the same engine (the one-run lock, batches of bounded
// history, per-image job executions with durable-timer polling, retries, the summary blob, progress in custom status):
// its HTTP body, its orchestration inputs (checked by the starter and again by every orchestrator and activity: the
// Durable webhook key starts any orchestration with any input), what it counts and what it reports. Plain data.
import type { ErrorSummary } from "../errors.js";
import { z } from "zod";
import type { RestoreRunCost } from "../cost/costEstimate.js";
import { globListSchema } from "../globs.js";
import { isValidDigest, isValidRepository, isValidTag, loginServerSchema } from "../registry/reference.js";
import { runIdSchema } from "../storage/blobNames.js";
import { runInputShape } from "./engine/runState.js";
import { imageWorkItemSchema, type ImageOutcome } from "./engine/workItem.js";
import type { OutcomeCounting } from "./engine/outcomeCounting.js";

export const rehydratePrioritySchema = z.enum(["Standard", "High"], { error: 'must be "Standard" or "High"' });

/**
 * One image a restore names, parsed: by tag (resolved through the tag markers) or by digest, a repository of the source
 * registry. What the run's input carries: the HTTP edge parses `repo:tag` / `repo@sha256:<hex>` once.
 */
export const imageSelectorSchema = z.union([
  z.strictObject({
    repository: imageWorkItemSchema.shape.repository,
    tag: imageWorkItemSchema.shape.tags.element,
  }),
  z.strictObject({ repository: imageWorkItemSchema.shape.repository, digest: imageWorkItemSchema.shape.digest }),
]);
export type ImageSelector = z.output<typeof imageSelectorSchema>;

/** `repo:tag` or `repo@sha256:<hex>` as a request names it, parsed into its selector (undefined: neither). */
export function parseImageSelector(value: string): ImageSelector | undefined {
  const at = value.indexOf("@");
  if (at >= 0) {
    const repository = value.slice(0, at);
    const digest = value.slice(at + 1);
    return isValidRepository(repository) && isValidDigest(digest) ? { repository, digest } : undefined;
  }
  const colon = value.lastIndexOf(":");
  if (colon < 0) return undefined;
  const repository = value.slice(0, colon);
  const tag = value.slice(colon + 1);
  return isValidRepository(repository) && isValidTag(tag) ? { repository, tag } : undefined;
}

/** A selector as the request named it (the summary's and the messages' `repo:tag` / `repo@sha256:<hex>`). */
export function formatImageSelector(selector: ImageSelector): string {
  return "tag" in selector ? `${selector.repository}:${selector.tag}` : `${selector.repository}@${selector.digest}`;
}

/** The body's `repo:tag` or `repo@sha256:<hex>`: parsed here, once, into its selector. */
export const restoreImageSelectorSchema = z
  .string()
  .max(400)
  .transform((value, ctx): ImageSelector => {
    const selector = parseImageSelector(value);
    if (selector) return selector;
    ctx.addIssue({ code: "custom", message: `"${value.slice(0, 100)}" must be repo:tag or repo@sha256:<64 hex>` });
    return z.NEVER;
  });

const repositoryPrefixSchema = z
  .string()
  .max(200)
  .refine(
    (prefix) => isValidRepository(prefix.replace(/\/$/, "")),
    "must be repository path components (lowercase, separated by /)",
  );

/** POST /api/restore body. */
export const startRestoreRunSchema = z
  .strictObject({
    /** The archived source registry (a login server, an ACR name or resource id). */
    registry: z.string({ error: "is required" }).min(1, "is required").max(512),
    images: z.array(restoreImageSelectorSchema).min(1, "must name at least one image").max(1000).optional(),
    repositories: globListSchema.optional(),
    tags: globListSchema.optional(),
    /** Everything one archive run archived (its summary). */
    runId: runIdSchema.optional(),
    target: z
      .strictObject({
        /** Default: the source registry (restore in place). */
        registry: loginServerSchema.optional(),
        /** Prepended to every repository: `restored/` puts team/api at restored/team/api. */
        repositoryPrefix: repositoryPrefixSchema.optional(),
      })
      .default({}),
    rehydratePriority: rehydratePrioritySchema.default("Standard"),
    maxParallel: z.number().int("must be an integer").min(1, "must be ≥ 1").max(100, "must be ≤ 100").optional(),
    dryRun: z.boolean().default(false),
  })
  .superRefine((body, ctx) => {
    const ways = [body.images, body.repositories ?? body.tags, body.runId].filter((w) => w !== undefined).length;
    if (ways !== 1)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "name what to restore in exactly one way: images, repositories/tags, or runId",
      });
  });
export type StartRestoreRunInput = z.output<typeof startRestoreRunSchema>;

/** What a restore run restores (its input's, each image selector parsed). */
export const restoreSelectionSchema = z.union([
  z.strictObject({ images: z.array(imageSelectorSchema).min(1).max(1000) }),
  z.strictObject({ repositories: globListSchema.optional(), tags: globListSchema.optional() }),
  z.strictObject({ runId: runIdSchema }),
]);
export type RestoreSelection = z.output<typeof restoreSelectionSchema>;

/** The selection as the request named it: what the summary shows. */
export type RequestedRestoreSelection = Exclude<RestoreSelection, { images: unknown }> | { images: string[] };

export function requestedSelection(selection: RestoreSelection): RequestedRestoreSelection {
  return "images" in selection ? { images: selection.images.map(formatImageSelector) } : selection;
}

export const restoreTargetSchema = z.strictObject({
  registry: loginServerSchema,
  repositoryPrefix: z.string().max(201).optional(),
});
export type RestoreTarget = z.output<typeof restoreTargetSchema>;

/** The restoreRun orchestration's input. */
export const restoreRunInputSchema = z.strictObject({
  ...runInputShape,
  kind: z.literal("restore"),
  selection: restoreSelectionSchema,
  target: restoreTargetSchema,
  rehydratePriority: rehydratePrioritySchema,
  rehydrationTimeoutMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
  rehydrationPollMaxSeconds: z.number().int().min(1).max(3600),
});
export type RestoreRunInput = z.output<typeof restoreRunInputSchema>;

/** What a restoreImage orchestration needs of its run. */
export const restoreImageRunContextSchema = restoreRunInputSchema
  .pick({
    kind: true,
    runId: true,
    registry: true,
    container: true,
    dryRun: true,
    maxAttempts: true,
    jobTimeoutMinutes: true,
    pollMaxIntervalSeconds: true,
    target: true,
    rehydratePriority: true,
    rehydrationTimeoutMinutes: true,
    rehydrationPollMaxSeconds: true,
  })
  .extend({
    /** Job executions of the run at once: each worker's share of the registry's request budget is 1/maxParallel. */
    maxParallel: restoreRunInputSchema.shape.maxParallel.optional(),
  });
export type RestoreImageRunContext = z.output<typeof restoreImageRunContextSchema>;

export const restoreBatchRunContextSchema = restoreImageRunContextSchema.extend({
  maxParallel: restoreRunInputSchema.shape.maxParallel,
});
export type RestoreBatchRunContext = z.output<typeof restoreBatchRunContextSchema>;

export function restoreBatchRunContext(run: RestoreRunInput): RestoreBatchRunContext {
  return { ...restoreImageRunContext({ ...run }), maxParallel: run.maxParallel };
}

/** The image context of a run or batch context: the schema's keys only (filters, selection stay with the run). */
export function restoreImageRunContext(run: RestoreImageRunContext): RestoreImageRunContext {
  const { kind, runId, registry, container, dryRun, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds } = run;
  const { target, rehydratePriority, rehydrationTimeoutMinutes, rehydrationPollMaxSeconds } = run;
  return {
    kind,
    runId,
    registry,
    container,
    dryRun,
    maxAttempts,
    jobTimeoutMinutes,
    pollMaxIntervalSeconds,
    target,
    rehydratePriority,
    rehydrationTimeoutMinutes,
    rehydrationPollMaxSeconds,
    ...(run.maxParallel !== undefined && { maxParallel: run.maxParallel }),
  };
}

/** Where an image of the source lands in the target. */
export function targetRepository(target: RestoreTarget, repository: string): string {
  const prefix = target.repositoryPrefix?.replace(/\/?$/, "/") ?? "";
  return `${prefix}${repository}`;
}

export interface RestoreTotals {
  total: number;
  restored: number;
  alreadyPresent: number;
  failed: number;
  /** Archive bytes restored. */
  bytes: number;
}

/** How a restore run counts its images (runs/engine/outcomeCounting.ts). */
export const restoreCounting: OutcomeCounting<RestoreTotals> = {
  keys: ["total", "restored", "alreadyPresent", "failed", "bytes"],
  byStatus: { restored: "restored", "already-present": "alreadyPresent", failed: "failed" },
  bytes: { key: "bytes", statuses: ["restored"] },
};

/** The restore run's custom status (counts only), and what GET /api/restore/{id} answers as progress. */
export interface RestoreProgress extends RestoreTotals {
  rehydrating: number;
  restoring: number;
  batches: number;
  batchesDone: number;
  phase: "resolving" | "restoring" | "summarizing" | "done";
}

/** A restoreImage orchestration's own custom status while it runs (the status endpoint counts these). */
export interface RestoreImagePhase {
  phase: "checking" | "rehydrating" | "restoring";
}

export interface ResolveRestoreImagesResult {
  total: number;
  /** Selected images with no archive (a tag never archived, a digest not there): failed in the summary. */
  unresolved: number;
  batchCount: number;
}

/** One line of a restore run's listing: what was selected, resolved to a digest, or why not. */
export interface RestoreListedImage {
  repository: string;
  digest: string;
  tags: string[];
  /** Why it cannot be restored (not archived); such an image gets no batch. */
  problem?: ErrorSummary;
}

export interface RestoreSummaryImage extends ImageOutcome {
  target: string;
  archiveBlob: string;
  priority: "Standard" | "High";
}

export interface RestoreSummary {
  schemaVersion: 1;
  kind: "restore";
  runId: string;
  registry: string;
  container: string;
  target: RestoreTarget;
  selection: RequestedRestoreSelection;
  rehydratePriority: "Standard" | "High";
  dryRun: boolean;
  startedAtUtc: string;
  endedAtUtc: string;
  totals: RestoreTotals & { jobExecutions: number };
  /** The cost report: the estimated retrieval of what was (a dry run: would be) rehydrated, at either priority. */
  cost: RestoreRunCost;
  images: RestoreSummaryImage[];
}

export interface RestoreRunOutput {
  runId: string;
  registry: string;
  summaryBlob: string;
  container: string;
  dryRun: boolean;
  totals: RestoreTotals & { jobExecutions: number };
}
