// The sidecar `<archive>.json`: stays in a readable tier, says what the archive holds and how to restore it.
// Keeps the old worker's fields (image, archiveBlob, createdAtUtc, mediaType, compression, source) and adds
// what a restore and an audit need. `format` says whether `docker load` can read the archive (an artifact's, or an
// image whose layers are not all in it, is an OCI layout only); `externalLayers` lists the non-distributable layers
// left out of it (a restore pushes the manifest that references them; the registry must accept foreign layers).
import { TOOL } from "../version.js";
import { describePlatforms, layerStats, type ArchiveFormat, type ImageArchivePlan } from "./imagePlan.js";
import type { WriteImageArchiveResult } from "./archiveWriter.js";
import { platformString } from "../registry/types.js";

export const ARCHIVE_MEDIA_TYPE = "application/vnd.oci.image.layout.v1.tar+gzip";

export interface ArchiveSidecar {
  schemaVersion: 1;
  /** `registry/repository:tag` (or `@digest` when untagged): what was asked for. */
  image: string;
  archiveBlob: string;
  createdAtUtc: string;
  /** The archive's format: an OCI image layout (that is also a docker-archive when `format` says so), gzipped. */
  mediaType: typeof ARCHIVE_MEDIA_TYPE;
  /**
   * `oci-layout+docker-archive`: has manifest.json, `docker load` / `podman load` read it. `oci-layout`: no manifest.json,
   * not docker-loadable (an artifact, or an image with external layers); restore it to a registry instead.
   */
  format: ArchiveFormat;
  compression: { format: "gzip"; level: number; compressedLayersStored: true };
  source: { registry: string; repository: string; tag: string | null; digest: string; mediaType: string };
  /** Every tag known to point at the digest when it was archived. */
  tags: string[];
  archive: { sha256: string; size: number; tarSize: number };
  platforms: { platform: string; digest: string }[];
  /** The platform `docker load` gets (manifest.json). */
  defaultPlatform: string;
  layers: { count: number; bytes: number };
  /** Manifests, configs and layers stored in the archive. */
  blobs: { count: number };
  /** Non-distributable layers (foreign, `urls`) the registry did not have: referenced by the manifest, not in the archive. */
  externalLayers: { digest: string; size: number; mediaType: string; urls: string[] }[];
  /** `dockerLoad` only for the `oci-layout+docker-archive` format. */
  restore: { dockerLoad?: string; acrColdArchive: string; skopeo: string };
  tool: { name: string; version: string };
}

export interface BuildSidecarInput {
  plan: ImageArchivePlan;
  archiveBlob: string;
  container: string;
  tags: string[];
  requestedTag?: string;
  gzipLevel: number;
  archive: Pick<WriteImageArchiveResult, "sha256" | "size" | "tarSize" | "configPlatform">;
  createdAt: Date;
}

export function buildSidecar(input: BuildSidecarInput): ArchiveSidecar {
  const { plan, tags } = input;
  const tag = input.requestedTag ?? tags[0] ?? null;
  const image = `${plan.registry}/${plan.repository}${tag ? `:${tag}` : `@${plan.root.digest}`}`;
  const platforms = describePlatforms(plan);
  if (platforms.length === 1 && platforms[0]!.platform === "unknown" && input.archive.configPlatform) {
    platforms[0]!.platform = platformString(input.archive.configPlatform);
  }
  const defaultPlatform = plan.defaultImage.platform
    ? platformString(plan.defaultImage.platform)
    : (platforms[0]?.platform ?? "unknown");
  const file = input.archiveBlob.split("/").pop()!;
  return {
    schemaVersion: 1,
    image,
    archiveBlob: input.archiveBlob,
    createdAtUtc: input.createdAt.toISOString(),
    mediaType: ARCHIVE_MEDIA_TYPE,
    format: plan.format,
    compression: { format: "gzip", level: input.gzipLevel, compressedLayersStored: true },
    source: {
      registry: plan.registry,
      repository: plan.repository,
      tag,
      digest: plan.root.digest,
      mediaType: plan.root.mediaType,
    },
    tags,
    archive: { sha256: input.archive.sha256, size: input.archive.size, tarSize: input.archive.tarSize },
    platforms,
    defaultPlatform,
    layers: layerStats(plan),
    blobs: { count: plan.manifests.length + plan.blobs.length },
    externalLayers: plan.external.map((d) => ({
      digest: d.digest,
      size: d.size,
      mediaType: d.mediaType,
      urls: d.urls ?? [],
    })),
    restore: {
      ...(plan.format === "oci-layout+docker-archive" && {
        dockerLoad: `az storage blob download -c ${input.container} -n '${input.archiveBlob}' -f ${file} && docker load -i ${file}`,
      }),
      acrColdArchive: `acr-cold-archive restore ${file} <registry>/${plan.repository}`,
      skopeo: `gunzip -k ${file} && skopeo copy --all --preserve-digests oci-archive:${file.replace(/\.gz$/, "")}${tag ? `:${tag}` : ""} docker://<registry>/${plan.repository}${tag ? `:${tag}` : ""}`,
    },
    tool: TOOL,
  };
}
