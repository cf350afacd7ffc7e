// Lists the images of a registry that a run's filters select, grouped by digest (one image per digest and
// repository, with every tag that points at it). ACR's `/acr/v1/<repo>/_manifests` gives digests, tags, untagged
// manifests and lastUpdateTime in a few pages; a plain registry falls back to tags/list plus one HEAD per tag
// (and, for olderThanDays, the image config's `created`).
// Referrers (signatures, SBOMs, attestations) are archived with their subject, never as images of their own: tags of the
// referrers tag schema and cosign's legacy tags (`sha256-<hex>`, `….sig`, `.att`, `.sbom`) are not images' tags, and an
// untagged manifest with a `subject` (ACR, includeUntagged) is a referrer.
import { globMatcher as matcher } from "../globs.js";
import type { RegistryClient, OperationOptions } from "../registry/registryClient.js";
import { isReferrerTag } from "../registry/referrers.js";
import { isIndex, isIndexMediaType, MediaTypes } from "../registry/types.js";
import type { RunFilters } from "./archiveRun.js";

export interface RegistryImageItem {
  repository: string;
  digest: string;
  tags: string[];
  /** ACR lastUpdateTime, or the config's `created` on other registries (only read when a filter needs it). */
  lastUpdatedOn?: string;
}

/** What a run's filters select: repositories by name, and one repository's images (a listing page lists many). */
export interface ImageSelection {
  includesRepository(repository: string): boolean;
  /** The selected images of one (selected) repository, tags sorted. */
  listRepository(client: RegistryClient, repository: string, options: OperationOptions): Promise<RepositoryListing>;
}

export interface RepositoryListing {
  images: RegistryImageItem[];
  /** The repository's tags of the referrers tag schema and cosign's scheme (no images' tags: what a referrer probe asks). */
  referrerTags: Set<string>;
}

export function imageSelection(filters: RunFilters, now: Date): ImageSelection {
  const includeRepo = matcher(filters.repositories, true);
  const excludeRepo = matcher(filters.excludeRepositories, false);
  const includeTag = matcher(filters.tags, true);
  const excludeTag = matcher(filters.excludeTags, false);
  const cutoff = filters.olderThanDays !== undefined ? now.getTime() - filters.olderThanDays * 86_400_000 : undefined;
  return {
    includesRepository: (repository) => includeRepo(repository) && !excludeRepo(repository),
    async listRepository(client, repository, options) {
      const selected: RegistryImageItem[] = [];
      const listed = await listRepositoryImages(client, repository, filters.includeUntagged, options);
      for (const image of listed.images) {
        // The tag filters SELECT images; the image keeps every tag it has (index.json, RepoTags, the sidecar and tag
        // markers record them all: a tag filtered out here would be lost from the archive for good).
        const tagged = image.tags.some((t) => includeTag(t) && !excludeTag(t));
        const untagged = image.tags.length === 0;
        if (untagged ? !filters.includeUntagged : !tagged) continue;
        if (cutoff !== undefined) {
          const updated = image.lastUpdatedOn ?? (await imageCreated(client, repository, image.digest, options));
          if (!updated || Date.parse(updated) > cutoff) continue;
          image.lastUpdatedOn = updated;
        }
        selected.push({ ...image, tags: [...image.tags].sort() });
      }
      return { images: selected, referrerTags: listed.referrerTags };
    },
  };
}

async function listRepositoryImages(
  client: RegistryClient,
  repository: string,
  includeUntagged: boolean,
  options: OperationOptions,
): Promise<RepositoryListing> {
  const referrerTags = new Set<string>();
  const acr = await client.listManifestProperties(repository, options);
  if (acr) {
    for (const m of acr) for (const t of m.tags ?? []) if (isReferrerTag(t)) referrerTags.add(t);
    // A manifest tagged only with referrer tags is a referrer; its other tags (if any) are the image's.
    const items = acr
      .filter((m) => !((m.tags ?? []).length > 0 && (m.tags ?? []).every(isReferrerTag)))
      .map((m) => ({
        item: {
          repository,
          digest: m.digest,
          tags: (m.tags ?? []).filter((t) => !isReferrerTag(t)),
          ...(m.lastUpdateTime && { lastUpdatedOn: m.lastUpdateTime }),
        } as RegistryImageItem,
        mediaType: m.mediaType,
      }));
    if (!includeUntagged) return { images: items.map((i) => i.item), referrerTags };
    // ACR lists every platform manifest of an index as an untagged manifest of its own (without saying whose):
    // those are archived inside their index, not alone. Read each index to know its children.
    const children = new Set<string>();
    for (const m of acr.filter((m) => m.mediaType && isIndexMediaType(m.mediaType))) {
      const { manifest } = await client.getManifest(repository, m.digest, options);
      if (isIndex(manifest)) for (const child of manifest.manifests) children.add(child.digest);
    }
    const images: RegistryImageItem[] = [];
    for (const { item, mediaType } of items) {
      if (item.tags.length === 0 && children.has(item.digest)) continue;
      // An untagged OCI manifest with a subject is a referrer (an `oras attach`, a cosign 3 signature): read it to know.
      if (item.tags.length === 0 && (mediaType === undefined || mediaType === MediaTypes.ociManifest)) {
        const found = await client.findManifest(repository, item.digest, options);
        if (!found || (!isIndex(found.manifest) && found.manifest.subject)) continue; // gone since the listing, or a referrer
      }
      images.push(item);
    }
    return { images, referrerTags };
  }
  const byDigest = new Map<string, RegistryImageItem>();
  for await (const tag of client.listTags(repository, options)) {
    if (isReferrerTag(tag)) {
      referrerTags.add(tag);
      continue;
    }
    const digest = await client.getManifestDigest(repository, tag, options);
    if (!digest) continue; // deleted between list and HEAD
    const item = byDigest.get(digest) ?? { repository, digest, tags: [] };
    item.tags.push(tag);
    byDigest.set(digest, item);
  }
  return { images: [...byDigest.values()], referrerTags };
}

/** The image config's `created` (the first platform's, for an index). */
async function imageCreated(
  client: RegistryClient,
  repository: string,
  digest: string,
  options: OperationOptions,
): Promise<string | undefined> {
  let { manifest } = await client.getManifest(repository, digest, options);
  if (isIndex(manifest)) {
    const first = manifest.manifests.find((m) => m.platform?.os !== "unknown") ?? manifest.manifests[0];
    if (!first) return undefined;
    manifest = (await client.getManifest(repository, first.digest, options)).manifest;
  }
  if (isIndex(manifest) || manifest.config.size > 1024 * 1024) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of client.getBlob(repository, manifest.config, options)) chunks.push(chunk as Buffer);
  try {
    return (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { created?: string }).created;
  } catch {
    return undefined;
  }
}
