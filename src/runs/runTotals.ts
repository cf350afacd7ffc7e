// Counting a run: totals from image outcomes, and the outcome an image reports from its worker's result. Pure.
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import type { ImageOutcome, ImageWorkItem, RunTotals } from "./archiveRun.js";
import type { RestoreTotals } from "./restoreRun.js";
import type { RunKind } from "./instanceIds.js";

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
  return {
    total: a.total + b.total,
    archived: a.archived + b.archived,
    alreadyArchived: a.alreadyArchived + b.alreadyArchived,
    failed: a.failed + b.failed,
    bytesArchived: a.bytesArchived + b.bytesArchived,
  };
}

/** The outcome an archiveImage orchestration reports from the worker's result blob. */
export function outcomeFromResult(
  item: ImageWorkItem,
  result: ArchiveImageResult,
  attempts: number,
  durationSeconds: number,
): ImageOutcome {
  return {
    repository: item.repository,
    digest: item.digest,
    tags: item.tags,
    status: result.status,
    ...(result.bytes !== undefined && { bytes: result.bytes }),
    ...(result.sha256 !== undefined && { sha256: result.sha256 }),
    ...(result.externalLayers ? { externalLayers: result.externalLayers } : {}),
    ...(result.newReferrers ? { newReferrers: result.newReferrers } : {}),
    ...(result.referrersSupplementBlob && { referrersSupplementBlob: result.referrersSupplementBlob }),
    attempts,
    durationSeconds,
    ...(result.registryRequests !== undefined && { registryRequests: result.registryRequests }),
    ...(result.error && { error: { code: result.error.code, message: result.error.message.slice(0, 500) } }),
  };
}

export function emptyRestoreTotals(): RestoreTotals {
  return { total: 0, restored: 0, alreadyPresent: 0, failed: 0, bytes: 0 };
}

export function addRestoreOutcome(totals: RestoreTotals, outcome: ImageOutcome): RestoreTotals {
  return {
    total: totals.total + 1,
    restored: totals.restored + (outcome.status === "restored" ? 1 : 0),
    alreadyPresent: totals.alreadyPresent + (outcome.status === "already-present" ? 1 : 0),
    failed: totals.failed + (outcome.status === "failed" ? 1 : 0),
    bytes: totals.bytes + (outcome.status === "restored" ? (outcome.bytes ?? 0) : 0),
  };
}

export function addRestoreTotals(a: RestoreTotals, b: RestoreTotals): RestoreTotals {
  return {
    total: a.total + b.total,
    restored: a.restored + b.restored,
    alreadyPresent: a.alreadyPresent + b.alreadyPresent,
    failed: a.failed + b.failed,
    bytes: a.bytes + b.bytes,
  };
}

/** How one kind of run counts its images: the batch and the run engine are the same for both kinds. */
export interface OutcomeCounter<T> {
  empty(): T;
  add(totals: T, outcome: ImageOutcome): T;
}

export function outcomeCounter(kind: RunKind): OutcomeCounter<RunTotals> | OutcomeCounter<RestoreTotals> {
  return kind === "restore"
    ? { empty: emptyRestoreTotals, add: addRestoreOutcome }
    : { empty: emptyTotals, add: addOutcome };
}
