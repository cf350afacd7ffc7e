// Tag markers: zero-byte blobs `<registry>/<repository>:<tag>@sha256-<hex>` that make "which digests has this tag
// pointed at?" a prefix listing, and "which did it name when last seen?" its newest marker. Written when an image is
// archived (the worker, the CLI) and by an archive run's listing for the archived images it sees.
//
// "Last seen" must survive a tag rolled back (A → B → A: A's marker exists already) and runs a second apart (blob
// creation times have one-second resolution), so a marker carries a sequence: one more than the newest marker of its
// tag when it was written, and when the tag was seen (metadata). A tag whose newest marker already names the digest it
// names now costs no write: a nightly run over unchanged tags writes nothing.
import type { BlobItem, ContainerClient } from "@azure/storage-blob";
import { tagMarkerBlobName, tagMarkerIdentity, type ImageIdentity } from "./blobNames.js";
import { parseTagSeen, tagMarkerBlobMetadata } from "./blobMetadata.js";
import { storageErrorCode } from "./storageError.js";

export interface TagMarker {
  repository: string;
  tag: string;
  digest: string;
  /** Its rank among the tag's markers; 0 for a marker written before sequences. */
  sequence: number;
  /** When the tag was last seen naming the digest (ms since the epoch); before seen times, the marker's creation. */
  seenAt: number;
}

/** The marker a listed blob is (listed with metadata), or undefined for any other blob. */
export function tagMarkerFromBlob(blob: Pick<BlobItem, "name" | "metadata" | "properties">): TagMarker | undefined {
  const identity = tagMarkerIdentity(blob.name);
  if (!identity) return undefined;
  const seen = parseTagSeen(blob.metadata);
  const created = blob.properties.createdOn ?? blob.properties.lastModified;
  return {
    repository: identity.repository,
    tag: identity.tag,
    digest: identity.digest,
    sequence: seen.sequence ?? 0,
    seenAt: (seen.seenAt ?? created).getTime(),
  };
}

/** Whether `a` is a later sighting of its tag than `b`: by sequence, then seen time, then (a tie) digest. */
export function isNewerTagMarker(a: TagMarker, b: TagMarker): boolean {
  if (a.sequence !== b.sequence) return a.sequence > b.sequence;
  if (a.seenAt !== b.seenAt) return a.seenAt > b.seenAt;
  return a.digest > b.digest;
}

/** The key of a tag in latestTagMarkers' map. */
export function tagKey(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** The newest marker of each tag (tagKey): the digest each tag named when it was last seen. */
export function latestTagMarkers(markers: Iterable<TagMarker>): Map<string, TagMarker> {
  const latest = new Map<string, TagMarker>();
  for (const marker of markers) {
    const key = tagKey(marker.repository, marker.tag);
    const seen = latest.get(key);
    if (!seen || isNewerTagMarker(marker, seen)) latest.set(key, marker);
  }
  return latest;
}

/** The markers of one repository, or of one tag of it, from one prefix listing (with their metadata). */
export async function listTagMarkers(
  container: ContainerClient,
  registry: string,
  repository: string,
  options: { tag?: string; abortSignal?: AbortSignal } = {},
): Promise<TagMarker[]> {
  // The tag's own prefix ends in `@`: `:1@` lists nothing of `:10`.
  const prefix = `${registry.toLowerCase()}/${repository}:${options.tag !== undefined ? `${options.tag}@` : ""}`;
  const markers: TagMarker[] = [];
  try {
    for await (const blob of container.listBlobsFlat({
      prefix,
      includeMetadata: true,
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    })) {
      const marker = tagMarkerFromBlob(blob);
      if (marker && marker.repository === repository) markers.push(marker);
    }
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 404) throw error; // no container yet
  }
  return markers;
}

/**
 * Records that `tag` names `image.digest` now, given the tag's newest marker (`latest`, from a listing): nothing when
 * that marker already names the digest; otherwise the digest's marker is created, or updated when the tag named the
 * digest before (rolled back), with the next sequence. Answers whether it wrote.
 */
export async function recordTagSeen(
  container: ContainerClient,
  image: ImageIdentity,
  archiveBlob: string,
  tag: string,
  latest: TagMarker | undefined,
  options: { seenAt: Date; abortSignal?: AbortSignal },
): Promise<boolean> {
  if (latest?.digest === image.digest) return false;
  const blob = container.getBlockBlobClient(tagMarkerBlobName(image, tag));
  const metadata = tagMarkerBlobMetadata(archiveBlob, image.digest, {
    sequence: (latest?.sequence ?? 0) + 1,
    seenAt: options.seenAt,
  });
  const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  try {
    await blob.uploadData(Buffer.alloc(0), { conditions: { ifNoneMatch: "*" }, metadata, ...abort });
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 409) throw error;
    // The tag named this digest before: the marker is there, its metadata says it is the newest again.
    await blob.setMetadata(metadata, abort);
  }
  return true;
}

/** recordTagSeen for each of an image's tags, each tag's markers listed first (its own prefix). The tags it wrote. */
export async function recordTagsSeen(
  container: ContainerClient,
  image: ImageIdentity,
  archiveBlob: string,
  tags: readonly string[],
  options: { seenAt: Date; abortSignal?: AbortSignal },
): Promise<string[]> {
  const recorded: string[] = [];
  for (const tag of tags) {
    const markers = await listTagMarkers(container, image.registry, image.repository, {
      tag,
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    const latest = latestTagMarkers(markers).get(tagKey(image.repository, tag));
    if (await recordTagSeen(container, image, archiveBlob, tag, latest, options)) recorded.push(tag);
  }
  return recorded;
}
