// A run's listing: the registry's images its filters select, which of them are already archived (one prefix listing
// of the archive container per repository: no reads), missing tag markers written, and the rest cut into batches.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { RegistryClient } from "../registry/registryClient.js";
import { archiveBlobName, tagMarkerBlobName } from "../storage/blobNames.js";
import { listTagMarkers, writeTagMarker } from "../storage/tagMarkers.js";
import { archiveRunInputSchema, type ListImagesResult, type ListedImage } from "./archiveRun.js";
import { listRegistryImages } from "./imageListing.js";
import { listArchivedDigests, type ArchivedImageInfo } from "../storage/archiveStore.js";
import { assertRunNotEnded, writeListing } from "./runStore.js";

export const listRunImagesInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  /** The orchestration's current time (olderThanDays is measured from it). */
  nowUtc: z.iso.datetime(),
});
export type ListRunImagesInput = z.output<typeof listRunImagesInputSchema>;

export async function listRunImages(
  input: ListRunImagesInput,
  deps: { registry: RegistryClient; container: ContainerClient; abortSignal?: AbortSignal },
): Promise<ListImagesResult> {
  const { run } = input;
  // A finished run's records are final (a forged start under its id must not rewrite them).
  await assertRunNotEnded(deps.container, run.runId);
  const images: ListedImage[] = [];
  const archivedByRepository = new Map<string, Map<string, ArchivedImageInfo>>();
  for await (const item of listRegistryImages(deps.registry, run.filters, {
    now: new Date(input.nowUtc),
    ...(deps.abortSignal && { abortSignal: deps.abortSignal }),
  })) {
    let archived = archivedByRepository.get(item.repository);
    if (!archived) {
      archived = await listArchivedDigests(deps.container, run.registry, item.repository);
      archivedByRepository.set(item.repository, archived);
    }
    const info = archived.get(item.digest);
    images.push({
      ...item,
      archived: info?.archived ?? false,
      ...(info?.bytes !== undefined && { bytes: info.bytes }),
      ...(info?.sha256 && { sha256: info.sha256 }),
    });
  }
  if (!run.dryRun) await completeTagMarkers(deps.container, run.registry, images);
  // A dry run keeps the listing (for its summary) but makes no batches: nothing will be started.
  const batchCount = await writeListing(deps.container, run.runId, images, run.dryRun ? 0 : run.batchSize);
  const alreadyArchived = images.filter((i) => i.archived).length;
  return { total: images.length, toArchive: images.length - alreadyArchived, alreadyArchived, batchCount };
}

/** Tags added to an already-archived digest since it was archived get their marker (one listing per repository). */
async function completeTagMarkers(container: ContainerClient, registry: string, images: ListedImage[]): Promise<void> {
  const markersByRepository = new Map<string, Set<string>>();
  for (const image of images.filter((i) => i.archived && i.tags.length > 0)) {
    let markers = markersByRepository.get(image.repository);
    if (!markers) {
      markers = await listTagMarkers(container, registry, image.repository);
      markersByRepository.set(image.repository, markers);
    }
    const identity = { registry, repository: image.repository, digest: image.digest };
    for (const tag of image.tags) {
      if (!markers.has(tagMarkerBlobName(identity, tag)))
        await writeTagMarker(container, identity, archiveBlobName(identity), tag);
    }
  }
}
