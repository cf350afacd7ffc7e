// Tag markers: zero-byte blobs `<registry>/<repository>:<tag>@sha256-<hex>` that make "which digests has this tag
// pointed at?" a prefix listing. Written when an image is archived, and by a run's listing for tags that were
// added later to a digest that is already archived (so a nightly run keeps them complete without a job).
import type { ContainerClient } from "@azure/storage-blob";
import { repositoryTagMarkersPrefix, tagMarkerBlobName, type ImageIdentity } from "./blobNames.js";
import { tagMarkerBlobMetadata } from "./blobMetadata.js";
import { storageErrorCode } from "./storageError.js";

/** Writes one marker unless it exists (If-None-Match: *); never overwrites. */
export async function writeTagMarker(
  container: ContainerClient,
  image: ImageIdentity,
  archiveBlob: string,
  tag: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  try {
    await container.getBlockBlobClient(tagMarkerBlobName(image, tag)).uploadData(Buffer.alloc(0), {
      conditions: { ifNoneMatch: "*" },
      metadata: tagMarkerBlobMetadata(archiveBlob, image.digest),
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 409) throw error; // 409: the marker is already there
  }
}

/** Names of the markers of one repository, from one prefix listing. */
export async function listTagMarkers(
  container: ContainerClient,
  registry: string,
  repository: string,
): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const blob of container.listBlobsFlat({ prefix: repositoryTagMarkersPrefix(registry, repository) }))
      names.add(blob.name);
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 404) throw error; // no container yet
  }
  return names;
}
