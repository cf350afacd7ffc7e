// The per-image checks of a restore: does the target already answer the digest (then nothing is rehydrated and no job
// starts), and is the digest archived here at all. The image's reference carries its run, so each activity holds the
// run to the settings (runs/runScope.ts) before the target or the container is touched.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { RegistryClient } from "../registry/registryClient.js";
import { getArchivedImageInfo } from "../storage/archiveStore.js";
import { archiveBlobName } from "../storage/blobNames.js";
import { imageWorkItemSchema } from "./archiveRun.js";
import { restoreImageRunContextSchema, targetRepository } from "./restoreRun.js";

export const restoreImageRefSchema = z.strictObject({
  run: restoreImageRunContextSchema,
  repository: imageWorkItemSchema.shape.repository,
  digest: imageWorkItemSchema.shape.digest,
});
export type RestoreImageRef = z.output<typeof restoreImageRefSchema>;

export interface RestoreTargetCheck {
  /** The target repository answers the digest. */
  present: boolean;
  /** The archive's sidecar exists. */
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

export async function checkRestoreTarget(
  ref: RestoreImageRef,
  deps: { container: ContainerClient; target: RegistryClient; abortSignal?: AbortSignal },
): Promise<RestoreTargetCheck> {
  const { run, repository, digest } = ref;
  const abort = deps.abortSignal ? { abortSignal: deps.abortSignal } : {};
  const answered = await deps.target.getManifestDigest(targetRepository(run.target, repository), digest, abort);
  const info = await getArchivedImageInfo(deps.container, { registry: run.registry, repository, digest });
  return {
    present: answered === digest,
    archived: info.archived,
    ...(info.bytes !== undefined && { bytes: info.bytes }),
    ...(info.sha256 && { sha256: info.sha256 }),
  };
}

/** The archive blob of a restore's image. */
export function restoreArchiveBlob(ref: Pick<RestoreImageRef, "run" | "repository" | "digest">): string {
  return archiveBlobName({ registry: ref.run.registry, repository: ref.repository, digest: ref.digest });
}
