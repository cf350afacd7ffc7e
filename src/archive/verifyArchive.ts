// Verifies an archive without pushing anything: a restore's first two steps (archiveEntries.ts, archiveGraph.ts) with a
// sink that only counts, so what is checked is exactly what a restore checks before its first manifest: gzip and tar
// intact, every blob hashing to its name and size, the whole graph present (every manifest an index lists, the
// referrers the archive lists, every blob in the archive or external), the root digest and the archive's sha256.
import type { Readable } from "node:stream";
import { DEFAULT_RESTORE_LIMITS, readArchiveEntries, type RestoreLimits } from "./archiveEntries.js";
import { checkArchiveGraph, type CheckArchiveGraphOptions } from "./archiveGraph.js";

export interface VerifyArchiveOptions {
  /** What to call the archive in error messages (its file or blob name); default "the archive". */
  name?: string;
  /** The archive file's sha256 (hex) as its sidecar records it (DIGEST_MISMATCH otherwise). */
  archiveSha256?: string;
  /** The root digest the archive must hold (its sidecar's; DIGEST_MISMATCH otherwise). */
  expectedDigest?: string;
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
}

/** Reads the archive to its end and checks it as a restore would; throws what a restore would throw before a push. */
export async function verifyImageArchive(
  archive: Readable,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
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
    { name, limits: options.limits ?? DEFAULT_RESTORE_LIMITS, referrers: true, sha256: true },
  );
  const graph = await checkArchiveGraph(contents, {
    name,
    ...(options.archiveSha256 !== undefined && { archiveSha256: options.archiveSha256 }),
    ...(options.expectedDigest !== undefined && { expectedDigest: options.expectedDigest }),
    ...(options.blobsElsewhere && { blobsElsewhere: options.blobsElsewhere }),
  });
  return {
    digest: graph.root.descriptor.digest,
    mediaType: graph.root.descriptor.mediaType,
    sha256: contents.sha256!,
    tags: graph.recordedTags,
    manifests: graph.manifests.length,
    referrers: graph.referrers.length,
    ...read,
    externalLayers: new Set([...graph.external.values()].flat().map((d) => d.digest)).size,
  };
}
