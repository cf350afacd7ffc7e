// The worker's archive request (ARCHIVE_REQUEST): the image as values (registry, repository, digest, tags), parsed
// and validated once into the typed request the worker uses throughout, and the check of a request against what this
// worker may act on. A request can be forged (it rides on an orchestration input, and the Durable webhook key starts
// any orchestration with any input), so the worker re-checks it before contacting anything.
//
// The legacy form names the image by one reference string, `{"image": "<registry>/<repository>[:<tag>][@<digest>]"}`
// (the old queue message, QUEUE_MESSAGE_FILE, and the CLI's `archive <reference>`): it is parsed here, at the edge,
// into the same request, and nowhere else.
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import {
  isValidDigest,
  isValidRegistryHost,
  isValidRepository,
  isValidTag,
  parseImageReference,
  type ImageReference,
} from "../registry/reference.js";
import { attemptIdSchema, blobBaseNameSchema, containerNameSchema, runIdSchema } from "../storage/blobNames.js";
import type { JobRequestKind } from "../jobs/jobAttempt.js";

/** A login server as an image reference names it (a dot, a port or `localhost`; its case kept, as the CLI's). */
const registrySchema = z
  .string()
  .max(260)
  .refine(
    (host) => isValidRegistryHost(host) && (/[.:]/.test(host) || host === "localhost"),
    "must be a registry login server such as myacr.azurecr.io or 127.0.0.1:5000",
  );

const tagsSchema = z
  .array(z.string().refine(isValidTag, "must be a tag"))
  .max(1000, "must hold at most 1000 tags")
  // Each tag once, in the order given (the first stays first: it is the one the image was asked for).
  .transform((tags) => [...new Set(tags)]);

/** What the request says besides the image: where it goes, which run and attempt it is, what more to do. */
const requestOptionsShape = {
  blobContainer: containerNameSchema.default("images"),
  blobBaseName: blobBaseNameSchema.optional(),
  runId: runIdSchema.optional(),
  /**
   * Which execution of the orchestration this is (`<n>`, from 1): the result blob carries it, so an orphaned
   * execution of an earlier attempt is never read as this one's, and a lost start can be found again.
   */
  attemptId: attemptIdSchema.optional(),
  /**
   * For an image already archived: look up its referrers again and archive those its sidecar does not list yet as a
   * supplementary archive (refreshReferrers.ts). No effect on an image archived by this request.
   */
  refreshReferrers: z.boolean().optional(),
};

/** The request's fields, without the rule that binds them (what the app's job start extends). */
export const archiveRequestShape = z.strictObject({
  registry: registrySchema,
  repository: z.string().refine(isValidRepository, "must be a repository name"),
  /** The image to archive. Absent (a request by tag alone): its first tag is resolved to a digest. */
  digest: z.string().refine(isValidDigest, "must be sha256:<64 hex>").optional(),
  /**
   * Every tag known to point at the digest, the one it was asked for first (the sidecar's `source.tag`); all of them
   * go into its archive (index.json, RepoTags, sidecar, tag markers).
   */
  tags: tagsSchema.default([]),
  ...requestOptionsShape,
});

/** ARCHIVE_REQUEST as the app sends it. */
export const archiveRequestSchema = archiveRequestShape.superRefine((request, ctx) => {
  if (request.digest === undefined && request.tags.length === 0)
    ctx.addIssue({ code: "custom", path: ["digest"], message: "is required when no tag is named" });
});
export type ArchiveRequest = z.output<typeof archiveRequestSchema>;

/**
 * The legacy form: the image as one reference string (the old queue message `{image, blobContainer, blobBaseName}`,
 * the CLI's argument), with any of the request's other fields. Parsed once, into the structured request.
 */
export const referenceArchiveRequestSchema = z
  .strictObject({
    image: z
      .string()
      .min(1, "is required")
      .transform((value, ctx): ImageReference => {
        try {
          return parseImageReference(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
          return z.NEVER;
        }
      }),
    /** Other tags known to point at the same digest. */
    tags: tagsSchema.optional(),
    ...requestOptionsShape,
  })
  .transform(({ image, tags = [], ...options }): ArchiveRequest => archiveRequestOfReference(image, tags, options));

/** The request for an image named by a reference: its tag (when it names one) first among the tags. */
function archiveRequestOfReference(
  image: ImageReference,
  tags: string[],
  options: Omit<ArchiveRequest, "registry" | "repository" | "digest" | "tags">,
): ArchiveRequest {
  return {
    registry: image.registry,
    repository: image.repository,
    ...(image.digest !== undefined && { digest: image.digest }),
    tags: [...new Set([...(image.tag !== undefined ? [image.tag] : []), ...tags])],
    ...options,
  };
}

/** The schema for ARCHIVE_REQUEST in either form: the legacy one when it names an `image`. */
export function archiveRequestSchemaFor(value: unknown): z.ZodType<ArchiveRequest, unknown> {
  const legacy = typeof value === "object" && value !== null && "image" in value;
  return legacy ? referenceArchiveRequestSchema : archiveRequestSchema;
}

/** An archive job's request: ARCHIVE_REQUEST; one attempt is a run, an image and an attempt id. */
export const archiveJobRequest: JobRequestKind<ArchiveRequest> = {
  setting: "ARCHIVE_REQUEST",
  attemptKey: (r) => [r.runId, r.registry, r.repository, r.digest, r.attemptId],
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
  request: Pick<ArchiveRequest, "registry" | "blobContainer">,
  scope: WorkerScope,
): void {
  if (scope.allowedRegistries.length > 0) assertRegistryAllowed(request.registry, scope.allowedRegistries);
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
