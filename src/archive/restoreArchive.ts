// Restores an archive (.tar.gz, as this tool writes it or as `docker save` writes since Docker 25) into a
// registry with the ORIGINAL digests: every blob is pushed byte for byte and checked against its digest while
// it streams, then the manifests (children before the index that lists them), then the root under its tags.
// Independent of skopeo, whose OCI-layout reader (1.9) skips Docker-typed manifests.
//
// What is a manifest and what is a blob comes from the graph, never from a blob's content (an artifact's layer may
// well be JSON that looks like a manifest): index.json lists manifests; an index lists manifests (its children); a
// manifest lists blobs (config and layers). This tool's archives put index.json and the manifests, parents first,
// before the other blobs, so each entry is classified as it streams. A small blob nothing read so far references
// (docker save writes blobs before index.json) is pushed at once unless its JSON could be a manifest: those few are
// held (≤ 4 MiB each) until the graph says what they are; any still unreferenced at the end is pushed as a blob.
// What is held (those, and the manifests, kept until they are pushed at the end) is bounded in bytes and count
// (RestoreLimits): an archive past either bound fails while it is read, before any manifest is pushed.
// A layer the archive lacks must be external (non-distributable: its URLs serve it, the manifest is pushed as it is)
// or already in the target; otherwise the restore fails before any manifest is pushed.
import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { ArchiveError, isArchiveError } from "../errors.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import {
  Annotations,
  isIndexMediaType,
  MANIFEST_ACCEPT,
  MAX_INDEX_DEPTH,
  MAX_MANIFEST_BYTES,
  MediaTypes,
  type Descriptor,
} from "../registry/types.js";
import { isReferrerTag, referrersTag } from "../registry/referrers.js";
import { verifyingReader } from "../registry/verifyingReader.js";
import { isNonDistributable } from "./imagePlan.js";

/** What a restore holds in memory at most: its manifests, and JSON blobs that may be manifests until the graph says. */
export interface RestoreLimits {
  /** Bytes (RESTORE_MAX_HELD_MIB). */
  maxHeldBytes: number;
  /** Manifests and such blobs (RESTORE_MAX_HELD_MANIFESTS). */
  maxHeldCount: number;
}

/** RESTORE_MAX_HELD_MIB and RESTORE_MAX_HELD_MANIFESTS's defaults (src/config.ts). */
export const DEFAULT_RESTORE_LIMITS: RestoreLimits = { maxHeldBytes: 64 * 1024 * 1024, maxHeldCount: 10_000 };

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

interface ArchivedManifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  /** An index's manifests. */
  children: Descriptor[];
  /** A manifest's config and layers. */
  blobs: Descriptor[];
}

/** A digest some part of the graph names, and who names it (index.json or a manifest's digest), for messages. */
interface Reference {
  descriptor: Descriptor;
  by: string;
}

// Only blobs of at most MAX_MANIFEST_BYTES (a manifest's limit) can be held to be classified later.
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;

export async function restoreImageArchive(
  archive: Readable,
  client: RegistryClient,
  repository: string,
  options: RestoreArchiveOptions = {},
): Promise<RestoreArchiveResult> {
  const name = options.name ?? "the archive";
  const limits = options.limits ?? DEFAULT_RESTORE_LIMITS;
  const extract = tar.extract();
  const gunzip = zlib.createGunzip();
  gunzip.on("error", (error) => extract.destroy(gunzipError(name, error)));
  archive.on("error", (error) => extract.destroy(error)); // a read error of the file, not only of gunzip
  let read: Readable = archive;
  let archiveHash: Promise<string> | undefined;
  if (options.archiveSha256 !== undefined) {
    const hash = createHash("sha256");
    const tap = new PassThrough();
    tap.on("data", (chunk: Buffer) => hash.update(chunk));
    archiveHash = new Promise((resolve) => tap.once("end", () => resolve(hash.digest("hex"))));
    read = archive.pipe(tap);
  }
  read.pipe(gunzip).pipe(extract as unknown as NodeJS.WritableStream);

  const asManifest = new Map<string, Reference>();
  const asBlob = new Map<string, Reference>();
  const manifests = new Map<string, ArchivedManifest>();
  /** Small blobs whose JSON could be a manifest, that nothing referenced yet. */
  const held = new Map<string, Buffer>();
  const inArchive = new Set<string>();
  let index:
    | { manifests?: (Descriptor & { annotations?: Record<string, string> })[]; annotations?: Record<string, string> }
    | undefined;
  /** The archive's index of the image's referrers (index.json's annotation names it): read, never pushed. */
  let referrersIndex: string | undefined;
  const stats = { blobsPushed: 0, blobsPresent: 0, bytesPushed: 0 };
  /** The bytes of each manifest and held blob, by digest: what `limits` bounds. */
  const holding = new Map<string, number>();
  let heldBytes = 0;
  const hold = (digest: string, size: number, path: string) => {
    if (holding.has(digest)) return;
    const what = "the manifests and unclassified JSON blobs this restore holds in memory";
    const already = `it holds ${mib(heldBytes)} in ${holding.size}`;
    if (heldBytes + size > limits.maxHeldBytes)
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `${name}: ${path} (${mib(size)}) would take ${what} past ${mib(limits.maxHeldBytes)} (RESTORE_MAX_HELD_MIB; ${already})`,
      );
    if (holding.size >= limits.maxHeldCount)
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `${name}: ${path} would take ${what} past ${limits.maxHeldCount} (RESTORE_MAX_HELD_MANIFESTS; ${already})`,
      );
    holding.set(digest, size);
    heldBytes += size;
  };
  const release = (digest: string) => {
    heldBytes -= holding.get(digest) ?? 0;
    holding.delete(digest);
  };

  const push = async (descriptor: Descriptor, body: Buffer | AsyncIterable<Buffer>) => {
    const pushed = await pushBlob(client, repository, descriptor, body, options);
    if (pushed) {
      stats.blobsPushed++;
      stats.bytesPushed += descriptor.size;
    } else stats.blobsPresent++;
    options.onBlob?.({ digest: descriptor.digest, size: descriptor.size, pushed });
    return pushed;
  };
  const reference = (map: Map<string, Reference>, descriptor: Descriptor, by: string) => {
    if (!map.has(descriptor.digest)) map.set(descriptor.digest, { descriptor, by });
  };
  // A held blob the graph now names: a manifest (read it: it names more), a blob (push it), or both.
  const settle = async (digest: string) => {
    const bytes = held.get(digest);
    if (!bytes) return;
    const manifestRef = asManifest.get(digest);
    if (!manifestRef && !asBlob.has(digest)) return;
    held.delete(digest);
    if (manifestRef) await addManifest(parseManifest(digest, bytes, manifestRef, name));
    else release(digest); // a blob only: pushed now, no longer held
    if (asBlob.has(digest)) await push(blobDescriptor(digest, bytes.length), bytes);
  };
  const addManifest = async (manifest: ArchivedManifest) => {
    if (manifests.has(manifest.digest)) return;
    manifests.set(manifest.digest, manifest);
    for (const child of manifest.children) reference(asManifest, child, manifest.digest);
    for (const blob of manifest.blobs) reference(asBlob, blob, manifest.digest);
    for (const named of [...manifest.children, ...manifest.blobs]) await settle(named.digest);
  };

  try {
    for await (const entry of extract) {
      const path = entry.header.name.replace(/^\.\//, "");
      const blob = BLOB_PATH.exec(path);
      if (path === "index.json") {
        // An index is a small JSON document: read at most what a manifest may be, and say so when it is not JSON.
        const text = (await readAll(entry, MAX_MANIFEST_BYTES, `${name}: index.json`)).toString("utf8");
        try {
          index = JSON.parse(text);
        } catch {
          throw new ArchiveError(
            "INVALID_ARGUMENT",
            `${name}: index.json is not JSON: it is not an OCI image layout this tool wrote`,
          );
        }
        for (const root of index?.manifests ?? []) reference(asManifest, root, "index.json");
        const named = index?.annotations?.[Annotations.referrersIndex];
        if (named !== undefined && options.referrers !== false) {
          if (typeof named !== "string" || !/^sha256:[a-f0-9]{64}$/.test(named))
            throw new ArchiveError("INVALID_ARGUMENT", `${name}: index.json names an invalid referrers index`);
          referrersIndex = named;
          const descriptor = { mediaType: MediaTypes.ociIndex, digest: named, size: 0 };
          reference(asManifest, descriptor, "index.json (its referrers)");
        }
        for (const digest of [...held.keys()]) await settle(digest);
        continue;
      }
      if (!blob || entry.header.type !== "file") {
        entry.resume();
        continue;
      }
      const descriptor = blobDescriptor(`sha256:${blob[1]}`, entry.header.size ?? 0);
      inArchive.add(descriptor.digest);
      const manifestRef = asManifest.get(descriptor.digest);
      if (manifestRef || descriptor.size <= MAX_MANIFEST_BYTES) {
        if (descriptor.size > MAX_MANIFEST_BYTES) {
          const limit = `${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`;
          throw new ArchiveError(
            "INVALID_ARGUMENT",
            `${path}, listed as a manifest by ${manifestRef!.by}, is larger than ${limit}`,
          );
        }
        const bytes = await readAll(verifyArchived(descriptor, entry), MAX_MANIFEST_BYTES, path);
        const toHold = !!manifestRef || (!asBlob.has(descriptor.digest) && couldBeManifest(bytes));
        if (toHold) hold(descriptor.digest, bytes.length, path); // kept until the end: counted against the limits
        if (manifestRef) await addManifest(parseManifest(descriptor.digest, bytes, manifestRef, name));
        if (asBlob.has(descriptor.digest)) await push(descriptor, bytes);
        else if (!manifestRef && toHold) held.set(descriptor.digest, bytes);
        else if (!manifestRef) await push(descriptor, bytes);
        continue;
      }
      // Single use: the upload reads it, or (the target has the blob) the loop below does.
      const verified = verifyArchived(descriptor, entry);
      const pushed = await push(descriptor, verified);
      if (!pushed) for await (const chunk of verified) void chunk; // still check the archive's bytes
    }
  } catch (error) {
    throw isArchiveError(error) ? error : tarError(name, error);
  }
  if (referrersIndex && !manifests.has(referrersIndex))
    throw new ArchiveError("INVALID_ARGUMENT", `${name} lacks its referrers index ${referrersIndex}`);
  // Referenced by nothing: pushed like every other blob of the archive (no manifest is guessed from content).
  for (const [digest, bytes] of held) await push(blobDescriptor(digest, bytes.length), bytes);

  const root = index?.manifests?.[0];
  if (!root)
    throw new ArchiveError("INVALID_ARGUMENT", `${name} has no index.json entry: it is not an OCI image layout`);
  const rootManifest = manifests.get(root.digest);
  if (!rootManifest)
    throw new ArchiveError("INVALID_ARGUMENT", `${name} does not contain its root manifest ${root.digest}`);

  if (archiveHash) {
    const sha256 = await archiveHash;
    if (sha256 !== options.archiveSha256)
      throw new ArchiveError(
        "DIGEST_MISMATCH",
        `${name} hashes to sha256 ${sha256}, its sidecar says ${options.archiveSha256}: the archive is not the one that was written`,
      );
  }

  if (options.expectedDigest !== undefined && rootManifest.digest !== options.expectedDigest)
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${name} holds ${rootManifest.digest}, not ${options.expectedDigest} as its sidecar says`,
    );

  // Children first: every manifest an index lists must exist before the index is pushed.
  const order: ArchivedManifest[] = [];
  const visit = (manifest: ArchivedManifest, depth: number) => {
    if (depth > MAX_INDEX_DEPTH)
      throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
    for (const child of manifest.children) {
      const found = manifests.get(child.digest);
      if (!found)
        throw new ArchiveError(
          "INVALID_ARGUMENT",
          `${name} lacks manifest ${child.digest}, listed by ${manifest.digest}`,
        );
      visit(found, depth + 1);
    }
    if (!order.includes(manifest)) order.push(manifest);
  };
  visit(rootManifest, 0);
  const referrers = referrersToPush(name, manifests, order, referrersIndex);

  // Every blob a manifest names is in the archive, external, or already in the target: checked before any manifest goes.
  const external = new Map<string, Descriptor[]>();
  for (const manifest of [...order, ...referrers.flatMap((r) => [...r.children, r.manifest])]) {
    for (const blob of manifest.blobs) {
      if (inArchive.has(blob.digest)) continue;
      if (isNonDistributable(blob)) {
        external.set(manifest.digest, [...(external.get(manifest.digest) ?? []), blob]);
        continue;
      }
      if (await client.blobExists(repository, blob.digest, options)) continue;
      const target = `${client.registry}/${repository}`;
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `${name} lacks blob ${blob.digest}, listed by manifest ${manifest.digest}, and ${target} does not have it`,
      );
    }
  }

  const put = (reference: string, manifest: ArchivedManifest) =>
    pushManifest(client, repository, reference, manifest, external.get(manifest.digest) ?? [], options);
  for (const manifest of order.slice(0, -1)) await put(manifest.digest, manifest);
  const recordedTags = (index?.manifests ?? [])
    .map((m) => m.annotations?.[Annotations.refName])
    .filter((t): t is string => !!t);
  // Given tags are exactly the ones pushed (none: the root by digest only); without them, the archive's own.
  const tags = options.tags ?? recordedTags;
  for (const tag of tags.length ? tags : [rootManifest.digest]) await put(tag, rootManifest);
  const listedBy = await pushReferrers(client, repository, referrers, options);
  const externalLayers = new Set([...external.values()].flat().map((d) => d.digest)).size;
  const { digest, mediaType } = rootManifest;
  return {
    registry: client.registry,
    repository,
    digest,
    mediaType,
    tags,
    ...stats,
    manifests: order.length,
    externalLayers,
    referrers: referrers.length,
    ...(listedBy && { referrersListedBy: listedBy }),
  };
}

interface ArchivedReferrer {
  manifest: ArchivedManifest;
  /** The archive's descriptor of it: artifactType and its own annotations (ours, vnd.acr-cold-archive.*, removed). */
  descriptor: Descriptor;
  subject: string;
  /** Its subject's own `subject` field says so (pushing it indexes it on a registry with the referrers API). */
  hasSubjectField: boolean;
  /** A cosign legacy tag to push it under; else by digest. */
  tag?: string;
  /** An index referrer's manifests (image manifests, in the archive): pushed before it. */
  children: ArchivedManifest[];
}

/**
 * The referrers the archive's index lists, checked before anything is pushed: each manifest is in the archive, its
 * subject is the image or a referrer listed before it (so it is pushed after its subject, and no cycle can be), its
 * `subject` field (when it has one) agrees, a cosign tag is that subject's, and an index referrer's manifests name no
 * subject outside the image and its referrers.
 */
function referrersToPush(
  name: string,
  manifests: Map<string, ArchivedManifest>,
  image: ArchivedManifest[],
  indexDigest: string | undefined,
): ArchivedReferrer[] {
  if (!indexDigest) return [];
  const index = manifests.get(indexDigest);
  if (!index) throw new ArchiveError("INVALID_ARGUMENT", `${name} lacks its referrers index ${indexDigest}`);
  const known = new Set(image.map((m) => m.digest));
  // What an index referrer's manifest may name as its own subject: the image or any referrer the index lists.
  const graph = new Set([...known, ...index.children.map((d) => d.digest)]);
  const out: ArchivedReferrer[] = [];
  for (const listed of index.children) {
    const what = `referrer ${listed.digest} in ${name}`;
    const manifest = manifests.get(listed.digest);
    if (!manifest) throw new ArchiveError("INVALID_ARGUMENT", `${name} lacks ${what.split(" in ")[0]}`);
    const annotations = listed.annotations ?? {};
    const subject = annotations[Annotations.referrerSubject];
    if (!subject || !known.has(subject))
      throw new ArchiveError("INVALID_ARGUMENT", `${what}: its subject ${subject ?? "(none)"} is not listed before it`);
    const stated = (JSON.parse(manifest.bytes.toString("utf8")) as { subject?: { digest?: unknown } }).subject?.digest;
    if (stated !== undefined && stated !== subject)
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `${what}: its subject is ${String(stated)}, the archive says ${subject}`,
      );
    const tag = annotations[Annotations.referrerTag];
    if (tag !== undefined && !(isReferrerTag(tag) && tag.startsWith(`${referrersTag(subject)}.`)))
      throw new ArchiveError("INVALID_ARGUMENT", `${what}: "${tag}" is not a cosign tag of ${subject}`);
    const own = Object.fromEntries(Object.entries(annotations).filter(([k]) => !k.startsWith("vnd.acr-cold-archive.")));
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
      ...(listed.artifactType && { artifactType: listed.artifactType }),
      ...(Object.keys(own).length > 0 && { annotations: own }),
    };
    const children = manifest.children.map((child) => {
      const found = manifests.get(child.digest);
      if (!found)
        throw new ArchiveError("INVALID_ARGUMENT", `${name} lacks manifest ${child.digest}, listed by ${what}`);
      if (found.children.length > 0)
        throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${what} lists an index: one level of index referrers only`);
      // Pushed with a subject of another image, a registry with the referrers API would list it as that one's.
      const own = JSON.parse(found.bytes.toString("utf8")) as { subject?: unknown };
      const named = (own.subject as { digest?: unknown } | null | undefined)?.digest;
      if (own.subject !== undefined && !(typeof named === "string" && graph.has(named)))
        throw new ArchiveError(
          "REFERRER_GRAPH_INVALID",
          `manifest ${child.digest}, listed by ${what}: its subject ${typeof named === "string" ? named : "(invalid)"} is neither the image nor one of its referrers`,
        );
      return found;
    });
    out.push({ manifest, descriptor, subject, hasSubjectField: stated !== undefined, ...(tag && { tag }), children });
    known.add(manifest.digest);
  }
  return out;
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
    const { manifest } = referrer;
    // An index referrer's manifests exist before it (as an image index's do).
    for (const child of referrer.children) {
      const stored = (await client.putManifest(repository, child.digest, child.mediaType, child.bytes, options)).digest;
      if (stored && stored !== child.digest)
        throw new ArchiveError(
          "DIGEST_MISMATCH",
          `${client.registry} stored manifest ${child.digest} of referrer ${manifest.digest} as ${stored}`,
        );
    }
    const pushed = await client.putManifest(
      repository,
      referrer.tag ?? manifest.digest,
      manifest.mediaType,
      manifest.bytes,
      options,
    );
    if (pushed.digest && pushed.digest !== manifest.digest)
      throw new ArchiveError(
        "DIGEST_MISMATCH",
        `${client.registry} stored referrer ${manifest.digest} as ${pushed.digest}: it changed the bytes`,
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

function blobDescriptor(digest: string, size: number): Descriptor {
  return { mediaType: MediaTypes.octetStream, digest, size };
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
  manifest: ArchivedManifest,
  external: Descriptor[],
  options: OperationOptions,
): Promise<void> {
  let digest: string | undefined;
  try {
    ({ digest } = await client.putManifest(repository, reference, manifest.mediaType, manifest.bytes, options));
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
  if (digest && digest !== manifest.digest) {
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${client.registry} stored manifest ${manifest.digest} as ${digest}: it changed the bytes`,
    );
  }
}

/** A blob the graph lists as a manifest: its media type (its own, else its descriptor's) and what it references. */
function parseManifest(digest: string, bytes: Buffer, ref: Reference, name: string): ArchivedManifest {
  const what = `blobs/sha256/${digest.slice(7)} (a manifest, listed by ${ref.by})`;
  let json: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] } | null;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    json = null;
  }
  if (typeof json !== "object" || json === null)
    throw new ArchiveError("INVALID_ARGUMENT", `${what} in ${name} is not a JSON object`);
  const mediaType =
    json.mediaType ||
    ref.descriptor.mediaType ||
    (Array.isArray(json.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number])) {
    throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${what} has media type "${mediaType}", which cannot be restored`);
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(json.manifests))
      throw new ArchiveError("INVALID_ARGUMENT", `${what} in ${name} is an index without manifests`);
    return { digest, bytes, mediaType, children: json.manifests, blobs: [] };
  }
  if (!json.config || !Array.isArray(json.layers))
    throw new ArchiveError("INVALID_ARGUMENT", `${what} in ${name} has no config or layers`);
  return { digest, bytes, mediaType, children: [], blobs: [json.config, ...json.layers] };
}

/** JSON with `schemaVersion: 2`: could be a manifest, so it waits for the graph instead of being pushed as a blob. */
function couldBeManifest(bytes: Buffer): boolean {
  if (bytes[0] !== 0x7b /* { */) return false;
  try {
    return (JSON.parse(bytes.toString("utf8")) as { schemaVersion?: unknown })?.schemaVersion === 2;
  } catch {
    return false;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** zlib's words ("incorrect header check") said as what is wrong with the file. */
function gunzipError(name: string, error: Error & { code?: string }): Error {
  if (error.code === "Z_DATA_ERROR" && /incorrect header check/.test(error.message)) {
    return new ArchiveError(
      "INVALID_ARGUMENT",
      `${name} is not a gzip archive (expected a .tar.gz written by acr-cold-archive)`,
      { cause: error },
    );
  }
  if (error.code?.startsWith("Z_"))
    return new ArchiveError("INVALID_ARGUMENT", `${name} is damaged or truncated (gunzip: ${error.message})`, {
      cause: error,
    });
  return error;
}

function tarError(name: string, error: unknown): unknown {
  const message = (error as Error)?.message ?? "";
  if (/tar header|Unexpected end of data/i.test(message)) {
    return new ArchiveError(
      "INVALID_ARGUMENT",
      `${name} is gzip but not a tar archive, or is truncated (${message.split(".")[0]})`,
      { cause: error },
    );
  }
  return error;
}

/** An archive entry's bytes, checked against its name (blobs/sha256/<hex>) and tar size as they pass. */
function verifyArchived(descriptor: Descriptor, entry: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  const what = `blobs/sha256/${descriptor.digest.slice(7)} in the archive`;
  return verifyingReader(entry as AsyncIterable<Buffer>, descriptor, { what, corruption: "the archive is damaged" });
}

/** The whole of a small entry, refused (INVALID_ARGUMENT) as soon as it passes `maxBytes`. */
async function readAll(source: AsyncIterable<unknown>, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new ArchiveError("INVALID_ARGUMENT", `${what} is larger than ${maxBytes / 1024 / 1024} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
