// One manifest graph: what a manifest or an index points at, known in one place (as oras-go's content/graph.go
// `Successors` is). A manifest's bytes are parsed once into a node (its children: the manifests an index lists; its
// blobs: an image manifest's config and layers; its subject, artifactType and annotations), and one walk goes over the
// graph under a root, given a source of nodes: the registry (an archive's plan, a referrer's manifests) or an archive
// being read (a restore). The limits are the graph's: a manifest of at most MAX_MANIFEST_BYTES, at most MAX_INDEX_DEPTH
// levels below its root.
import { ArchiveError, type ArchiveErrorCode } from "../errors.js";
import { isSha256Digest } from "./digest.js";
import type { GetManifestResult } from "./registryClient.js";
import {
  isImageManifestMediaType,
  isIndexMediaType,
  MANIFEST_ACCEPT,
  MAX_INDEX_DEPTH,
  MAX_MANIFEST_BYTES,
  MediaTypes,
  type Descriptor,
} from "./types.js";

interface ManifestNodeBase {
  /** The manifest itself: its media type, and the digest and size of its exact bytes. */
  descriptor: Descriptor;
  bytes: Buffer;
  /** The manifests an index lists (its children, each a descriptor as stated); none for an image manifest. */
  children: Descriptor[];
  /** An image manifest's config and layers, config first; none for an index. */
  blobs: Descriptor[];
  /** OCI 1.1: the manifest this one refers to (a signature's, an SBOM's image), as stated: its digest is sha256. */
  subject?: Partial<Descriptor> & { digest: string };
  /** Its `artifactType` field as stated (see artifactTypeOf for the type OCI 1.1 gives it). */
  artifactType?: string;
  /** Its `annotations` as stated. */
  annotations?: Record<string, string>;
}

export interface IndexNode extends ManifestNodeBase {
  kind: "index";
}

export interface ImageNode extends ManifestNodeBase {
  kind: "image";
  config: Descriptor;
  layers: Descriptor[];
}

export type ManifestNode = IndexNode | ImageNode;

export interface ParseManifestOptions {
  /** What the manifest is called in messages (`manifest team/app:1`, `blobs/sha256/<hex> in x.tar.gz`). */
  what: string;
  /**
   * The code of a manifest that is not a well-formed one (not a JSON object, an index without manifests, an invalid
   * descriptor): UNSUPPORTED_MEDIA_TYPE from a registry (what it serves cannot be archived), ARCHIVE_INVALID from an
   * archive (its content is damaged). A media type that is not a manifest's is UNSUPPORTED_MEDIA_TYPE either way.
   */
  invalid: ArchiveErrorCode;
}

/**
 * A manifest's bytes, parsed once. Its media type is its own `mediaType`, else `listed.mediaType` (the descriptor that
 * listed it), else its shape's (an index when it lists manifests). `listed.digest` is the digest the bytes were
 * verified against.
 */
export function parseManifest(
  bytes: Buffer,
  listed: { digest: string; mediaType?: string },
  options: ParseManifestOptions,
): ManifestNode {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    json = undefined;
  }
  return manifestNodeOfJson(json, bytes, listed, options);
}

/** parseManifest for bytes whose JSON the caller has parsed already (`json`: undefined when they are not JSON). */
export function manifestNodeOfJson(
  json: unknown,
  bytes: Buffer,
  listed: { digest: string; mediaType?: string },
  options: ParseManifestOptions,
): ManifestNode {
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new ArchiveError(options.invalid, `${options.what} is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`);
  const stated = isObject(json) ? json.mediaType : undefined;
  const mediaType =
    stated ||
    listed.mediaType ||
    (isObject(json) && Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  return nodeOf(json, { mediaType: mediaType as string, digest: listed.digest, size: bytes.length }, bytes, options);
}

/** A manifest a registry answered (getManifest verified its digest, parsed its JSON and named its media type). */
export function manifestNodeOf(got: GetManifestResult, options: ParseManifestOptions): ManifestNode {
  return nodeOf(got.manifest, got.descriptor, got.bytes, options);
}

function nodeOf(json: unknown, descriptor: Descriptor, bytes: Buffer, options: ParseManifestOptions): ManifestNode {
  const { what, invalid } = options;
  if (!isObject(json)) throw new ArchiveError(invalid, `${what} is not a JSON object`);
  const { mediaType } = descriptor;
  if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number]))
    throw new ArchiveError(
      "UNSUPPORTED_MEDIA_TYPE",
      `${what} has media type "${String(mediaType)}": not an image manifest or index`,
    );
  const descriptors = (value: unknown): Descriptor[] => {
    if (!Array.isArray(value) || !value.every(isDescriptor))
      throw new ArchiveError(invalid, `${what} lists an invalid descriptor`);
    return value;
  };
  // A `subject` of null is none; any other must at least name a digest (what the referrers API indexes it by).
  const subject = json.subject ?? undefined;
  if (subject !== undefined && !(isObject(subject) && isSha256Digest(subject.digest)))
    throw new ArchiveError(invalid, `${what}: its subject is not a descriptor of a sha256 digest`);
  const stated = {
    descriptor,
    bytes,
    ...(subject !== undefined && { subject: subject as Partial<Descriptor> & { digest: string } }),
    ...(json.artifactType !== undefined && { artifactType: json.artifactType as string }),
    ...(json.annotations !== undefined && { annotations: json.annotations as Record<string, string> }),
  };
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw new ArchiveError(invalid, `${what} is an index without manifests`);
    return { kind: "index", ...stated, children: descriptors(json.manifests), blobs: [] };
  }
  // An image manifest that also lists manifests would be an image to one reader and an index to another.
  if (Array.isArray(json.manifests))
    throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${what} lists manifests but has media type ${mediaType}`);
  if (!isImageManifestMediaType(mediaType) || !isObject(json.config) || !Array.isArray(json.layers))
    throw new ArchiveError(invalid, `${what} is not an image manifest (no config or layers)`);
  const [config, ...layers] = descriptors([json.config, ...json.layers]);
  return { kind: "image", ...stated, children: [], blobs: [config!, ...layers], config: config!, layers };
}

/** The artifact type OCI 1.1 gives a manifest: its `artifactType`, else its config's media type (an index: none). */
export function artifactTypeOf(node: ManifestNode): string | undefined {
  return node.artifactType ?? (node.kind === "image" ? node.config.mediaType : undefined);
}

/** A descriptor as a manifest or a registry answer must state it: a media type, a sha256 digest, a size. */
export function isDescriptor(value: unknown): value is Descriptor {
  if (!isObject(value)) return false;
  const { mediaType, digest, size, artifactType, annotations } = value;
  return (
    typeof mediaType === "string" &&
    isSha256Digest(digest) &&
    Number.isSafeInteger(size) &&
    (size as number) >= 0 &&
    (artifactType === undefined || typeof artifactType === "string") &&
    (annotations === undefined || (typeof annotations === "object" && annotations !== null))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Where a walk reads the manifests it meets: the node a descriptor names (listed by `parent`), its bytes verified against
 * the descriptor's digest: fetched from a registry, or taken from an archive being read.
 */
export type ManifestSource = (descriptor: Descriptor, parent: ManifestNode) => ManifestNode | Promise<ManifestNode>;

export interface WalkManifestsOptions {
  /** Levels below the root a manifest may be; default MAX_INDEX_DEPTH. */
  maxDepth?: number;
  /**
   * Called once for each manifest, parents first (the root, then each child's graph in the order its index lists it),
   * with the descriptor that listed it (none for the root) and its depth; a throw ends the walk.
   */
  onNode?: (node: ManifestNode, listedAs: Descriptor | undefined, depth: number) => void | Promise<void>;
}

export interface ManifestWalk {
  /** Each manifest once, parents first: the root first (an archive's order). */
  parentsFirst: ManifestNode[];
  /** Each manifest once, children first: every manifest after the ones it lists (the order a registry takes them). */
  childrenFirst: ManifestNode[];
}

/**
 * Walks the graph under `root` (each manifest once, depth first), reading each child from `source`: a child must be
 * the size its index says, and no more than `maxDepth` levels below the root (UNSUPPORTED_MEDIA_TYPE: nested indexes
 * are legal but rare, so a hostile index cannot recurse without end).
 */
export async function walkManifests(
  root: ManifestNode,
  source: ManifestSource,
  options: WalkManifestsOptions = {},
): Promise<ManifestWalk> {
  const { maxDepth = MAX_INDEX_DEPTH, onNode } = options;
  const walk: ManifestWalk = { parentsFirst: [], childrenFirst: [] };
  const seen = new Set<string>();
  const visit = async (node: ManifestNode, listedAs: Descriptor | undefined, depth: number): Promise<void> => {
    seen.add(node.descriptor.digest);
    walk.parentsFirst.push(node);
    await onNode?.(node, listedAs, depth);
    for (const child of node.children) {
      if (seen.has(child.digest)) continue;
      if (depth >= maxDepth)
        throw new ArchiveError(
          "UNSUPPORTED_MEDIA_TYPE",
          `${node.descriptor.digest} lists ${child.digest}: indexes nested deeper than ${maxDepth}`,
        );
      const found = await source(child, node);
      if (found.descriptor.digest !== child.digest)
        throw new ArchiveError("DIGEST_MISMATCH", `manifest ${child.digest} was read as ${found.descriptor.digest}`);
      if (found.descriptor.size !== child.size)
        throw new ArchiveError(
          "SIZE_MISMATCH",
          `manifest ${child.digest} is ${found.descriptor.size} bytes, its index ${node.descriptor.digest} says ${child.size}`,
        );
      await visit(found, child, depth + 1);
    }
    walk.childrenFirst.push(node);
  };
  await visit(root, undefined, 0);
  return walk;
}
