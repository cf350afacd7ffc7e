// The sweep of staging copies left behind: a restore that failed otherwise than DIGEST_MISMATCH (job failures,
// REHYDRATION_TIMEOUT, ORCHESTRATION_FAILED) keeps its copy for the next restore, and one that crashed keeps its claim
// too. A copy not written for STAGING_MAX_AGE_MINUTES (written: made, or marked in use by a restore about to read it)
// and claimed by no live claimant is deleted, If-Match the ETag it was listed with: a restore that finds it ready after
// the listing has changed that, and keeps it. A claim is live while its restore run is Pending or Running; a claim
// that names no restore run (the CLI's) while it is younger than the age limit (the CLI writes it again at each poll).
// Stale claims are deleted with their copies. Plain module: the Durable client is behind `listRunningRestores`.
import type { ContainerClient } from "@azure/storage-blob";
import {
  deleteListedStagingCopy,
  deleteStagingClaim,
  listStagingClaims,
  listStagingCopies,
  type ListedStagingClaim,
} from "../storage/rehydration.js";
import { isRestoreRunInstanceId } from "./instanceIds.js";

export interface StagingSweepOptions {
  maxAgeMinutes: number;
  now: Date;
  /** The instance ids of the restore runs that are Pending or Running (ContinuedAsNew included). */
  listRunningRestores: () => Promise<readonly string[]>;
}

export interface StagingSweepResult {
  /** Names of the copies deleted. */
  deleted: string[];
  /** Copies kept because a live claim is on them. */
  inUse: number;
  /** Copies kept because they were written within the age limit (or since they were listed). */
  recent: number;
  /** Stale claims deleted (of runs that ended, or the CLI's, older than the age limit). */
  staleClaims: number;
}

export async function sweepStagingCopies(
  container: ContainerClient,
  options: StagingSweepOptions,
): Promise<StagingSweepResult> {
  const maxAgeMs = options.maxAgeMinutes * 60_000;
  const old = (lastModified: Date) => options.now.getTime() - lastModified.getTime() >= maxAgeMs;
  // Copies first (their ETags gate the deletes), then the claims, then the runs: a run that wrote a claim before the
  // claims were listed was started before the runs are asked, so it is in the answer unless it has ended.
  const copies = await listStagingCopies(container);
  const claims = await listStagingClaims(container);
  const running = new Set(await options.listRunningRestores());
  const live = (claim: ListedStagingClaim) =>
    isRestoreRunInstanceId(claim.claimant) ? running.has(claim.claimant) : !old(claim.lastModified);

  const result: StagingSweepResult = { deleted: [], inUse: 0, recent: 0, staleClaims: 0 };
  const claimed = new Set<string>();
  for (const claim of claims) {
    if (live(claim)) claimed.add(claim.archiveBlob);
    else if (await deleteStagingClaim(container, claim)) result.staleClaims++;
    else claimed.add(claim.archiveBlob); // claimed again since it was listed: live after all
  }
  for (const copy of copies) {
    if (claimed.has(copy.archiveBlob)) result.inUse++;
    else if (!old(copy.lastModified)) result.recent++;
    else if (await deleteListedStagingCopy(container, copy)) result.deleted.push(copy.name);
    else result.recent++; // changed since it was listed: a restore has just marked it in use
  }
  return result;
}
