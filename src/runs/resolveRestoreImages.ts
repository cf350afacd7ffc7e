// A restore run's listing: what its request selects, resolved over what the archive container holds, never over the
// registry (the source may be gone). `repo:tag` resolves to the digest the tag named when it was last seen by an archive
// run, the worker or the CLI (its newest tag marker: storage/tagMarkers.ts); `repo@sha256:…` is taken as it is; globs run
// over the source's archives and tag markers (one prefix listing), each tag going with the digest it was last seen on;
// `runId` takes what that archive run archived (its summary). Images with no archive are kept with why (failed in the
// summary); the rest are cut into batches like an archive run's.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { globMatcher } from "../globs.js";
import { getArchivedImageInfo, type ArchivedImageInfo } from "../storage/archiveStore.js";
import { archiveBlobIdentity, listingBlobName, summaryBlobName } from "../storage/blobNames.js";
import { readJsonBlob, writeJsonBlob } from "../storage/jsonBlob.js";
import { ensureContainer } from "../storage/blobServiceClient.js";
import { storageErrorCode } from "../storage/storageError.js";
import { latestTagMarkers, listTagMarkers, tagKey, tagMarkerFromBlob, type TagMarker } from "../storage/tagMarkers.js";
import type { RunSummary } from "./archiveRun.js";
import type { ImageWorkItem } from "./engine/workItem.js";
import {
  formatImageSelector,
  restoreRunInputSchema,
  type ResolveRestoreImagesResult,
  type RestoreListedImage,
  type RestoreRunInput,
} from "./restoreRun.js";
import { assertRunNotEnded, writeBatches } from "./runStore.js";
import { byImage } from "./summaryBlob.js";

export const resolveRestoreImagesInputSchema = z.strictObject({ run: restoreRunInputSchema });
export type ResolveRestoreImagesInput = z.output<typeof resolveRestoreImagesInputSchema>;

export async function resolveRestoreImages(
  input: ResolveRestoreImagesInput,
  deps: { container: ContainerClient },
): Promise<ResolveRestoreImagesResult> {
  const { run } = input;
  await ensureContainer(deps.container);
  await assertRunNotEnded(deps.container, run.runId); // a finished run's records are final
  const images = dedupe(await select(run, deps.container));
  await writeJsonBlob(deps.container, listingBlobName(run.runId), images);
  const todo: ImageWorkItem[] = images
    .filter((i) => !i.problem)
    .map(({ repository, digest, tags }) => ({ repository, digest, tags }));
  const batchCount = await writeBatches(deps.container, run.runId, todo, run.batchSize);
  return { total: images.length, unresolved: images.length - todo.length, batchCount };
}

async function select(run: RestoreRunInput, container: ContainerClient): Promise<RestoreListedImage[]> {
  const { selection, registry } = run;
  if ("images" in selection) {
    const out: RestoreListedImage[] = [];
    // Each selector arrives parsed (the HTTP edge parsed it; the run's schema checked it again).
    for (const selector of selection.images) {
      const { repository } = selector;
      const named = formatImageSelector(selector);
      let digest: string;
      let tags: string[] = [];
      if ("tag" in selector) {
        const markers = await listTagMarkers(container, registry, repository, { tag: selector.tag });
        const seen = latestTagMarkers(markers).get(tagKey(repository, selector.tag))?.digest;
        if (!seen) {
          out.push(unresolved(repository, `sha256:${"0".repeat(64)}`, [selector.tag], `${named} was never archived`));
          continue;
        }
        digest = seen;
        tags = [selector.tag];
      } else digest = selector.digest;
      const info = await getArchivedImageInfo(container, { registry, repository, digest });
      out.push(archivedOrNot(info, repository, digest, tags, named));
    }
    return out;
  }
  if ("runId" in selection) {
    const summary = await readJsonBlob<RunSummary>(container, summaryBlobName(selection.runId));
    if (!summary || summary.registry !== registry) return [];
    return (summary.images ?? [])
      .filter((i) => i.status === "archived" || i.status === "already-archived")
      .map((i) => ({ repository: i.repository, digest: i.digest, tags: i.tags ?? [] }));
  }
  // Globs over the source's archives: one listing of `<registry>/` gives archives, sidecars and tag markers.
  const repositoryMatches = globMatcher(selection.repositories, true);
  const tagMatches = globMatcher(selection.tags, true);
  const archived = new Map<string, { repository: string; digest: string; sidecar: boolean; archive: boolean }>();
  const markers: TagMarker[] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix: `${registry.toLowerCase()}/`, includeMetadata: true })) {
      const name = blob.name;
      const identity = archiveBlobIdentity(name.endsWith(".json") ? name.slice(0, -5) : name);
      if (identity && repositoryMatches(identity.repository)) {
        const key = `${identity.repository}@${identity.digest}`;
        const entry = archived.get(key) ?? { ...identity, sidecar: false, archive: false };
        if (name.endsWith(".json")) entry.sidecar = true;
        else entry.archive = true;
        archived.set(key, entry);
        continue;
      }
      const marker = tagMarkerFromBlob(blob);
      if (marker && repositoryMatches(marker.repository)) markers.push(marker);
    }
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 404) throw error;
  }
  // A tag goes with the digest it was last seen on only: a moved tag is never pushed onto an image it left.
  const tagsOf = new Map<string, string[]>();
  for (const marker of latestTagMarkers(markers).values()) {
    const key = `${marker.repository}@${marker.digest}`;
    tagsOf.set(key, [...(tagsOf.get(key) ?? []), marker.tag]);
  }
  const out: RestoreListedImage[] = [];
  for (const [key, entry] of archived) {
    if (!entry.sidecar || !entry.archive) continue;
    const tags = (tagsOf.get(key) ?? []).sort();
    if (selection.tags) {
      const matching = tags.filter(tagMatches);
      if (matching.length) out.push({ repository: entry.repository, digest: entry.digest, tags: matching });
    } else out.push({ repository: entry.repository, digest: entry.digest, tags });
  }
  return out;
}

function archivedOrNot(
  info: ArchivedImageInfo,
  repository: string,
  digest: string,
  tags: string[],
  selector: string,
): RestoreListedImage {
  if (info.archived) return { repository, digest, tags };
  return unresolved(repository, digest, tags, `${selector} is not archived in this container (it has no sidecar)`);
}

function unresolved(repository: string, digest: string, tags: string[], message: string): RestoreListedImage {
  return { repository, digest, tags, problem: { code: "INVALID_ARGUMENT", message } };
}

/** One entry per (repository, digest), its tags merged, in a stable order. */
function dedupe(images: RestoreListedImage[]): RestoreListedImage[] {
  const byKey = new Map<string, RestoreListedImage>();
  for (const image of images) {
    const key = `${image.repository}@${image.digest}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...image, tags: [...image.tags] });
    else if (!seen.problem) seen.tags = [...new Set([...seen.tags, ...image.tags])];
  }
  // The restore summary merges these with the batches' outcomes in this order (summaryBlob.ts).
  return [...byKey.values()].sort(byImage);
}
