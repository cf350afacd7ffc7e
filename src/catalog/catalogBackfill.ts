// Index tags for the archives (and referrers supplements) written before archives carried them: each archive run of
// a registry indexes at most CATALOG_BACKFILL_MAX_BLOBS of that registry's blobs (a listing of `<registry>/` with
// metadata and tags: no blob is read), resuming where the previous run stopped (a cursor blob), until the listing is
// through; from then on it costs one small read a run. Idempotent: a blob that has the complete set is left alone,
// and the verification and purge states a blob already has are kept, never reset to their placeholders.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { loginServerSchema } from "../registry/reference.js";
import { listBlobsWithIndexTags, setIndexTags, type ListedBlob } from "../storage/archiveStore.js";
import { parseArchiveBlobMetadata } from "../storage/blobMetadata.js";
import {
  archiveBlobIdentity,
  catalogBackfillCursorBlobName,
  containerNameSchema,
  referrersSupplementIdentity,
} from "../storage/blobNames.js";
import { archiveIndexTags, hasCompleteIndexTags, IndexTagKeys, type ArchiveIndexFields } from "../storage/indexTags.js";
import { readJsonBlob, writeJsonBlob } from "../storage/jsonBlob.js";
import { storageError } from "../storage/storageError.js";

export const catalogBackfillInputSchema = z.strictObject({
  registry: loginServerSchema,
  container: containerNameSchema,
});
export type CatalogBackfillInput = z.output<typeof catalogBackfillInputSchema>;

export interface CatalogBackfillResult {
  /** Blobs of the registry listed by this run's backfill (archives, supplements, sidecars, tag markers alike). */
  examined: number;
  /** Archives and supplements that got their index tags. */
  indexed: number;
  /** The registry's archives are all indexed: later runs do nothing. */
  done: boolean;
  /** Why it stopped early (a failure never fails the run; the next run goes on from the cursor). */
  error?: string;
}

const cursorSchema = z.object({
  marker: z.string().min(1).max(4096).optional(),
  done: z.boolean(),
  /** Archives and supplements indexed by the backfill so far, all runs together. */
  indexed: z.number().int().min(0).default(0),
});
type Cursor = z.output<typeof cursorSchema>;

/** Blobs listed a call at most. */
const PAGE = 1000;
/** Set Blob Tags calls in flight. */
const CONCURRENCY = 8;

export async function backfillCatalogTags(
  input: CatalogBackfillInput,
  deps: { container: ContainerClient; maxBlobs: number; abortSignal?: AbortSignal },
): Promise<CatalogBackfillResult> {
  const cursorBlob = catalogBackfillCursorBlobName(input.registry);
  const stored = cursorSchema.safeParse((await readJsonBlob<unknown>(deps.container, cursorBlob)) ?? { done: false });
  // A cursor that does not parse starts the listing over: already indexed blobs are skipped, nothing is lost.
  let cursor: Cursor = stored.success ? stored.data : { done: false, indexed: 0 };
  if (cursor.done || deps.maxBlobs === 0) return { examined: 0, indexed: 0, done: cursor.done };
  const abort = deps.abortSignal ? { abortSignal: deps.abortSignal } : {};
  let examined = 0;
  let indexed = 0;
  while (examined < deps.maxBlobs) {
    const page = await listBlobsWithIndexTags(deps.container, `${input.registry}/`, {
      maxPageSize: Math.min(PAGE, deps.maxBlobs - examined),
      ...(cursor.marker && { continuationToken: cursor.marker }),
      ...abort,
    });
    examined += page.blobs.length;
    const todo = page.blobs
      .map((blob) => ({ blob, fields: indexFields(blob, input.registry) }))
      .filter((b): b is { blob: ListedBlob; fields: ArchiveIndexFields } => b.fields !== undefined)
      .filter(({ blob }) => !hasCompleteIndexTags(blob.tags));
    for (let i = 0; i < todo.length; i += CONCURRENCY)
      await Promise.all(
        todo.slice(i, i + CONCURRENCY).map(async ({ blob, fields }) => {
          await setIndexTags(deps.container, blob.name, archiveIndexTags(fields), abort);
          indexed++;
        }),
      );
    cursor = {
      ...(page.continuationToken && { marker: page.continuationToken }),
      done: !page.continuationToken,
      indexed: cursor.indexed + todo.length,
    };
    await writeJsonBlob(deps.container, cursorBlob, cursor, abort).catch((error) => {
      throw storageError(`cannot write ${cursorBlob}`, error);
    });
    if (cursor.done) break;
  }
  return { examined, indexed, done: cursor.done };
}

/**
 * An archive's or supplement's index fields from its name (identity), listing (size, creation) and metadata (its
 * first tag), keeping the states and run it already has; undefined for any other blob (sidecars, tag markers, an
 * archive of another registry under a look-alike prefix).
 */
function indexFields(blob: ListedBlob, registry: string): ArchiveIndexFields | undefined {
  const archive = archiveBlobIdentity(blob.name);
  const identity = archive ?? referrersSupplementIdentity(blob.name);
  if (!identity || identity.registry !== registry) return undefined;
  const firstTag = parseArchiveBlobMetadata(blob.metadata).tags?.[0];
  const kept = (key: string) => blob.tags[key];
  return {
    kind: archive ? "archive" : "supplement",
    registry: identity.registry,
    repository: identity.repository,
    digest: identity.digest,
    ...(firstTag && { tag: firstTag }),
    // Its commit time: a block blob's creation is its first commit, and archives are committed once.
    archivedAt: blob.createdOn ?? new Date(0),
    runId: kept(IndexTagKeys.run) ?? "unknown",
    bytes: blob.bytes,
    ...(kept(IndexTagKeys.verified) !== undefined && { verified: kept(IndexTagKeys.verified)! }),
    ...(kept(IndexTagKeys.purge) !== undefined && { purge: kept(IndexTagKeys.purge)! }),
  };
}
