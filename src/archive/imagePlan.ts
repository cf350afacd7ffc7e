// What goes into one image's archive: every manifest (the root, and for an index every child), every config and
// layer blob (each once), and the docker-archive view of one default platform. Only manifests are fetched here;
// blobs stream later, straight into the archive.
import { ArchiveError } from "../errors.js";
import type { RegistryClient, OperationOptions } from "../registry/registryClient.js";
import { isIndex, isImageManifestMediaType, isIndexMediaType, platformString, type Descriptor, type ImageManifest, type Platform } from "../registry/types.js";

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
  /** Configs and layers, each digest once, in archive order. */
  blobs: Descriptor[];
  images: PlatformImage[];
  /** The image `manifest.json` (docker load) describes: linux/amd64 where present. */
  defaultImage: PlatformImage;
}

// Nested indexes are legal but rare; bound the walk so a cyclic or hostile index cannot loop.
const MAX_INDEX_DEPTH = 4;

export async function planImageArchive(client: RegistryClient, repository: string, tagOrDigest: string, options: OperationOptions = {}): Promise<ImageArchivePlan> {
  const manifests: ManifestBlob[] = [];
  const images: PlatformImage[] = [];
  const seen = new Set<string>();

  const visit = async (reference: string, platform: Platform | undefined, depth: number): Promise<Descriptor> => {
    const { descriptor, bytes, manifest } = await client.getManifest(repository, reference, options);
    if (!seen.has(descriptor.digest)) manifests.push({ descriptor, bytes });
    seen.add(descriptor.digest);
    if (isIndex(manifest)) {
      if (!isIndexMediaType(descriptor.mediaType)) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${reference} has manifests but media type ${descriptor.mediaType}`);
      if (depth >= MAX_INDEX_DEPTH) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${reference}: indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      for (const child of manifest.manifests) {
        if (seen.has(child.digest)) continue;
        const got = await visit(child.digest, child.platform, depth + 1);
        if (got.size !== child.size) throw new ArchiveError("SIZE_MISMATCH", `manifest ${child.digest} is ${got.size} bytes, its index says ${child.size}`);
      }
    } else {
      if (!isImageManifestMediaType(descriptor.mediaType)) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${reference} has media type ${descriptor.mediaType}`);
      const image = manifest as ImageManifest;
      if (!image.config || !Array.isArray(image.layers)) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${reference} is not an image manifest (no config or layers)`);
      images.push({ ...(platform && { platform }), manifest: descriptor, config: image.config, layers: image.layers });
    }
    return descriptor;
  };

  const root = await visit(tagOrDigest, undefined, 0);
  if (images.length === 0) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${repository}:${tagOrDigest} contains no image manifest`);

  const blobs: Descriptor[] = [];
  const blobDigests = new Set<string>(manifests.map((m) => m.descriptor.digest));
  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) {
      if (blobDigests.has(blob.digest)) continue;
      blobDigests.add(blob.digest);
      blobs.push(blob);
    }
  }
  return { registry: client.registry, repository, root, manifests, blobs, images, defaultImage: chooseDefaultImage(images) };
}

/** linux/amd64 where present; otherwise the first real platform (attestations carry unknown/unknown). */
export function chooseDefaultImage(images: PlatformImage[]): PlatformImage {
  const real = images.filter((i) => i.platform?.os !== "unknown");
  return (
    real.find((i) => i.platform?.os === "linux" && i.platform.architecture === "amd64") ??
    real.find((i) => !i.platform) ??
    real[0] ??
    images[0]!
  );
}

/** Layers of every platform, each digest once: what the sidecar reports. */
export function layerStats(plan: Pick<ImageArchivePlan, "images">): { count: number; bytes: number } {
  const sizes = new Map<string, number>();
  for (const layer of plan.images.flatMap((i) => i.layers)) sizes.set(layer.digest, layer.size);
  return { count: sizes.size, bytes: [...sizes.values()].reduce((a, b) => a + b, 0) };
}

export function describePlatforms(plan: ImageArchivePlan): { platform: string; digest: string }[] {
  return plan.images.filter((i) => i.platform?.os !== "unknown").map((i) => ({ platform: platformString(i.platform), digest: i.manifest.digest }));
}
