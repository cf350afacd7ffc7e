// The outcome an archive image reports from its worker's result. Pure. (Counting outcomes: engine/outcomeCounting.ts.)
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import type { ImageOutcome, ImageWorkItem } from "./engine/workItem.js";

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
    ...(result.verified === true && { verified: true as const }),
    ...(result.newReferrers ? { newReferrers: result.newReferrers } : {}),
    ...(result.referrersSupplementBlob && { referrersSupplementBlob: result.referrersSupplementBlob }),
    attempts,
    durationSeconds,
    ...(result.registryRequests !== undefined && { registryRequests: result.registryRequests }),
    ...(result.error && { error: { code: result.error.code, message: result.error.message.slice(0, 500) } }),
  };
}
