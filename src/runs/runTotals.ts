// Counting a run: totals from image outcomes, and the outcome an image reports from its worker's result. Pure.
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import type { ImageOutcome, ImageWorkItem, RunTotals } from "./archiveRun.js";

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
    attempts,
    durationSeconds,
    ...(result.error && { error: { code: result.error.code, message: result.error.message.slice(0, 500) } }),
  };
}
