// Reading an archive's entries (.tar.gz, as this tool writes it or as `docker save` writes since Docker 25), the first
// step of a restore and of a verification: gunzip and tar read as they stream, every blob checked against its name
// (blobs/sha256/<hex>) and tar size as it passes, and each blob handed once to a sink (a restore pushes it; a
// verification only reads it). Manifests are not handed to the sink: they are parsed once into the archive's graph
// (registry/manifestGraph.ts) and kept, for the next step to check that graph complete.
//
// What is a manifest and what is a blob comes from the graph, never from a blob's content (an artifact's layer may
// well be JSON that looks like a manifest): index.json lists manifests; an index lists manifests (its children); a
// manifest lists blobs (config and layers). This tool's archives put index.json and the manifests, parents first,
// before the other blobs, so each entry is classified as it streams. A small blob nothing read so far references
// (docker save writes blobs before index.json) is handed on at once unless its JSON could be a manifest: those few are
// held (≤ 4 MiB each) until the graph says what they are; any still unreferenced at the end is handed on as a blob.
// What is held (those, and the manifests) is bounded in bytes and count (RestoreLimits): an archive past either bound
// fails while it is read (ARCHIVE_INVALID), before the next step. Blobs larger than a manifest stream: never held.
import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import zlib from "node:zlib";
import tar, { type Extract as TarExtract } from "tar-stream";
import { ArchiveError, isArchiveError } from "../errors.js";
import { isSha256Digest, SHA256_HEX_SOURCE } from "../registry/digest.js";
import { isDescriptor, manifestNodeOfJson, parseManifest, type ManifestNode } from "../registry/manifestGraph.js";
import { Annotations, MAX_MANIFEST_BYTES, MediaTypes, type Descriptor } from "../registry/types.js";
import { verifyingReader } from "../registry/verifyingReader.js";

/** What a restore holds in memory at most: its manifests, and JSON blobs that may be manifests until the graph says. */
export interface RestoreLimits {
  /** Bytes (RESTORE_MAX_HELD_MIB). */
  maxHeldBytes: number;
  /** Manifests and such blobs (RESTORE_MAX_HELD_MANIFESTS). */
  maxHeldCount: number;
}

/** RESTORE_MAX_HELD_MIB and RESTORE_MAX_HELD_MANIFESTS's defaults (src/config.ts). */
export const DEFAULT_RESTORE_LIMITS: RestoreLimits = { maxHeldBytes: 64 * 1024 * 1024, maxHeldCount: 10_000 };

/** Where the archive's blobs go as they are read (every blob that is not only a manifest, each once). */
export interface ArchiveBlobSink {
  /**
   * One blob: its bytes (a small one, already verified) or a stream of them, verified as it is read. The reader reads
   * to the end whatever the sink leaves unread, so every blob is checked whether or not the sink wanted its bytes.
   */
  blob(descriptor: Descriptor, body: Buffer | AsyncIterable<Buffer>): Promise<void>;
}

/** index.json: the root first (its annotations: the tags the image was saved under), and the archive's annotations. */
export interface ArchiveIndex {
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ArchiveContents {
  /** index.json, when the archive has one. */
  index?: ArchiveIndex;
  /**
   * manifest.json's text (docker-archive: `[{Config, RepoTags, Layers}]`), when the archive has one: a restore ignores
   * it, a verification checks it against index.json and the graph (verifyArchive.ts).
   */
  dockerManifestJson?: string;
  /** Every manifest the graph names that the archive holds, by digest, each parsed once. */
  manifests: ReadonlyMap<string, ManifestNode>;
  /** The digest of every blob the archive holds (blobs/sha256/<hex>), manifests included. */
  blobs: ReadonlySet<string>;
  /** The archive's index of the image's referrers (index.json's annotation names it), when it is followed. */
  referrersIndex?: string;
  /** The archive file's sha256 (hex), when asked for. */
  sha256?: string;
}

export interface ReadArchiveOptions {
  /** What to call the archive in error messages (its file or blob name). */
  name: string;
  limits: RestoreLimits;
  /** Follow index.json's referrers index (an image's referrers in the archive): read it as a manifest. */
  referrers: boolean;
  /** Hash the archive file as it is read (its sidecar records that sha256). */
  sha256: boolean;
  /** Keep manifest.json's text (a verification checks it; a restore has no use for it). */
  dockerManifest?: boolean;
}

/** One entry of the tar as it streams (tar-stream does not name the type). */
type TarEntry = TarExtract extends AsyncIterable<infer Entry> ? Entry : never;

/**
 * The entries read as blobs (anything else but index.json and manifest.json is skipped); a blob past MAX_MANIFEST_BYTES
 * is never held.
 */
const BLOB_PATH = new RegExp(`^blobs/sha256/(${SHA256_HEX_SOURCE})$`);

/** Reads the archive to its end, handing each blob to `sink`; what it returns is what the next step checks. */
export async function readArchiveEntries(
  archive: Readable,
  sink: ArchiveBlobSink,
  options: ReadArchiveOptions,
): Promise<ArchiveContents> {
  const { entries, sha256 } = openArchive(archive, options);
  const reader = new EntryReader(sink, options);
  try {
    for await (const entry of entries) await reader.read(entry);
  } catch (error) {
    throw isArchiveError(error) ? error : tarError(options.name, error);
  }
  return reader.finish(await sha256);
}

/** The tar entries of a gzipped archive, and (when asked) the archive file's sha256 once it has been read. */
function openArchive(
  archive: Readable,
  options: ReadArchiveOptions,
): { entries: TarExtract; sha256: Promise<string | undefined> } {
  const extract = tar.extract();
  const gunzip = zlib.createGunzip();
  gunzip.on("error", (error) => extract.destroy(gunzipError(options.name, error)));
  archive.on("error", (error) => extract.destroy(error)); // a read error of the file, not only of gunzip
  let read: Readable = archive;
  let sha256: Promise<string | undefined> = Promise.resolve(undefined);
  if (options.sha256) {
    const hash = createHash("sha256");
    const tap = new PassThrough();
    tap.on("data", (chunk: Buffer) => hash.update(chunk));
    sha256 = new Promise((resolve) => tap.once("end", () => resolve(hash.digest("hex"))));
    read = archive.pipe(tap);
  }
  read.pipe(gunzip).pipe(extract as unknown as NodeJS.WritableStream);
  return { entries: extract, sha256 };
}

/** A digest some part of the graph names, and who names it (index.json or a manifest's digest), for messages. */
interface Reference {
  descriptor: Descriptor;
  by: string;
}

/** One archive's entries, classified as they stream (see the top of this file). */
class EntryReader {
  private readonly name: string;
  private readonly asManifest = new Map<string, Reference>();
  private readonly asBlob = new Map<string, Reference>();
  private readonly manifests = new Map<string, ManifestNode>();
  /** Small blobs whose JSON could be a manifest, that nothing referenced yet. */
  private readonly held = new Map<string, HeldBlob>();
  private readonly inArchive = new Set<string>();
  private index: ArchiveIndex | undefined;
  private dockerManifestJson: string | undefined;
  /** The archive's index of the image's referrers: read, never pushed. */
  private referrersIndex: string | undefined;
  /** The bytes of each manifest and held blob, by digest: what the limits bound. */
  private readonly holding = new Map<string, number>();
  private heldBytes = 0;

  constructor(
    private readonly sink: ArchiveBlobSink,
    private readonly options: ReadArchiveOptions,
  ) {
    this.name = options.name;
  }

  async read(entry: TarEntry): Promise<void> {
    const path = entry.header.name.replace(/^\.\//, "");
    const blob = BLOB_PATH.exec(path);
    if (path === "index.json") return this.readIndex(entry);
    if (path === "manifest.json" && this.options.dockerManifest && entry.header.type === "file")
      return this.readDockerManifest(entry);
    if (!blob || entry.header.type !== "file") {
      entry.resume();
      return;
    }
    const descriptor = blobDescriptor(`sha256:${blob[1]}`, entry.header.size ?? 0);
    this.inArchive.add(descriptor.digest);
    const manifestRef = this.asManifest.get(descriptor.digest);
    if (!manifestRef && descriptor.size > MAX_MANIFEST_BYTES) {
      // Single use: the sink reads it, or (it does not want the bytes) the loop below does.
      const verified = verifyArchived(descriptor, entry);
      await this.sink.blob(descriptor, verified);
      for await (const chunk of verified) void chunk; // still check the archive's bytes
      return;
    }
    if (descriptor.size > MAX_MANIFEST_BYTES) {
      const limit = `${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`;
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${path}, listed as a manifest by ${manifestRef!.by}, is larger than ${limit}`,
      );
    }
    const bytes = await readAll(verifyArchived(descriptor, entry), MAX_MANIFEST_BYTES, path);
    const held =
      manifestRef || this.asBlob.has(descriptor.digest) ? undefined : mayBeManifest(descriptor.digest, bytes);
    if (manifestRef || held) this.hold(descriptor.digest, bytes.length, path); // kept until the end: counted
    if (manifestRef) await this.addManifest(this.parse(descriptor.digest, bytes, manifestRef));
    if (this.asBlob.has(descriptor.digest)) await this.sink.blob(descriptor, bytes);
    else if (held) this.held.set(descriptor.digest, held);
    else if (!manifestRef) await this.sink.blob(descriptor, bytes);
  }

  /** The archive has been read: what index.json names must be in it; blobs still held are blobs. */
  async finish(sha256: string | undefined): Promise<ArchiveContents> {
    const { referrersIndex } = this;
    if (referrersIndex && !this.manifests.has(referrersIndex))
      throw new ArchiveError("ARCHIVE_INVALID", `${this.name} lacks its referrers index ${referrersIndex}`);
    // Referenced by nothing: handed on like every other blob of the archive (no manifest is guessed from content).
    for (const [digest, { bytes }] of this.held) await this.sink.blob(blobDescriptor(digest, bytes.length), bytes);
    return {
      ...(this.index && { index: this.index }),
      ...(this.dockerManifestJson !== undefined && { dockerManifestJson: this.dockerManifestJson }),
      manifests: this.manifests,
      blobs: this.inArchive,
      ...(referrersIndex && { referrersIndex }),
      ...(sha256 !== undefined && { sha256 }),
    };
  }

  /** manifest.json: small, kept as it is for a verification to compare with the graph (a restore ignores it). */
  private async readDockerManifest(entry: TarEntry): Promise<void> {
    const text = (await readAll(entry, MAX_MANIFEST_BYTES, `${this.name}: manifest.json`)).toString("utf8");
    this.dockerManifestJson = text;
  }

  private async readIndex(entry: TarEntry): Promise<void> {
    const { name } = this;
    // An index is a small JSON document: read at most what a manifest may be, and say so when it is not JSON.
    const text = (await readAll(entry, MAX_MANIFEST_BYTES, `${name}: index.json`)).toString("utf8");
    let index: unknown;
    try {
      index = JSON.parse(text);
    } catch {
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name}: index.json is not JSON: it is not an OCI image layout this tool wrote`,
      );
    }
    // Anything but an object lists no root (the next step says so).
    this.index = typeof index === "object" && index !== null ? (index as ArchiveIndex) : {};
    const { manifests } = this.index;
    if (manifests != null && !(Array.isArray(manifests) && manifests.every(isDescriptor)))
      throw new ArchiveError("ARCHIVE_INVALID", `${name}: index.json lists an invalid descriptor`);
    for (const root of manifests ?? []) this.reference(this.asManifest, root, "index.json");
    const named = this.index.annotations?.[Annotations.referrersIndex];
    if (named !== undefined && this.options.referrers) {
      if (!isSha256Digest(named))
        throw new ArchiveError("ARCHIVE_INVALID", `${name}: index.json names an invalid referrers index`);
      this.referrersIndex = named;
      const descriptor = { mediaType: MediaTypes.ociIndex, digest: named, size: 0 };
      this.reference(this.asManifest, descriptor, "index.json (its referrers)");
    }
    for (const digest of [...this.held.keys()]) await this.settle(digest);
  }

  private parse(digest: string, bytes: Buffer, ref: Reference): ManifestNode {
    const what = `blobs/sha256/${digest.slice(7)} in ${this.name} (a manifest, listed by ${ref.by})`;
    return parseManifest(bytes, { digest, mediaType: ref.descriptor.mediaType }, { what, invalid: "ARCHIVE_INVALID" });
  }

  private reference(map: Map<string, Reference>, descriptor: Descriptor, by: string): void {
    if (!map.has(descriptor.digest)) map.set(descriptor.digest, { descriptor, by });
  }

  private async addManifest(manifest: ManifestNode): Promise<void> {
    const { digest } = manifest.descriptor;
    if (this.manifests.has(digest)) return;
    this.manifests.set(digest, manifest);
    for (const child of manifest.children) this.reference(this.asManifest, child, digest);
    for (const blob of manifest.blobs) this.reference(this.asBlob, blob, digest);
    for (const named of [...manifest.children, ...manifest.blobs]) await this.settle(named.digest);
  }

  // A held blob the graph now names: a manifest (read it: it names more), a blob (hand it on), or both.
  private async settle(digest: string): Promise<void> {
    const held = this.held.get(digest);
    if (!held) return;
    const { bytes } = held;
    const manifestRef = this.asManifest.get(digest);
    if (!manifestRef && !this.asBlob.has(digest)) return;
    this.held.delete(digest);
    if (manifestRef) await this.addManifest(held.node ?? this.parse(digest, bytes, manifestRef));
    else this.release(digest); // a blob only: handed on now, no longer held
    if (this.asBlob.has(digest)) await this.sink.blob(blobDescriptor(digest, bytes.length), bytes);
  }

  private hold(digest: string, size: number, path: string): void {
    if (this.holding.has(digest)) return;
    const { name } = this;
    const { maxHeldBytes, maxHeldCount } = this.options.limits;
    const what = "the manifests and unclassified JSON blobs this restore holds in memory";
    const already = `it holds ${mib(this.heldBytes)} in ${this.holding.size}`;
    if (this.heldBytes + size > maxHeldBytes)
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name}: ${path} (${mib(size)}) would take ${what} past ${mib(maxHeldBytes)} (RESTORE_MAX_HELD_MIB; ${already})`,
      );
    if (this.holding.size >= maxHeldCount)
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name}: ${path} would take ${what} past ${maxHeldCount} (RESTORE_MAX_HELD_MANIFESTS; ${already})`,
      );
    this.holding.set(digest, size);
    this.heldBytes += size;
  }

  private release(digest: string): void {
    this.heldBytes -= this.holding.get(digest) ?? 0;
    this.holding.delete(digest);
  }
}

function blobDescriptor(digest: string, size: number): Descriptor {
  return { mediaType: MediaTypes.octetStream, digest, size };
}

/** A small blob nothing named when it was read, held until the graph says whether it is a manifest. */
interface HeldBlob {
  bytes: Buffer;
  /**
   * The manifest it is if the graph names it as one: parsed when it was read (its JSON is parsed once), when its JSON
   * states a manifest's media type (no listing descriptor can change what it is then).
   */
  node?: ManifestNode;
}

/** JSON with `schemaVersion: 2`: could be a manifest, so it waits for the graph instead of being handed on as a blob. */
function mayBeManifest(digest: string, bytes: Buffer): HeldBlob | undefined {
  if (bytes[0] !== 0x7b /* { */) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if ((json as { schemaVersion?: unknown } | null)?.schemaVersion !== 2) return undefined;
  const { mediaType } = json as { mediaType?: unknown };
  if (typeof mediaType !== "string" || !mediaType) return { bytes };
  try {
    return { bytes, node: manifestNodeOfJson(json, bytes, { digest }, { what: digest, invalid: "ARCHIVE_INVALID" }) };
  } catch {
    return { bytes }; // not a manifest: should the graph name it as one, it is parsed again and refused in words
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** zlib's words ("incorrect header check") said as what is wrong with the file. */
function gunzipError(name: string, error: Error & { code?: string }): Error {
  if (error.code === "Z_DATA_ERROR" && /incorrect header check/.test(error.message)) {
    return new ArchiveError(
      "ARCHIVE_INVALID",
      `${name} is not a gzip archive (expected a .tar.gz written by acr-cold-archive)`,
      { cause: error },
    );
  }
  if (error.code?.startsWith("Z_"))
    return new ArchiveError("ARCHIVE_INVALID", `${name} is damaged or truncated (gunzip: ${error.message})`, {
      cause: error,
    });
  return error;
}

function tarError(name: string, error: unknown): unknown {
  const message = (error as Error)?.message ?? "";
  if (/tar header|Unexpected end of data/i.test(message)) {
    return new ArchiveError(
      "ARCHIVE_INVALID",
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

/** The whole of a small entry, refused (ARCHIVE_INVALID) as soon as it passes `maxBytes`. */
async function readAll(source: AsyncIterable<unknown>, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new ArchiveError("ARCHIVE_INVALID", `${what} is larger than ${maxBytes / 1024 / 1024} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
