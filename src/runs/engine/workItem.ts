// What every kind of run passes between its orchestrations, whatever the kind: a work item (an image of a registry),
// its outcome, a batch's reference and its progress. Plain data with zod schemas: orchestrators and activities check
// their untrusted inputs with them. A kind's own model (archiveRun.ts, restoreRun.ts) builds on these.
import { z } from "zod";
import { ARCHIVE_ERROR_CODES } from "../../errors.js";
import { SHA256_HEX } from "../../registry/digest.js";
import { isValidDigest, isValidRepository, isValidTag, loginServerSchema } from "../../registry/reference.js";
import { containerNameSchema, runIdSchema } from "../../storage/blobNames.js";

/** One item of a run (an image to archive, restore, …): what a batch blob holds and an item orchestration gets. */
export const imageWorkItemSchema = z.strictObject({
  repository: z.string().refine(isValidRepository, "must be a repository name"),
  digest: z.string().refine(isValidDigest, "must be sha256:<64 hex>"),
  tags: z.array(z.string().refine(isValidTag, "must be a tag")).max(10_000),
  /** Archived already, with referrers its archive lacks: its job writes them into a supplementary archive. */
  refreshReferrers: z.literal(true).optional(),
});
export type ImageWorkItem = z.output<typeof imageWorkItemSchema>;

/** (registry, repository, digest): what an archive's name is built from. */
export const imageIdentitySchema = z.strictObject({
  registry: loginServerSchema,
  repository: imageWorkItemSchema.shape.repository,
  digest: imageWorkItemSchema.shape.digest,
});

/** A batch of a run: readBatch, writeBatchOutcomes. */
export const batchRefSchema = z.strictObject({
  runId: runIdSchema,
  container: containerNameSchema,
  batchIndex: z.number().int().min(0).max(1_000_000),
});

/** An item's outcome, for every kind of run: archive (archived …) and restore (restored, already-present, …). */
export const imageStatusSchema = z.enum([
  "archived",
  "already-archived",
  "failed",
  "would-archive",
  "restored",
  "already-present",
  "would-restore",
]);
export type ImageStatus = z.output<typeof imageStatusSchema>;

/** What an item orchestration returns: compact, so batches stay far below the message size limits. */
export const imageOutcomeSchema = imageWorkItemSchema.extend({
  status: imageStatusSchema,
  bytes: z.number().int().min(0).optional(),
  sha256: z.string().regex(SHA256_HEX).optional(),
  /** Foreign / non-distributable layers the registry did not have: recorded in the sidecar, not in the archive. */
  externalLayers: z.number().int().min(0).optional(),
  /** refreshReferrers: referrers the archive lacked (a dry run: found; otherwise: archived in the supplement). */
  newReferrers: z.number().int().min(0).optional(),
  /** Its archive as storage holds it was read back and verified (now or before: its sidecar or record says so). */
  verified: z.literal(true).optional(),
  referrersSupplementBlob: z.string().max(1024).optional(),
  attempts: z.number().int().min(0).max(10_000),
  durationSeconds: z.number().min(0),
  /** A restore: seconds spent waiting for the archive's rehydration (durable timers). */
  waitedSeconds: z.number().min(0).optional(),
  /** Requests the image's workers made to the registry, over all attempts (token requests and retries included). */
  registryRequests: z.number().int().min(0).optional(),
  /** Why it failed: a code of the error catalogue (src/errors.ts), and one line. */
  error: z.strictObject({ code: z.enum(ARCHIVE_ERROR_CODES), message: z.string().max(2000) }).optional(),
});
export type ImageOutcome = z.output<typeof imageOutcomeSchema>;

/** Custom status of a batch: what the status endpoint adds to the parent's counts while the batch runs. */
export interface BatchProgress<T> {
  running: number;
  /** The kind's totals of the waves it has finished. */
  done: T;
  /** The wave in flight: image instances `imageInstanceId(<batch instance>, waveStart … waveStart+running-1)`. */
  waveStart: number;
}
