// The worker's restore request (RESTORE_REQUEST): one archive, already readable (its staging copy, or the archive in
// an online tier), pushed into one target repository. Its one schema, and the check of a request against what this
// worker may act on: the request rides on an orchestration input, which can be forged, so the worker re-checks it
// against its own env (RESTORE_TARGET_REGISTRIES, ARCHIVE_CONTAINER) before contacting anything.
//
// It names facts, nothing derived from them: the archive blob (whose name says the image and its digest) and whether
// it is read from its staging copy. The worker derives the blob it reads (storage/blobNames.ts readableBlobName) and
// the digest it expects (the archive name's), so a request cannot make it read another blob as this archive.
import { z } from "zod";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { isValidRepository, isValidTag, loginServerSchema } from "../registry/reference.js";
import type { JobRequestKind } from "../jobs/jobAttempt.js";
import { assertContainerInScope } from "./archiveRequest.js";
import {
  archiveBlobIdentity,
  attemptIdSchema,
  containerNameSchema,
  isReferrersSupplementOf,
  runIdSchema,
} from "../storage/blobNames.js";

const archiveBlobSchema = z
  .string()
  .max(1100)
  .refine(
    (name) => archiveBlobIdentity(name) !== undefined,
    "must be an archive blob name (<registry>/<repository>@sha256-<hex>.tar.gz)",
  );

/** Read the blob's staging copy (`staging/<blob>`, rehydrated for the restore), or the blob itself (an online tier). */
const fromStagingSchema = z.boolean();

export const restoreRequestSchema = z
  .strictObject({
    /** The archive (its sidecar is `<archiveBlob>.json`; its name gives the root digest the target must answer). */
    archiveBlob: archiveBlobSchema,
    fromStaging: fromStagingSchema,
    blobContainer: containerNameSchema.default("images"),
    target: z.strictObject({
      registry: loginServerSchema,
      repository: z.string().refine(isValidRepository, "must be a repository name"),
      /** Tags to push the root under; default: the tags the archive records. */
      tags: z.array(z.string().refine(isValidTag, "must be a tag")).max(1000, "must hold at most 1000 tags").optional(),
    }),
    /**
     * The archive's referrers supplements (its sidecar's `supplements`), oldest first, each read from its staging copy
     * or itself: pushed after the archive, so the referrers that arrived later are restored too.
     */
    supplements: z
      .array(z.strictObject({ archiveBlob: z.string().max(1200), fromStaging: fromStagingSchema }))
      .max(1000, "must hold at most 1000 supplements")
      .optional(),
    runId: runIdSchema.optional(),
    attemptId: attemptIdSchema.optional(),
  })
  .superRefine((request, ctx) => {
    // Only the archive's own supplements: a request cannot make the worker push another archive as one of them.
    request.supplements?.forEach((supplement, i) => {
      if (!isReferrersSupplementOf(supplement.archiveBlob, request.archiveBlob))
        ctx.addIssue({
          code: "custom",
          path: ["supplements", i, "archiveBlob"],
          message: "must be a referrers supplement of the archive (<archive stem>.referrers-sha256-<hex>.tar.gz)",
        });
    });
  });
export type RestoreRequest = z.output<typeof restoreRequestSchema>;

/** A restore job's request: RESTORE_REQUEST; one attempt is a run, an archive, a target and an attempt id. */
export const restoreJobRequest: JobRequestKind<RestoreRequest> = {
  setting: "RESTORE_REQUEST",
  attemptKey: (r) => [r.runId, r.archiveBlob, r.target?.registry, r.target?.repository, r.attemptId],
};

/** What a restoring worker may act on (RESTORE_TARGET_REGISTRIES, ARCHIVE_CONTAINER of its own env). */
export interface RestoreScope {
  /** Login-server globs it may push to; empty: none (the worker refuses restores), or not configured (the CLI). */
  restoreTargetRegistries: readonly string[];
  archiveContainer?: string | undefined;
}

/** Throws INVALID_ARGUMENT (permanent) when the target or container is outside the scope. */
export function assertRestoreRequestInScope(
  request: Pick<RestoreRequest, "target" | "blobContainer">,
  scope: RestoreScope,
  options: { requireTargets: boolean },
): void {
  if (options.requireTargets || scope.restoreTargetRegistries.length > 0)
    assertRegistryAllowed(request.target.registry, scope.restoreTargetRegistries, "RESTORE_TARGET_REGISTRIES");
  assertContainerInScope(request.blobContainer, scope.archiveContainer);
}
