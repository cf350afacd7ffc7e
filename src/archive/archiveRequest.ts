// The worker's request (ARCHIVE_REQUEST, the old queue message, the CLI's flags): its one schema, and the check of a
// request against what this worker may act on. A request can be forged (it rides on an orchestration input, and
// the Durable webhook key starts any orchestration with any input), so the worker re-checks it before contacting
// anything.
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { isValidTag, parseImageReference } from "../registry/reference.js";
import { attemptIdSchema, blobBaseNameSchema, containerNameSchema, runIdSchema } from "../storage/blobNames.js";
import type { JobRequestKind } from "../jobs/jobAttempt.js";

export const archiveRequestSchema = z.strictObject({
  image: z
    .string()
    .min(1, "is required")
    .superRefine((value, ctx) => {
      try {
        parseImageReference(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    }),
  blobContainer: containerNameSchema.default("images"),
  blobBaseName: blobBaseNameSchema.optional(),
  runId: runIdSchema.optional(),
  /**
   * Which execution of the orchestration this is (`<n>`, from 1): the result blob carries it, so an orphaned
   * execution of an earlier attempt is never read as this one's, and a lost start can be found again.
   */
  attemptId: attemptIdSchema.optional(),
  /** Other tags known to point at the same digest (from the orchestrator's listing). */
  tags: z.array(z.string().refine(isValidTag, "must be a tag")).max(1000, "must hold at most 1000 tags").optional(),
  /**
   * For an image already archived: look up its referrers again and archive those its sidecar does not list yet as a
   * supplementary archive (refreshReferrers.ts). No effect on an image archived by this request.
   */
  refreshReferrers: z.boolean().optional(),
});
export type ArchiveRequest = z.output<typeof archiveRequestSchema>;

/** An archive job's request: ARCHIVE_REQUEST; one attempt is a run, an image and an attempt id. */
export const archiveJobRequest: JobRequestKind<ArchiveRequest> = {
  setting: "ARCHIVE_REQUEST",
  attemptKey: (r) => [r.runId, r.image, r.attemptId],
};

/** What a worker may act on (ALLOWED_REGISTRIES, ARCHIVE_CONTAINER of its own env). */
export interface WorkerScope {
  /** Login-server globs; empty: not configured (the CLI), anything goes. */
  allowedRegistries: readonly string[];
  /** The one container it may write; undefined: any. */
  archiveContainer?: string | undefined;
}

/** Throws INVALID_ARGUMENT (permanent) when the request names a registry or container outside the scope. */
export function assertRequestInScope(
  request: Pick<ArchiveRequest, "image" | "blobContainer">,
  scope: WorkerScope,
): void {
  if (scope.allowedRegistries.length > 0)
    assertRegistryAllowed(parseImageReference(request.image).registry, scope.allowedRegistries);
  assertContainerInScope(request.blobContainer, scope.archiveContainer);
}

/** Throws INVALID_ARGUMENT (permanent) when a request's container is not the one this worker or app may use. */
export function assertContainerInScope(blobContainer: string, archiveContainer: string | undefined): void {
  if (archiveContainer !== undefined && blobContainer !== archiveContainer)
    throw new ArchiveError(
      "INVALID_ARGUMENT",
      `blobContainer: ${blobContainer} is not this worker's container (ARCHIVE_CONTAINER: ${archiveContainer})`,
    );
}
