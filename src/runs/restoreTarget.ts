// The per-image checks of a restore: does the target already have the image (its digest, its referrers and every tag
// the restore asks for, answering that digest: then nothing is rehydrated and no job starts), and is the digest archived
// here at all. The image's reference carries its run, so each activity holds the run to the settings
// (runs/runScope.ts) before the target or the container is touched.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { RegistryClient } from "../registry/registryClient.js";
import { recordedReferrerDigests, type ArchiveSidecar } from "../archive/sidecar.js";
import { getArchivedImageInfo, getSidecar } from "../storage/archiveStore.js";
import { archiveBlobName, sidecarBlobName } from "../storage/blobNames.js";
import { imageWorkItemSchema } from "./engine/workItem.js";
import { restoreImageRunContextSchema, targetRepository } from "./restoreRun.js";

export const restoreImageRefSchema = z.strictObject({
  run: restoreImageRunContextSchema,
  repository: imageWorkItemSchema.shape.repository,
  digest: imageWorkItemSchema.shape.digest,
});
export type RestoreImageRef = z.output<typeof restoreImageRefSchema>;

/** What checkRestoreTarget checks: the image, and the tags the restore pushes it under. */
export const restoreTargetCheckSchema = restoreImageRefSchema.extend({
  tags: imageWorkItemSchema.shape.tags.default([]),
});
export type RestoreTargetCheckRef = RestoreImageRef & { tags?: string[] };

/** An image's restore is done with its staging copies: `deleteUnclaimed` after a restore, not after other failures. */
export const releaseStagingInputSchema = restoreImageRefSchema.extend({ deleteUnclaimed: z.boolean() });
export type ReleaseStagingInput = z.output<typeof releaseStagingInputSchema>;

export interface RestoreTargetCheck {
  /**
   * The target repository answers the digest, every referrer the image's sidecar records, and each of the restore's
   * tags with the digest (a tag untagged, or naming another image since, is restored).
   */
  present: boolean;
  /** The archive's sidecar exists. */
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

export async function checkRestoreTarget(
  ref: RestoreTargetCheckRef,
  deps: { container: ContainerClient; target: RegistryClient; abortSignal?: AbortSignal },
): Promise<RestoreTargetCheck> {
  const { run, repository, digest, tags = [] } = ref;
  const abort = deps.abortSignal ? { abortSignal: deps.abortSignal } : {};
  const targetRepo = targetRepository(run.target, repository);
  const answered = await deps.target.getManifestDigest(targetRepo, digest, abort);
  const info = await getArchivedImageInfo(deps.container, { registry: run.registry, repository, digest });
  // Present means the image AND every referrer archived with it or after it (its sidecar's): a target that has the
  // image but lost a signature gets the restore (which pushes only what is missing).
  let present = answered === digest;
  // Each tag the restore pushes must name the digest already (one HEAD each, stopping at the first that does not).
  for (const tag of new Set(tags)) {
    if (!present) break;
    present = (await deps.target.getManifestDigest(targetRepo, tag, abort)) === digest;
  }
  if (present && info.archived) {
    const archiveBlob = archiveBlobName({ registry: run.registry, repository, digest });
    const stored = await getSidecar<ArchiveSidecar>(deps.container, sidecarBlobName(archiveBlob), abort);
    for (const referrer of recordedReferrerDigests(stored?.sidecar)) {
      if ((await deps.target.getManifestDigest(targetRepo, referrer, abort)) === referrer) continue;
      present = false;
      break;
    }
  }
  return {
    present,
    archived: info.archived,
    ...(info.bytes !== undefined && { bytes: info.bytes }),
    ...(info.sha256 && { sha256: info.sha256 }),
  };
}

/** The archive blob of a restore's image. */
export function restoreArchiveBlob(ref: Pick<RestoreImageRef, "run" | "repository" | "digest">): string {
  return archiveBlobName({ registry: ref.run.registry, repository: ref.repository, digest: ref.digest });
}
