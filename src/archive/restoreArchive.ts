// Restores an archive (.tar.gz, as this tool writes it or as `docker save` writes since Docker 25) into a
// registry with the ORIGINAL digests, in three steps: its entries are read (archiveEntries.ts), every blob pushed byte
// for byte as it streams and checked against its digest (a layer is never held); the graph is checked complete
// (archiveGraph.ts: root, children, referrers, every blob in the archive, external or in the target) before any
// manifest is pushed; then the manifests are pushed (children before the index that lists them), the root under its
// tags, and the image's referrers after it. Independent of skopeo, whose OCI-layout reader (1.9) skips Docker-typed
// manifests.
import type { Readable } from "node:stream";
import { ArchiveError, isArchiveError } from "../errors.js";
import type { ManifestNode } from "../registry/manifestGraph.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { referrersTag } from "../registry/referrers.js";
import { isIndexMediaType, MediaTypes, type Descriptor } from "../registry/types.js";
import {
  DEFAULT_RESTORE_LIMITS,
  readArchiveEntries,
  type ArchiveBlobSink,
  type RestoreLimits,
} from "./archiveEntries.js";
import { checkArchiveGraph, type ArchiveGraph, type ArchivedReferrer } from "./archiveGraph.js";

export { DEFAULT_RESTORE_LIMITS, type RestoreLimits } from "./archiveEntries.js";

export interface RestoreArchiveOptions extends OperationOptions {
  /** Tags to push the root under; default: the tags recorded in index.json (or by digest when there are none). */
  tags?: string[];
  /** What to call the archive in error messages (its file name); default "the archive". */
  name?: string;
  onBlob?: (event: { digest: string; size: number; pushed: boolean }) => void;
  /**
   * The archive file's sha256 (hex) as its sidecar records it: checked when the archive has been read, before any
   * manifest or tag is pushed (DIGEST_MISMATCH otherwise; the blobs pushed until then are each verified anyway).
   */
  archiveSha256?: string;
  /** The root digest the archive must hold (its sidecar's), checked before any manifest or tag is pushed. */
  expectedDigest?: string;
  /** Push the image's referrers the archive holds (signatures, SBOMs, …) after it; default true. */
  referrers?: boolean;
  /** What the restore may hold in memory; default DEFAULT_RESTORE_LIMITS. */
  limits?: RestoreLimits;
}

export interface RestoreArchiveResult {
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  blobsPushed: number;
  blobsPresent: number;
  manifests: number;
  bytesPushed: number;
  /** Non-distributable layers the manifests reference and the archive does not hold (left to their URLs). */
  externalLayers: number;
  /** Referrer manifests pushed after the image (0 when the archive holds none). */
  referrers: number;
  /** How the target lists them: its referrers API, or the `sha256-<hex>` tag schema indexes this restore wrote. */
  referrersListedBy?: "referrers-api" | "tag-schema";
}

export async function restoreImageArchive(
  archive: Readable,
  client: RegistryClient,
  repository: string,
  options: RestoreArchiveOptions = {},
): Promise<RestoreArchiveResult> {
  const name = options.name ?? "the archive";
  const stats = { blobsPushed: 0, blobsPresent: 0, bytesPushed: 0 };
  const contents = await readArchiveEntries(archive, registryBlobSink(client, repository, stats, options), {
    name,
    limits: options.limits ?? DEFAULT_RESTORE_LIMITS,
    referrers: options.referrers !== false,
    sha256: options.archiveSha256 !== undefined,
  });
  const graph = await checkArchiveGraph(contents, {
    name,
    ...(options.archiveSha256 !== undefined && { archiveSha256: options.archiveSha256 }),
    ...(options.expectedDigest !== undefined && { expectedDigest: options.expectedDigest }),
    blobsElsewhere: {
      name: `${client.registry}/${repository}`,
      has: (digest) => client.blobExists(repository, digest, options),
    },
  });
  // Given tags are exactly the ones pushed (none: the root by digest only); without them, the archive's own.
  const tags = options.tags ?? graph.recordedTags;
  const listedBy = await pushArchiveGraph(client, repository, graph, tags, options);
  const externalLayers = new Set([...graph.external.values()].flat().map((d) => d.digest)).size;
  const { digest, mediaType } = graph.root.descriptor;
  return {
    registry: client.registry,
    repository,
    digest,
    mediaType,
    tags,
    ...stats,
    manifests: graph.manifests.length,
    externalLayers,
    referrers: graph.referrers.length,
    ...(listedBy && { referrersListedBy: listedBy }),
  };
}

/** The sink a restore reads its archive into: each blob pushed unless the target has it already, counted. */
function registryBlobSink(
  client: RegistryClient,
  repository: string,
  stats: { blobsPushed: number; blobsPresent: number; bytesPushed: number },
  options: RestoreArchiveOptions,
): ArchiveBlobSink {
  return {
    async blob(descriptor, body) {
      const pushed = await pushBlob(client, repository, descriptor, body, options);
      if (pushed) {
        stats.blobsPushed++;
        stats.bytesPushed += descriptor.size;
      } else stats.blobsPresent++;
      options.onBlob?.({ digest: descriptor.digest, size: descriptor.size, pushed });
    },
  };
}

/** The checked graph into the registry: every manifest but the root by digest, the root under `tags`, then referrers. */
async function pushArchiveGraph(
  client: RegistryClient,
  repository: string,
  graph: ArchiveGraph,
  tags: string[],
  options: OperationOptions,
): Promise<"referrers-api" | "tag-schema" | undefined> {
  const put = (reference: string, manifest: ManifestNode) =>
    pushManifest(
      client,
      repository,
      reference,
      manifest,
      graph.external.get(manifest.descriptor.digest) ?? [],
      options,
    );
  for (const manifest of graph.manifests.slice(0, -1)) await put(manifest.descriptor.digest, manifest);
  for (const tag of tags.length ? tags : [graph.root.descriptor.digest]) await put(tag, graph.root);
  return pushReferrers(client, repository, graph.referrers, options);
}

/**
 * Pushes the referrers after the image, each after its subject, verified (the registry's digest is the archive's). A
 * target that does not answer `OCI-Subject` has no referrers API: this restore then keeps the referrers tag schema,
 * adding each referrer to its subject's `sha256-<hex>` index (merged with what the target lists there already).
 */
async function pushReferrers(
  client: RegistryClient,
  repository: string,
  referrers: ArchivedReferrer[],
  options: OperationOptions,
): Promise<"referrers-api" | "tag-schema" | undefined> {
  let listedBy: "referrers-api" | "tag-schema" | undefined;
  const tagSchema = new Map<string, Descriptor[]>();
  for (const referrer of referrers) {
    const { digest, mediaType } = referrer.manifest.descriptor;
    // An index referrer's manifests exist before it (as an image index's do).
    for (const child of referrer.children) {
      const { descriptor } = child;
      const stored = (
        await client.putManifest(repository, descriptor.digest, descriptor.mediaType, child.bytes, options)
      ).digest;
      if (stored && stored !== descriptor.digest)
        throw new ArchiveError(
          "DIGEST_MISMATCH",
          `${client.registry} stored manifest ${descriptor.digest} of referrer ${digest} as ${stored}`,
        );
    }
    const pushed = await client.putManifest(
      repository,
      referrer.tag ?? digest,
      mediaType,
      referrer.manifest.bytes,
      options,
    );
    if (pushed.digest && pushed.digest !== digest)
      throw new ArchiveError(
        "DIGEST_MISMATCH",
        `${client.registry} stored referrer ${digest} as ${pushed.digest}: it changed the bytes`,
      );
    if (!referrer.hasSubjectField) continue;
    if (pushed.ociSubject === referrer.subject) {
      listedBy ??= "referrers-api";
      continue;
    }
    listedBy = "tag-schema";
    tagSchema.set(referrer.subject, [...(tagSchema.get(referrer.subject) ?? []), referrer.descriptor]);
  }
  for (const [subject, added] of tagSchema) {
    const tag = referrersTag(subject);
    const existing = await client.findManifest(repository, tag, options);
    if (existing && !isIndexMediaType(existing.descriptor.mediaType))
      throw new ArchiveError(
        "REFERRER_GRAPH_INVALID",
        `${client.registry}/${repository}:${tag} is not a referrers index (${existing.descriptor.mediaType}): left as it is`,
      );
    const listed = existing ? ((existing.manifest as { manifests?: Descriptor[] }).manifests ?? []) : [];
    const merged = [...listed, ...added.filter((d) => !listed.some((l) => l.digest === d.digest))];
    if (merged.length === listed.length) continue; // the target lists them all already
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: merged }));
    await client.putManifest(repository, tag, MediaTypes.ociIndex, bytes, options);
  }
  return listedBy;
}

async function pushBlob(
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  body: Buffer | AsyncIterable<Buffer>,
  options: OperationOptions,
): Promise<boolean> {
  if (await client.blobExists(repository, descriptor.digest, options)) return false;
  await client.uploadBlob(repository, descriptor, body, options);
  return true;
}

async function pushManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  manifest: ManifestNode,
  external: Descriptor[],
  options: OperationOptions,
): Promise<void> {
  const { mediaType, digest: expected } = manifest.descriptor;
  let digest: string | undefined;
  try {
    ({ digest } = await client.putManifest(repository, reference, mediaType, manifest.bytes, options));
  } catch (error) {
    if (!external.length || !isArchiveError(error) || error.code === "ABORTED") throw error;
    // Distribution refuses foreign layer URLs unless `validation.manifests.urls.allow` lists them (ACR accepts them).
    const layers = `${external.length} non-distributable layer(s) the archive does not hold (${external[0]!.digest}…)`;
    const hint = `it references ${layers}: the registry must accept foreign layers`;
    throw new ArchiveError(error.code, `${error.message}; ${hint}`, {
      cause: error,
      retryable: error.retryable,
      ...(error.statusCode !== undefined && { statusCode: error.statusCode }),
      ...(error.registryCode !== undefined && { registryCode: error.registryCode }),
    });
  }
  if (digest && digest !== expected) {
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${client.registry} stored manifest ${expected} as ${digest}: it changed the bytes`,
    );
  }
}
