// How a run behaves when things fail or take time: which errors another attempt cannot fix, how polling and retries
// back off, how idempotent activities are retried. Pure functions and constants: orchestrators use them.
import type { ArchiveErrorCode } from "../errors.js";

// Codes that another attempt cannot fix: the reference, the manifest, the archive or the name is the problem.
const PERMANENT_ERRORS: ReadonlySet<string> = new Set<ArchiveErrorCode>([
  "INVALID_REFERENCE",
  "REGISTRY_NOT_FOUND",
  "UNSUPPORTED_MEDIA_TYPE",
  "ARCHIVE_CONFLICT",
  "CONFIG_INVALID",
  "INVALID_ARGUMENT",
  "ARCHIVE_INVALID",
  "REFERRER_GRAPH_INVALID",
  // A lock in the registry (a read-disabled image, one browned out before a purge) stays until a person lifts it.
  "REGISTRY_LOCKED",
]);

export function isPermanentFailure(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_ERRORS.has(code);
}

/** Seconds until the next poll of a running execution: 5, 10, 20, … capped at `maxSeconds`. */
export function pollDelaySeconds(poll: number, maxSeconds: number): number {
  return Math.min(5 * 2 ** Math.min(poll, 16), maxSeconds);
}

/**
 * Seconds until the next check of a pending rehydration: 60, 120, 240, … capped at `maxSeconds` (~15 min): Azure
 * takes up to 15 hours (Standard) or under one (High), and a durable timer costs nothing while it waits.
 */
export function rehydrationPollDelaySeconds(poll: number, maxSeconds: number): number {
  return Math.min(60 * 2 ** Math.min(poll, 16), maxSeconds);
}

/** Seconds to wait before attempt `attempt + 1` after a failed one: 30, 60, 120, … capped at 15 minutes. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(30 * 2 ** (attempt - 1), 900);
}

/** Retries for idempotent activities (blob and ARM reads, run blobs): attempts, first delay, backoff. */
export const ACTIVITY_RETRY = {
  maxNumberOfAttempts: 4,
  firstRetryIntervalInMilliseconds: 5_000,
  backoffCoefficient: 2,
} as const;

// Every tag of an image goes into its archive (index.json, RepoTags, sidecar, tag markers): a tag left out here would
// be lost for good. 1,000 tags of at most 128 characters keep ARCHIVE_REQUEST under 130 KB (an ARM request is up to
// 4 MB); an image with more tags than that is refused, not archived without some.
export const MAX_TAGS_PER_REQUEST = 1000;
