// Verifies an archive without pushing anything: a restore's first two steps (archiveEntries.ts, archiveGraph.ts) with a
// sink that only counts, so what is checked is exactly what a restore checks before its first manifest: gzip and tar
// intact, every blob hashing to its name and size, the whole graph present (every manifest an index lists, the
// referrers the archive lists, every blob in the archive or external), the root digest and the archive's sha256.
// Besides, what a restore ignores and `docker load` reads: manifest.json, there exactly when the archive's format says
// so, and consistent with index.json and the graph (Config and Layers of the default platform, RepoTags of the tags).
import type { Readable } from "node:stream";
import { ArchiveError } from "../errors.js";
import { Annotations } from "../registry/types.js";
import type { ArchiveFormat, VerificationMethod } from "../storage/blobMetadata.js";
import {
  DEFAULT_RESTORE_LIMITS,
  readArchiveEntries,
  type ArchiveContents,
  type RestoreLimits,
} from "./archiveEntries.js";
import { checkArchiveGraph, type ArchiveGraph, type CheckArchiveGraphOptions } from "./archiveGraph.js";
import { chooseDefaultImage, isImageConfigMediaType } from "./imagePlan.js";

export type { VerificationMethod } from "../storage/blobMetadata.js";

export interface VerifyArchiveOptions {
  /** What to call the archive in error messages (its file or blob name); default "the archive". */
  name?: string;
  /** The archive file's sha256 (hex) as its sidecar records it (DIGEST_MISMATCH otherwise). */
  archiveSha256?: string;
  /** The root digest the archive must hold (its sidecar's; DIGEST_MISMATCH otherwise). */
  expectedDigest?: string;
  /**
   * The format its sidecar (or its writer) says: `oci-layout+docker-archive` must have a manifest.json, `oci-layout`
   * must not (ARCHIVE_INVALID otherwise). Absent: a manifest.json is checked when there is one.
   */
  expectedFormat?: ArchiveFormat;
  /** The image the archive was written for: its RepoTags and index.json's image names must name it. */
  source?: { registry: string; repository: string };
  /** What the verification may hold in memory; default DEFAULT_RESTORE_LIMITS (a restore's). */
  limits?: RestoreLimits;
  /** Where a blob the archive lacks may be (a referrers supplement's image blobs: its archive); default nowhere. */
  blobsElsewhere?: CheckArchiveGraphOptions["blobsElsewhere"];
}

export interface ArchiveVerification {
  /** The root's digest and media type. */
  digest: string;
  mediaType: string;
  /** The archive file's sha256 (hex), as read. */
  sha256: string;
  /** The tags index.json records. */
  tags: string[];
  /** The image's manifests (the root included). */
  manifests: number;
  /** Referrer manifests the archive lists. */
  referrers: number;
  /** Blobs that are not only manifests (configs, layers, the referrers' blobs), and their bytes: each one hashed. */
  blobs: number;
  bytes: number;
  /** Non-distributable layers the manifests reference and the archive does not hold (left to their URLs). */
  externalLayers: number;
  /** Whether it has a manifest.json (checked): `docker load` reads it. */
  dockerManifest: boolean;
}

/** What a verification checks, in the words its record says (the sidecar's and the verification record's `checked`). */
export const VERIFICATION_CHECKS: readonly string[] = [
  "gzip",
  "tar",
  "blob digests and sizes",
  "manifest graph",
  "referrers",
  "root digest",
  "archive sha256",
  "manifest.json",
];

/** A verification as it is recorded with the archive (sidecar, verification record, and in part blob metadata). */
export interface ArchiveVerificationRecord {
  verifiedAtUtc: string;
  method: VerificationMethod;
  checked: string[];
  /** The sha256 (hex) of the archive file that was read: the one its sidecar records. */
  archiveSha256: string;
  /** Blobs (configs, layers, the referrers' blobs) and manifests read and checked, and referrers listed. */
  blobs: number;
  manifests: number;
  referrers: number;
}

export function verificationRecord(
  verification: ArchiveVerification,
  method: VerificationMethod,
  at: Date,
): ArchiveVerificationRecord {
  return {
    verifiedAtUtc: at.toISOString(),
    method,
    checked: [...VERIFICATION_CHECKS],
    archiveSha256: verification.sha256,
    blobs: verification.blobs,
    manifests: verification.manifests,
    referrers: verification.referrers,
  };
}

/** Reads the archive to its end and checks it as a restore would; throws what a restore would throw before a push. */
export async function verifyImageArchive(
  archive: Readable,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
  return (await readAndVerify(archive, options)).verification;
}

/**
 * verifyImageArchive, and the digests of every blob the archive holds (manifests included): where the blobs a
 * referrers supplement leaves out are (its archive's, and earlier supplements').
 */
export async function verifyImageArchiveHolding(
  archive: Readable,
  options: VerifyArchiveOptions = {},
): Promise<{ verification: ArchiveVerification; blobDigests: ReadonlySet<string> }> {
  return readAndVerify(archive, options);
}

async function readAndVerify(
  archive: Readable,
  options: VerifyArchiveOptions,
): Promise<{ verification: ArchiveVerification; blobDigests: ReadonlySet<string> }> {
  const name = options.name ?? "the archive";
  const read = { blobs: 0, bytes: 0 };
  // The reader reads each blob to its end (verifying it) whether or not the sink does: this one only counts.
  const contents = await readArchiveEntries(
    archive,
    {
      blob: async (descriptor) => {
        read.blobs++;
        read.bytes += descriptor.size;
      },
    },
    {
      name,
      limits: options.limits ?? DEFAULT_RESTORE_LIMITS,
      referrers: true,
      sha256: true,
      dockerManifest: true,
    },
  );
  const graph = await checkArchiveGraph(contents, {
    name,
    ...(options.archiveSha256 !== undefined && { archiveSha256: options.archiveSha256 }),
    ...(options.expectedDigest !== undefined && { expectedDigest: options.expectedDigest }),
    ...(options.blobsElsewhere && { blobsElsewhere: options.blobsElsewhere }),
  });
  checkImageNames(name, contents, options.source);
  checkDockerManifest(name, contents, graph, options.expectedFormat);
  return {
    verification: {
      digest: graph.root.descriptor.digest,
      mediaType: graph.root.descriptor.mediaType,
      sha256: contents.sha256!,
      tags: graph.recordedTags,
      manifests: graph.manifests.length,
      referrers: graph.referrers.length,
      ...read,
      externalLayers: new Set([...graph.external.values()].flat().map((d) => d.digest)).size,
      dockerManifest: contents.dockerManifestJson !== undefined,
    },
    blobDigests: contents.blobs,
  };
}

/**
 * index.json's entries as the writer made them (archiveWriter.ts indexJson): each names the root, a tagged one
 * `<registry>/<repository>:<tag>` (its ref name the tag), an untagged one `<registry>/<repository>@<digest>`.
 */
function checkImageNames(name: string, contents: ArchiveContents, source: VerifyArchiveOptions["source"]): void {
  if (!source) return;
  const image = `${source.registry}/${source.repository}`;
  for (const entry of contents.index?.manifests ?? []) {
    const tag = entry.annotations?.[Annotations.refName];
    const expected = tag !== undefined ? `${image}:${tag}` : `${image}@${entry.digest}`;
    const named = entry.annotations?.[Annotations.containerdImageName];
    if (named !== expected)
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name}: index.json names ${named ?? "no image"} for ${tag ?? entry.digest}, not ${expected}`,
      );
  }
}

/**
 * manifest.json is there exactly when the format says (when told), and then is what the writer makes of the graph
 * (archiveWriter.ts dockerManifestJson): one entry whose Config and Layers are the default platform's config and layers
 * (the one docker load gets: chooseDefaultImage, as the writer chose it), each in the archive, and whose RepoTags are
 * the image names of index.json's tagged entries, in order.
 */
function checkDockerManifest(
  name: string,
  contents: ArchiveContents,
  graph: ArchiveGraph,
  expectedFormat: ArchiveFormat | undefined,
): void {
  const text = contents.dockerManifestJson;
  if (text === undefined) {
    if (expectedFormat === "oci-layout+docker-archive")
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name} has no manifest.json, but its format is oci-layout+docker-archive (docker-loadable)`,
      );
    return;
  }
  if (expectedFormat === "oci-layout")
    throw new ArchiveError("ARCHIVE_INVALID", `${name} has a manifest.json, but its format is oci-layout`);
  const invalid = (why: string) => new ArchiveError("ARCHIVE_INVALID", `${name}: manifest.json ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("is not JSON");
  }
  const entry = Array.isArray(parsed) && parsed.length === 1 ? (parsed[0] as Record<string, unknown>) : undefined;
  const strings = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((v) => typeof v === "string");
  if (!entry || typeof entry.Config !== "string" || !strings(entry.RepoTags) || !strings(entry.Layers))
    throw invalid("is not one entry of {Config, RepoTags, Layers}");
  const image = chooseDefaultImage(graph.images);
  const path = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;
  if (!isImageConfigMediaType(image.config.mediaType))
    throw invalid(`describes ${image.manifest.digest}, whose config ${image.config.mediaType} no loader reads`);
  if (entry.Config !== path(image.config.digest))
    throw invalid(`names Config ${entry.Config}, not ${path(image.config.digest)} (the default platform's)`);
  const layers = image.layers.map((l) => path(l.digest));
  if (entry.Layers.length !== layers.length || entry.Layers.some((l, i) => l !== layers[i]))
    throw invalid(`lists other Layers than the default platform's manifest ${image.manifest.digest}`);
  const missing = image.layers.find((l) => !contents.blobs.has(l.digest));
  if (missing) throw invalid(`lists layer ${missing.digest}, which the archive does not hold`);
  const repoTags = (contents.index?.manifests ?? [])
    .filter((m) => m.annotations?.[Annotations.refName] !== undefined)
    .map((m) => m.annotations?.[Annotations.containerdImageName]);
  if (entry.RepoTags.length !== repoTags.length || entry.RepoTags.some((t, i) => t !== repoTags[i]))
    throw invalid(`names RepoTags ${JSON.stringify(entry.RepoTags)}, index.json ${JSON.stringify(repoTags)}`);
}
