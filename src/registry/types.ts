// Plain OCI data types: the descriptor is the currency passed between the registry client and the archive writer.

export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  /** A foreign layer (Windows base layers): served from its `urls`, registries need not have it. */
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  /** Prefix of the OCI non-distributable layer types (`…tar`, `…tar+gzip`, `…tar+zstd`; deprecated, still met). */
  ociNondistributableLayer: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayout: "application/vnd.oci.image.layout.v1+json",
  /** Bytes of no stated type: a blob known only by its digest (restore reads blobs/sha256/<hex>). */
  octetStream: "application/octet-stream",
} as const;

/** Annotation keys the OCI image layout's index.json uses for the tags an image was saved under. */
export const Annotations = {
  /** cosign: a signature layer's base64 signature; its certificate and bundle sit beside it. */
  cosignSignature: "dev.cosignproject.cosign/signature",
  cosignCertificate: "dev.sigstore.cosign/certificate",
  /** index.json (this tool's archives): the digest of the archive's index of the image's referrers (a blob). */
  referrersIndex: "vnd.acr-cold-archive.referrers.index",
  /** On each descriptor of that index: the referrer's subject, how it was found, and its cosign tag if any. */
  referrerSubject: "vnd.acr-cold-archive.referrer.subject",
  referrerSource: "vnd.acr-cold-archive.referrer.source",
  referrerTag: "vnd.acr-cold-archive.referrer.tag",
  refName: "org.opencontainers.image.ref.name",
  /** containerd's (and `docker save`'s) full image name, `<registry>/<repository>:<tag>`. */
  containerdImageName: "io.containerd.image.name",
} as const;

// Registries must accept manifests up to 4 MiB (distribution spec): larger ones are refused, never buffered, by the
// registry client and by restore (which also holds blobs up to this size until it knows whether they are manifests).
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

// Nested indexes are legal but rare: a manifest more than this many levels below the root is refused (planning an
// archive, restoring one), so a cyclic or hostile index cannot loop.
export const MAX_INDEX_DEPTH = 4;

/** Every manifest type we can archive byte for byte, in the order we ask for them. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  /** OCI 1.1: the manifest this one refers to (a signature's, an SBOM's image). */
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList;
}
export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociManifest || mediaType === MediaTypes.dockerManifest;
}
export function isIndex(manifest: Manifest): manifest is ImageIndex {
  return Array.isArray((manifest as ImageIndex).manifests);
}

/** Layers whose bytes are already compressed: gzip over them gains nothing, so the archive stores them. */
export function isCompressedLayer(mediaType: string): boolean {
  return /(?:\+|\.)(?:gzip|zstd)$/.test(mediaType) || mediaType.endsWith("tar.gzip");
}

export function platformString(p: Platform | undefined): string {
  if (!p) return "unknown";
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** A page-able async iterator, shaped like the Azure SDK's PagedAsyncIterableIterator. */
export interface PagedAsyncIterableIterator<T, TPage = T[]> extends AsyncIterableIterator<T> {
  byPage(settings?: {
    continuationToken?: string;
    maxPageSize?: number;
  }): AsyncIterableIterator<TPage & { continuationToken?: string }>;
}
