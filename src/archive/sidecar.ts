// The sidecar `<archive>.json`: stays in a readable tier, says what the archive holds and how to restore it.
// Keeps the old worker's fields (image, archiveBlob, createdAtUtc, mediaType, compression, source) and adds
// what a restore and an audit need. `format` says whether `docker load` can read the archive (an artifact's, or an
// image whose layers are not all in it, is an OCI layout only); `externalLayers` lists the non-distributable layers
// left out of it (a restore pushes the manifest that references them; the registry must accept foreign layers).
import { X509Certificate } from "node:crypto";
import { TOOL } from "../version.js";
import type { Referrer, ReferrerSource } from "../registry/referrers.js";
import { describePlatforms, layerStats, type ArchiveFormat, type ImageArchivePlan } from "./imagePlan.js";
import type { WriteImageArchiveResult } from "./archiveWriter.js";
import { Annotations, platformString } from "../registry/types.js";
import type { ArchiveVerificationRecord } from "./verifyArchive.js";

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
  /**
   * The image's referrers archived with it (signatures, SBOMs, attestations, and theirs), parents first; empty when
   * it had none. The archive lists them in its own index (`referrersIndex`), named by index.json's annotation.
   */
  referrers: SidecarReferrer[];
  /** Digest of that index (blobs/sha256/<hex> in the archive), when there are referrers. */
  referrersIndex?: string;
  /** Referrers that arrived after the archive, each set in a supplementary archive of its own (referrersSupplement.ts). */
  supplements?: ReferrersSupplement[];
  /**
   * The archive as storage holds it was read back by its writer and verified before it went to Archive tier
   * (verifyAfterWrite.ts); absent for an archive written before (a verify-only restore run records its verification
   * beside the sidecar: `<archive>.verification.json`).
   */
  verification?: ArchiveVerificationRecord;
  /** `dockerLoad` only for the `oci-layout+docker-archive` format. */
  restore: { dockerLoad?: string; acrColdArchive: string; skopeo: string };
  tool: { name: string; version: string };
}

export interface SidecarReferrer {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  /** The manifest it refers to: the image's root, one of its platforms, or another referrer. */
  subject: string;
  /** Where it was found: the registry's referrers API, the referrers tag schema, or a cosign legacy tag. */
  source: ReferrerSource;
  /** The cosign tag it was found under (`sha256-<hex>.sig`); a restore pushes it there again. */
  tag?: string;
  depth: number;
  /** The manifest's annotations (each value cut at 1 KiB here; the archive has the bytes). */
  annotations?: Record<string, string>;
  /** cosign signature layers: the signature, and the signer's identity and issuer when a certificate is attached. */
  signatures?: { signature: string; identity?: string; certificateIssuer?: string }[];
}

export interface ReferrersSupplement {
  archiveBlob: string;
  createdAtUtc: string;
  archive: { sha256: string; size: number; tarSize: number };
  /** The digest of the supplement's index of referrers (all the image's referrers at the time; these are the new ones). */
  referrersIndex: string;
  referrers: SidecarReferrer[];
  /** The supplement as storage holds it, read back and verified before it went to Archive tier. */
  verification?: ArchiveVerificationRecord;
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
  verification?: ArchiveVerificationRecord;
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
    referrers: (plan.referrers?.referrers ?? []).map(describeReferrer),
    ...(plan.referrers && { referrersIndex: plan.referrers.index.descriptor.digest }),
    ...(input.verification && { verification: input.verification }),
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

const MAX_ANNOTATION_CHARS = 1024;
const MAX_ANNOTATIONS = 64;

/** A referrer as the sidecar lists it. */
/** Every referrer an archive holds, its own and its supplements': what a probe, a restore check or a purge compares against. */
export function recordedReferrerDigests(
  sidecar: Partial<Pick<ArchiveSidecar, "referrers" | "supplements">> | undefined,
): Set<string> {
  return new Set(
    [...(sidecar?.referrers ?? []), ...(sidecar?.supplements ?? []).flatMap((s) => s.referrers ?? [])].map(
      (r) => r.digest,
    ),
  );
}

export function describeReferrer(referrer: Referrer): SidecarReferrer {
  const { descriptor, node } = referrer;
  const signatures = (node.kind === "image" ? node.layers : [])
    .filter((l) => typeof l.annotations?.[Annotations.cosignSignature] === "string")
    .map((l) => ({
      signature: bounded(l.annotations![Annotations.cosignSignature]!),
      ...certificateIdentity(l.annotations![Annotations.cosignCertificate]),
    }));
  return {
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    ...(descriptor.artifactType && { artifactType: descriptor.artifactType }),
    subject: referrer.subject,
    source: referrer.source,
    ...(referrer.tag && { tag: referrer.tag }),
    depth: referrer.depth,
    ...(node.annotations && { annotations: boundedAnnotations(node.annotations) }),
    ...(signatures.length > 0 && { signatures }),
  };
}

/** A keyless cosign signature's signer: the certificate's subject alternative name (an email, a workflow URI). */
function certificateIdentity(pem: string | undefined): { identity?: string; certificateIssuer?: string } {
  if (typeof pem !== "string" || pem.length > 64 * 1024) return {};
  try {
    const certificate = new X509Certificate(pem);
    return {
      ...(certificate.subjectAltName && { identity: bounded(certificate.subjectAltName) }),
      certificateIssuer: bounded(certificate.issuer.replace(/\n/g, ", ")),
    };
  } catch {
    return {};
  }
}

function boundedAnnotations(annotations: Record<string, string>): Record<string, string> {
  const entries = Object.entries(annotations).filter(([, v]) => typeof v === "string");
  return Object.fromEntries(entries.slice(0, MAX_ANNOTATIONS).map(([k, v]) => [bounded(k), bounded(v)]));
}

function bounded(text: string): string {
  return text.length > MAX_ANNOTATION_CHARS ? `${text.slice(0, MAX_ANNOTATION_CHARS - 1)}…` : text;
}
