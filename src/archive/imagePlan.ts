// What goes into one image's archive: every manifest (the root, and for an index every child), every config and
// layer blob (each once), and the docker-archive view of one default platform. Only manifests are fetched here;
// blobs stream later, straight into the archive.
//
// Two decisions are made here, from the manifests alone, so the writer, the sidecar and a rebuilt sidecar agree:
// - External layers. A foreign / non-distributable layer (a descriptor with `urls`, or a foreign / nondistributable
//   media type: Windows base layers) is served from its URLs, and registries usually do not have it. It is archived
//   like any blob when the registry has it (HEAD); otherwise it is left out of blobs/ (the OCI layout allows a missing
//   non-distributable blob) and recorded as external. A restore then pushes the manifest as it was, which a registry
//   that accepts foreign layers takes without the blob.
// - The format. `manifest.json` (docker-archive) is written only when `docker load` / `podman load` could load it: the
//   default image has an image config (not an artifact's) and every one of its layers is in the archive. docker load
//   needs every layer's bytes (docker save writes foreign layers' bytes too, plus LayerSources), and listing fewer
//   layers than the config's diff_ids fails the load as well, so an archive that lacks one is an OCI layout only.
import { ArchiveError } from "../errors.js";
import type { GetManifestResult, RegistryClient, OperationOptions } from "../registry/registryClient.js";
import { discoverReferrers, type Referrer, type ReferrerLimits } from "../registry/referrers.js";
import { sha256DigestOf } from "../registry/digest.js";
import { manifestNodeOf, walkManifests } from "../registry/manifestGraph.js";
import { Annotations, MediaTypes, platformString, type Descriptor, type Platform } from "../registry/types.js";

/** What the archive is: an OCI image layout that is also a docker-archive (loadable), or an OCI image layout only. */
export type { ArchiveFormat } from "../storage/blobMetadata.js";
import type { ArchiveFormat } from "../storage/blobMetadata.js";

export interface ManifestBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface PlatformImage {
  platform?: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageArchivePlan {
  registry: string;
  repository: string;
  /** The digest the reference resolved to (the index for a multi-arch image). */
  root: Descriptor;
  /** Manifest bytes exactly as the registry serves them, root first. */
  manifests: ManifestBlob[];
  /** Configs and layers stored in the archive, each digest once, in archive order. */
  blobs: Descriptor[];
  /** Non-distributable layers the registry does not have: referenced by a manifest, left out of the archive. */
  external: Descriptor[];
  images: PlatformImage[];
  /** The image `manifest.json` (docker load) describes: linux/amd64 where present. */
  defaultImage: PlatformImage;
  /** Whether the archive has a `manifest.json`: only for an image config whose layers are all in the archive. */
  format: ArchiveFormat;
  /** The image's referrers (signatures, SBOMs, attestations), when it has any: absent, the archive is as before. */
  referrers?: ReferrersPlan;
}

/**
 * An image's referrers in its archive: their manifests (in `manifests`, after the image's) and blobs (in `blobs`, after
 * the image's) as original bytes, listed by an index of the archive's own (`index`, a blob too) that index.json names
 * in its `vnd.acr-cold-archive.referrers.index` annotation. Loaders read index.json's entries and manifest.json, never
 * that annotation, so they load the image alone, with its tags.
 */
export interface ReferrersPlan {
  index: ManifestBlob;
  /** Parents before the referrers that refer to them. */
  referrers: Referrer[];
}

/** The artifactType of the archive's index of referrers. */
export const REFERRERS_INDEX_ARTIFACT_TYPE = "application/vnd.acr-cold-archive.referrers.v1+json";

export interface PlanImageArchiveOptions extends OperationOptions {
  /**
   * The external layers of an archive already committed (its metadata), for a sidecar rebuilt from it: these digests
   * are external and the registry is not asked, so the plan describes that archive, not today's registry.
   */
  externalLayers?: string[];
  /** Archive the image's referrers too, within these bounds (registry/referrers.ts); absent: none are looked up. */
  referrers?: ReferrerLimits;
  /**
   * Called with the image's own blobs (the start of `blobs`, in archive order) once they are known, before its
   * referrers are looked for: the archive writer reads them ahead meanwhile (a referrer lookup is several requests).
   */
  onImageBlobs?: (blobs: readonly Descriptor[]) => void;
  /** The root manifest, already fetched and verified (a tag resolved by GET): not fetched again. */
  root?: GetManifestResult;
}

export async function planImageArchive(
  client: RegistryClient,
  repository: string,
  tagOrDigest: string,
  options: PlanImageArchiveOptions = {},
): Promise<ImageArchivePlan> {
  const { externalLayers, referrers: referrerLimits, onImageBlobs, root: fetchedRoot, ...requestOptions } = options;
  if (fetchedRoot && fetchedRoot.descriptor.digest !== tagOrDigest && tagOrDigest.startsWith("sha256:"))
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `the root manifest given is ${fetchedRoot.descriptor.digest}, not ${tagOrDigest}`,
    );
  const what = (reference: string) => ({
    what: `manifest ${repository}:${reference}`,
    invalid: "UNSUPPORTED_MEDIA_TYPE" as const,
  });
  const fetch = async (reference: string) =>
    manifestNodeOf(await client.getManifest(repository, reference, requestOptions), what(reference));
  const images: PlatformImage[] = [];
  const walk = await walkManifests(
    fetchedRoot ? manifestNodeOf(fetchedRoot, what(tagOrDigest)) : await fetch(tagOrDigest),
    (child) => fetch(child.digest),
    {
      onNode: (node, listedAs) => {
        if (node.kind !== "image") return;
        const platform = listedAs?.platform;
        images.push({
          ...(platform && { platform }),
          manifest: node.descriptor,
          config: node.config,
          layers: node.layers,
        });
      },
    },
  );
  const root = walk.parentsFirst[0]!.descriptor;
  const manifests: ManifestBlob[] = walk.parentsFirst.map(({ descriptor, bytes }) => ({ descriptor, bytes }));
  if (images.length === 0)
    throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${repository}:${tagOrDigest} contains no image manifest`);

  const blobs: Descriptor[] = [];
  const external: Descriptor[] = [];
  const blobDigests = new Set<string>(manifests.map((m) => m.descriptor.digest));
  const knownExternal = externalLayers && new Set(externalLayers);
  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) {
      if (blobDigests.has(blob.digest)) continue;
      blobDigests.add(blob.digest);
      const candidate = blob !== image.config && isNonDistributable(blob);
      const isExternal =
        candidate &&
        (knownExternal
          ? knownExternal.has(blob.digest)
          : !(await client.blobExists(repository, blob.digest, { ...requestOptions, forPush: false })));
      (isExternal ? external : blobs).push(blob);
    }
  }
  const defaultImage = chooseDefaultImage(images);
  const missing = new Set(external.map((d) => d.digest));
  const loadable =
    isImageConfigMediaType(defaultImage.config.mediaType) && defaultImage.layers.every((l) => !missing.has(l.digest));
  const format: ArchiveFormat = loadable ? "oci-layout+docker-archive" : "oci-layout";
  const plan: ImageArchivePlan = {
    registry: client.registry,
    repository,
    root,
    manifests,
    blobs,
    external,
    images,
    defaultImage,
    format,
  };
  onImageBlobs?.([...blobs]);
  if (referrerLimits && referrerLimits.maxDepth > 0) {
    const subjects = manifests.map((m) => m.descriptor.digest);
    const found = await discoverReferrers(client, repository, subjects, { ...requestOptions, limits: referrerLimits });
    if (found.referrers.length > 0) {
      const index = referrersIndexBlob(found.referrers);
      plan.referrers = { index, referrers: found.referrers };
      manifests.push(index);
      for (const referrer of found.referrers) {
        // An index referrer's manifests before it (a restore pushes them first).
        for (const m of [...(referrer.children ?? []), referrer]) {
          if (!blobDigests.has(m.descriptor.digest)) manifests.push({ descriptor: m.descriptor, bytes: m.bytes });
          blobDigests.add(m.descriptor.digest);
        }
      }
      for (const blob of found.referrers.flatMap((r) => r.blobs)) {
        if (blobDigests.has(blob.digest)) continue;
        blobDigests.add(blob.digest);
        blobs.push(blob);
      }
    }
  }
  return plan;
}

/**
 * The archive's index of an image's referrers: an OCI image index of their descriptors (artifactType, their own
 * annotations), each annotated with its subject, how it was found and its cosign tag. Deterministic from the referrers.
 */
export function referrersIndexBlob(referrers: Referrer[]): ManifestBlob {
  const manifests = referrers.map((r) => ({
    mediaType: r.descriptor.mediaType,
    digest: r.descriptor.digest,
    size: r.descriptor.size,
    ...(r.descriptor.artifactType && { artifactType: r.descriptor.artifactType }),
    annotations: {
      ...r.descriptor.annotations,
      [Annotations.referrerSubject]: r.subject,
      [Annotations.referrerSource]: r.source,
      ...(r.tag && { [Annotations.referrerTag]: r.tag }),
    },
  }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      artifactType: REFERRERS_INDEX_ARTIFACT_TYPE,
      manifests,
    }),
  );
  return { descriptor: { mediaType: MediaTypes.ociIndex, digest: sha256DigestOf(bytes), size: bytes.length }, bytes };
}

/** A config `docker load` / `podman load` understand (an artifact's config is anything else, e.g. the empty `{}`). */
export function isImageConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociConfig || mediaType === MediaTypes.dockerConfig;
}

/** A layer its registry need not have: foreign (Docker), non-distributable (OCI), or any descriptor with `urls`. */
export function isNonDistributable(descriptor: Descriptor): boolean {
  return (
    (descriptor.urls?.length ?? 0) > 0 ||
    descriptor.mediaType === MediaTypes.dockerForeignLayerGzip ||
    descriptor.mediaType.startsWith(MediaTypes.ociNondistributableLayer)
  );
}

/** linux/amd64 where present; otherwise the first real platform (attestations carry unknown/unknown). Images before artifacts. */
export function chooseDefaultImage(images: PlatformImage[]): PlatformImage {
  const loadable = images.filter((i) => isImageConfigMediaType(i.config.mediaType));
  const candidates = loadable.length ? loadable : images;
  const real = candidates.filter((i) => i.platform?.os !== "unknown");
  return (
    real.find((i) => i.platform?.os === "linux" && i.platform.architecture === "amd64") ??
    real.find((i) => !i.platform) ??
    real[0] ??
    candidates[0]!
  );
}

/** Layers of every platform, each digest once: what the sidecar reports. */
export function layerStats(plan: Pick<ImageArchivePlan, "images">): { count: number; bytes: number } {
  const sizes = new Map<string, number>();
  for (const layer of plan.images.flatMap((i) => i.layers)) sizes.set(layer.digest, layer.size);
  return { count: sizes.size, bytes: [...sizes.values()].reduce((a, b) => a + b, 0) };
}

export function describePlatforms(plan: ImageArchivePlan): { platform: string; digest: string }[] {
  return plan.images
    .filter((i) => i.platform?.os !== "unknown")
    .map((i) => ({ platform: platformString(i.platform), digest: i.manifest.digest }));
}
