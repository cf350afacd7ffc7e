// A purge's records of one image in the archive container (storage/blobNames.ts purgeRecordBlobName), each step's written
// once (If-None-Match: *) and never overwritten: what the next run reads to know where the image's purge stands, and
// what an audit reads to know what was deleted, when, by which run, and from which archive it comes back.
//   brownout   the image was made unreadable (or, on a registry without changeable attributes, its grace began): when,
//              its tags, its graph (the root refuses reads from then on), its referrers, its archive, the run
//   cancelled  it was made readable again during its grace (or a person asked): later runs keep it
//   purged     it was deleted: the tags, referrers and children deleted, the children kept and why, bytes freed, the
//              archive it restores from, the brown-out's start, the read-back after
// Read back through schemas: a record is data, and a record that is not one this tool wrote is refused (STORAGE_ERROR,
// not retryable), never taken for "no record".
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { isSha256Digest } from "../registry/digest.js";
import { isValidRepository } from "../registry/reference.js";
import { purgeRecordBlobName, type ImageIdentity, type PurgeStep } from "../storage/blobNames.js";
import { readJsonBlob, writeJsonBlob } from "../storage/jsonBlob.js";
import { storageError } from "../storage/storageError.js";
import { imageGraphSchema } from "./imageGraph.js";

const digest = z.string().refine(isSha256Digest, "must be a sha256 digest");
const tags = z.array(z.string().max(128)).max(10_000);
const digests = z.array(digest).max(10_000);

const recordBase = {
  schemaVersion: z.literal(1),
  registry: z.string().min(1).max(255),
  repository: z.string().refine(isValidRepository, "must be a repository name"),
  digest,
  /** The run that wrote it. */
  runId: z.string().min(1).max(128),
  /** When (ISO 8601). */
  at: z.iso.datetime(),
};

export const brownoutRecordSchema = z.strictObject({
  ...recordBase,
  step: z.literal("brownout"),
  /** The tags that named the digest, each made unreadable. */
  tags,
  /** The archive it restores from. */
  archiveBlob: z.string().min(1).max(1024),
  /** Its own manifests (root first): the root refuses reads once browned out. */
  graph: imageGraphSchema,
  /** Its referrers as found (all archived). */
  referrers: digests,
  /** Its lastUpdateTime before the brown-out's PATCH moved it: what keepLatest ranks it by from then on. */
  lastUpdatedOn: z.string().max(64).optional(),
  /** Whether readEnabled was set false; false on a registry without changeable attributes (the grace is a delay). */
  attributes: z.boolean(),
});
export type BrownoutRecord = z.output<typeof brownoutRecordSchema>;

export const cancelledRecordSchema = z.strictObject({
  ...recordBase,
  step: z.literal("cancelled"),
  /** readable-again: someone re-enabled reads during the grace; requested: a person asked (API, CLI). */
  reason: z.enum(["readable-again", "requested"]),
  detail: z.string().max(1024),
  /** The brown-out it ends. */
  brownoutAt: z.iso.datetime().optional(),
});
export type CancelledRecord = z.output<typeof cancelledRecordSchema>;

export const purgedRecordSchema = z.strictObject({
  ...recordBase,
  step: z.literal("purged"),
  tags,
  archiveBlob: z.string().min(1).max(1024),
  /** Referrer manifests deleted (their cosign tags with them), deepest first. */
  referrersDeleted: digests,
  /** Indexes of the referrers tag schema (`sha256-<hex>`) deleted. */
  tagSchemaIndexesDeleted: digests,
  /** Manifests under the root deleted: none in the repository still listed them. */
  childrenDeleted: digests,
  /** Manifests under the root kept, and why (another manifest lists them, a tag names them, a lock, …). */
  childrenKept: z.array(z.strictObject({ digest, why: z.string().max(1024) })).max(10_000),
  /**
   * Bytes of the deleted manifests and their configs and layers, each blob once, less those a kept child still lists:
   * what the image's graph states. A layer another image shares is freed only with the last of them.
   */
  bytesFreed: z.number().int().min(0),
  /** The brown-out it followed; absent when the grace was PT0S. */
  brownoutAt: z.iso.datetime().optional(),
  /** The registry read again after the deletes: the digest gone, every manifest that was kept still there. */
  readBack: z.strictObject({ ok: z.boolean(), problems: z.array(z.string().max(1024)).max(1000) }),
  /** Written after the fact: the digest was found gone with no record (a crash between the delete and the record). */
  recovered: z.boolean().optional(),
});
export type PurgedRecord = z.output<typeof purgedRecordSchema>;

export type PurgeRecord = BrownoutRecord | CancelledRecord | PurgedRecord;

const SCHEMAS = { brownout: brownoutRecordSchema, cancelled: cancelledRecordSchema, purged: purgedRecordSchema };

export interface PurgeRecords {
  brownout?: BrownoutRecord;
  cancelled?: CancelledRecord;
  purged?: PurgedRecord;
}

export interface PurgeRecordOptions {
  abortSignal?: AbortSignal;
}

/**
 * Writes the record of one step, once: answers false (and writes nothing) when that step's record exists already. A
 * record is checked against its schema first: nothing malformed is ever written.
 */
export async function writePurgeRecord(
  container: ContainerClient,
  record: PurgeRecord,
  options: PurgeRecordOptions = {},
): Promise<boolean> {
  const checked = SCHEMAS[record.step].safeParse(record);
  if (!checked.success)
    throw new ArchiveError(
      "INTERNAL",
      `a ${record.step} record of ${record.repository}@${record.digest} does not fit its schema: ${checked.error.issues[0]?.message}`,
    );
  const name = purgeRecordBlobName(identityOf(record), record.step);
  try {
    return await writeJsonBlob(container, name, checked.data, {
      pretty: true,
      ifNotExists: true,
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
  } catch (error) {
    throw storageError(`cannot write ${name}`, error);
  }
}

/** The one record of `step` for the image, or undefined when there is none. */
export async function readPurgeRecord<S extends PurgeStep>(
  container: ContainerClient,
  image: ImageIdentity,
  step: S,
  options: PurgeRecordOptions = {},
): Promise<PurgeRecords[S] | undefined> {
  const name = purgeRecordBlobName(image, step);
  const json = await readJsonBlob<unknown>(container, name, options);
  if (json === undefined) return undefined;
  const parsed = SCHEMAS[step].safeParse(json);
  const same =
    parsed.success &&
    parsed.data.registry.toLowerCase() === image.registry.toLowerCase() &&
    parsed.data.repository === image.repository &&
    parsed.data.digest === image.digest;
  if (!same)
    throw new ArchiveError("STORAGE_ERROR", `${name} is not a ${step} record this tool wrote for ${image.digest}`, {
      retryable: false,
    });
  return parsed.data as PurgeRecords[S];
}

/** Every record of the image (three reads at once). */
export async function readPurgeRecords(
  container: ContainerClient,
  image: ImageIdentity,
  options: PurgeRecordOptions = {},
): Promise<PurgeRecords> {
  const [brownout, cancelled, purged] = await Promise.all([
    readPurgeRecord(container, image, "brownout", options),
    readPurgeRecord(container, image, "cancelled", options),
    readPurgeRecord(container, image, "purged", options),
  ]);
  return { ...(brownout && { brownout }), ...(cancelled && { cancelled }), ...(purged && { purged }) };
}

function identityOf(record: PurgeRecord): ImageIdentity {
  return { registry: record.registry, repository: record.repository, digest: record.digest };
}
