// Every read and write of one image's blobs: its archive (staged blocks, one conditional commit in Archive tier, its
// metadata), its sidecar and a run's per-attempt result blob, and the "already archived?" answers read from them.
// Names come from blobNames.ts, metadata from blobMetadata.ts; every failure is STORAGE_ERROR (storageError.ts).
import type {
  BlobRequestConditions,
  ContainerClient,
  ContainerFindBlobsByTagsSegmentResponse,
  ContainerListBlobFlatSegmentResponse,
} from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { TOOL } from "../version.js";
import {
  archiveBlobMetadata,
  parseArchiveBlobMetadata,
  sidecarBlobMetadata,
  type ArchiveBlobMetadata,
} from "./blobMetadata.js";
import {
  archiveBlobName,
  parseArchiveBlobName,
  repositoryArchivesPrefix,
  isReferrersSupplementOf,
  resultBlobName,
  sidecarBlobName,
  type ImageIdentity,
} from "./blobNames.js";
import { ensureContainer } from "./blobServiceClient.js";
import { archiveIndexTags, type ArchiveIndexFields } from "./indexTags.js";
import { BlockUploadStream, type BlockUploadStreamOptions } from "./blockUploadStream.js";
import { readJsonBlob, writeJsonBlob } from "./jsonBlob.js";
import { storageError, storageErrorCode } from "./storageError.js";

export interface ArchiveStoreOptions {
  abortSignal?: AbortSignal;
}

/** An archive committed under a name, as its properties and metadata tell (it cannot be read: Archive tier). */
export interface CommittedArchive {
  /** The digest its metadata names; undefined for an archive this tool did not write (the old worker set no metadata). */
  sourceDigest?: string;
  bytes: number;
  sha256: string;
  tarSize: number;
  gzipLevel: number;
  /** The tags its index.json names, from metadata (undefined for an archive whose metadata has none). */
  tags?: string[];
  /** Digests of the layers it left out, from metadata (undefined: not recorded, ask the registry). */
  externalLayers?: string[];
  createdOn?: Date;
}

/**
 * A sidecar blob as stored: its ETag, and its JSON (undefined when the body is not JSON). The store knows of a sidecar
 * only what it files it by (its source digest); its shape is the archive's (archive/sidecar.ts ArchiveSidecar).
 */
export interface StoredSidecar<T extends object = Record<string, unknown>> {
  etag?: string;
  sidecar?: Partial<T>;
}

/** What the store reads of a sidecar it writes: the digest it goes into the blob's metadata under. */
export interface SidecarDocument {
  source: { digest: string };
}

/** What an archive's commit records in its metadata (the tool's name and version are added). */
export type ArchiveCommitMetadata = Omit<ArchiveBlobMetadata, "tool">;

/** What an archive's (or supplement's) commit indexes it by (storage/indexTags.ts): its identity, size, time and run. */
export interface CommitArchiveOptions extends ArchiveStoreOptions {
  index: ArchiveIndexFields;
}

export interface UploadSidecarOptions extends ArchiveStoreOptions {
  /** Write only if the blob is still as seen: a 409/412 then means another writer's sidecar is kept, not an error. */
  conditions?: BlobRequestConditions;
}

/** Already archived? What a run's listing and an archiveImage orchestration learn without reading an archive. */
export interface ArchivedImageInfo {
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

/** Creates the archive container if it is missing (see ensureContainer). */
export async function ensureArchiveContainer(
  container: ContainerClient,
  options: ArchiveStoreOptions = {},
): Promise<void> {
  await ensureContainer(container, abortOnly(options)).catch((error) => {
    throw storageError(`cannot create container ${container.containerName}`, error);
  });
}

/** The archive committed under this name, or undefined when there is none. */
export async function getCommittedArchive(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions = {},
): Promise<CommittedArchive | undefined> {
  const props = await container
    .getBlockBlobClient(archiveBlob)
    .getProperties(abortOnly(options))
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${archiveBlob}`, error);
    });
  if (!props) return undefined;
  const metadata = parseArchiveBlobMetadata(props.metadata);
  const createdOn = props.createdOn ?? props.lastModified;
  return {
    ...(metadata.sourceDigest && { sourceDigest: metadata.sourceDigest }),
    bytes: props.contentLength ?? 0,
    sha256: metadata.archiveSha256 ?? "",
    tarSize: metadata.tarSize ?? 0,
    gzipLevel: metadata.gzipLevel ?? 0,
    ...(metadata.tags && { tags: metadata.tags }),
    ...(metadata.externalLayers && { externalLayers: metadata.externalLayers }),
    ...(createdOn && { createdOn }),
  };
}

/** The sidecar stored under this name, or undefined when there is none. */
export async function getSidecar<T extends object = Record<string, unknown>>(
  container: ContainerClient,
  sidecarBlob: string,
  options: ArchiveStoreOptions = {},
): Promise<StoredSidecar<T> | undefined> {
  const read = await container
    .getBlockBlobClient(sidecarBlob)
    .download(0, undefined, abortOnly(options))
    .then(async (response) => ({
      etag: response.etag,
      text: await readText(response.readableStreamBody, MAX_SIDECAR_BYTES, sidecarBlob),
    }))
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${sidecarBlob}`, error);
    });
  if (!read) return undefined;
  let sidecar: Partial<T> | undefined;
  try {
    sidecar = JSON.parse(read.text) as Partial<T>;
  } catch {
    sidecar = undefined;
  }
  return { ...(read.etag && { etag: read.etag }), ...(sidecar && { sidecar }) };
}

/** A Writable that stages the archive's blocks under this name; nothing is visible until commitArchive. */
export function createArchiveUpload(
  container: ContainerClient,
  archiveBlob: string,
  options: BlockUploadStreamOptions,
): BlockUploadStream {
  return new BlockUploadStream(container.getBlockBlobClient(archiveBlob), options);
}

/**
 * Commits the staged blocks in Archive tier with If-None-Match: *, with its blob index tags in the same request (a
 * committed archive is never without them). Resolves false when the blob already existed (409).
 */
export async function commitArchive(
  container: ContainerClient,
  archiveBlob: string,
  blockIds: string[],
  metadata: ArchiveCommitMetadata,
  options: CommitArchiveOptions,
): Promise<boolean> {
  try {
    await container.getBlockBlobClient(archiveBlob).commitBlockList(blockIds, {
      tier: "Archive",
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/gzip" },
      metadata: archiveBlobMetadata({ ...metadata, tool: `${TOOL.name}/${TOOL.version}` }),
      tags: archiveIndexTags(options.index),
      ...abortOnly(options),
    });
    return true;
  } catch (error) {
    const { statusCode, code } = storageErrorCode(error);
    if (statusCode === 409 && code === "BlobAlreadyExists") return false;
    throw storageError(`cannot commit ${archiveBlob}`, error);
  }
}

/** Writes the sidecar in Cool tier (readable, unlike its archive). */
export async function uploadSidecar(
  container: ContainerClient,
  sidecarBlob: string,
  sidecar: SidecarDocument,
  options: UploadSidecarOptions = {},
): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`);
  const { conditions } = options;
  await container
    .getBlockBlobClient(sidecarBlob)
    .uploadData(body, {
      tier: "Cool",
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: sidecarBlobMetadata(sidecar.source.digest),
      ...(conditions && { conditions }),
      ...abortOnly(options),
    })
    .catch((error) => {
      const { statusCode } = storageErrorCode(error);
      if (conditions && (statusCode === 409 || statusCode === 412)) return;
      throw storageError(`cannot write sidecar ${sidecarBlob}`, error);
    });
}

/** The worker's result for one attempt of one image (storage/blobNames.ts resultBlobName), read by the orchestration. */
export async function writeWorkerResult(
  container: ContainerClient,
  runId: string,
  image: ImageIdentity,
  attemptId: string | undefined,
  result: object,
  options: ArchiveStoreOptions = {},
): Promise<void> {
  await writeJsonBlob(container, resultBlobName(runId, image, attemptId), result, abortOnly(options)).catch((error) => {
    throw storageError(`cannot write the result blob`, error);
  });
}

/** The result a worker wrote, as JSON of the caller's type (archive/archiveImage.ts ArchiveImageResult). */
export async function readWorkerResult<T>(
  container: ContainerClient,
  runId: string,
  image: ImageIdentity,
  attemptId?: string,
): Promise<T | undefined> {
  return readJsonBlob<T>(container, resultBlobName(runId, image, attemptId));
}

/** Already archived? (the sidecar exists for this digest) — the check an archiveImage orchestration starts with. */
export async function getArchivedImageInfo(
  container: ContainerClient,
  image: ImageIdentity,
): Promise<ArchivedImageInfo> {
  const archive = archiveBlobName(image);
  const sidecarExists = await container.getBlockBlobClient(sidecarBlobName(archive)).exists();
  if (!sidecarExists) return { archived: false };
  const props = await container
    .getBlockBlobClient(archive)
    .getProperties()
    .catch(() => undefined);
  if (!props) return { archived: false };
  const { archiveSha256 } = parseArchiveBlobMetadata(props.metadata);
  return { archived: true, bytes: props.contentLength ?? 0, ...(archiveSha256 && { sha256: archiveSha256 }) };
}

/**
 * The referrers supplements an archive's sidecar records (refreshReferrers), oldest first: what a restore pushes after
 * the archive. Names that are not this archive's supplements are left out (a sidecar is data, not a command).
 */
export async function listReferrersSupplements(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions = {},
): Promise<string[]> {
  const stored = await getSidecar<{ supplements?: { archiveBlob?: unknown }[] }>(
    container,
    sidecarBlobName(archiveBlob),
    options,
  );
  const supplements = Array.isArray(stored?.sidecar?.supplements) ? stored.sidecar.supplements : [];
  const names = supplements.map((s) => s?.archiveBlob).filter((n): n is string => typeof n === "string");
  return [...new Set(names.filter((n) => isReferrersSupplementOf(n, archiveBlob)))];
}

/** Digests of one repository that have an archive, from one prefix listing (with metadata: no reads). */
export async function listArchivedDigests(
  container: ContainerClient,
  registry: string,
  repository: string,
): Promise<Map<string, ArchivedImageInfo>> {
  const found = new Map<string, { archive?: { bytes: number; sha256?: string }; sidecar: boolean }>();
  try {
    for await (const blob of container.listBlobsFlat({
      prefix: repositoryArchivesPrefix(registry, repository),
      includeMetadata: true,
    })) {
      const parsed = parseArchiveBlobName(blob.name);
      if (!parsed) continue;
      const entry = found.get(parsed.digest) ?? { sidecar: false };
      if (parsed.kind === "sidecar") entry.sidecar = true;
      else {
        const { archiveSha256 } = parseArchiveBlobMetadata(blob.metadata);
        entry.archive = { bytes: blob.properties.contentLength ?? 0, ...(archiveSha256 && { sha256: archiveSha256 }) };
      }
      found.set(parsed.digest, entry);
    }
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 404) throw error; // no container yet: nothing archived
  }
  const result = new Map<string, ArchivedImageInfo>();
  for (const [digest, entry] of found) {
    // Archived means the sidecar exists: an archive without one is finished by the worker (no blob re-read).
    const { archive } = entry;
    const archived = entry.sidecar && archive !== undefined;
    result.set(digest, {
      archived,
      ...(archive && { bytes: archive.bytes }),
      ...(archive?.sha256 && { sha256: archive.sha256 }),
    });
  }
  return result;
}

/** A blob a Find Blobs by Tags answered: its name, and the tags its expression named (Azure returns only those). */
export interface TaggedBlob {
  name: string;
  tags: Record<string, string>;
}

export interface BlobPageOptions extends ArchiveStoreOptions {
  /** Where the previous page ended (the service's marker); undefined: the first page. */
  continuationToken?: string;
  maxPageSize: number;
}

/** One page of Find Blobs by Tags in the container (an expression from storage/indexTags.ts tagExpression). */
export async function findBlobsByIndexTags(
  container: ContainerClient,
  where: string,
  options: BlobPageOptions,
): Promise<{ blobs: TaggedBlob[]; continuationToken?: string }> {
  try {
    const pages = container.findBlobsByTags(where, abortOnly(options)).byPage({
      maxPageSize: options.maxPageSize,
      ...(options.continuationToken && { continuationToken: options.continuationToken }),
    });
    const page = (await pages.next()).value as ContainerFindBlobsByTagsSegmentResponse | undefined;
    if (!page) return { blobs: [] };
    const blobs = page.blobs.map((b) => ({ name: b.name, tags: { ...(b.tags ?? {}) } }));
    return { blobs, ...(page.continuationToken && { continuationToken: page.continuationToken }) };
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return { blobs: [] }; // no container yet: nothing archived
    throw storageError(`cannot search the index tags of ${container.containerName}`, error);
  }
}

/** A blob's index tags; undefined when the blob does not exist. */
export async function getIndexTags(
  container: ContainerClient,
  blob: string,
  options: ArchiveStoreOptions = {},
): Promise<Record<string, string> | undefined> {
  try {
    return { ...(await container.getBlockBlobClient(blob).getTags(abortOnly(options))).tags };
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return undefined;
    throw storageError(`cannot read the index tags of ${blob}`, error);
  }
}

/**
 * Replaces a blob's index tags (allowed in Archive tier; the blob's ETag and last-modified time do not change).
 * (Azure also takes an `x-ms-if-tags` condition here; Azurite 3.35 ignores it on Set Blob Tags, so nothing relies on it.)
 */
export async function setIndexTags(
  container: ContainerClient,
  blob: string,
  tags: Record<string, string>,
  options: ArchiveStoreOptions = {},
): Promise<void> {
  try {
    await container.getBlockBlobClient(blob).setTags(tags, abortOnly(options));
  } catch (error) {
    throw storageError(`cannot set the index tags of ${blob}`, error);
  }
}

/** A listed blob with what a backfill reads of it without a request of its own: size, metadata, creation, tags. */
export interface ListedBlob {
  name: string;
  bytes: number;
  createdOn?: Date;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** One page of the blobs under a prefix, with metadata and index tags. */
export async function listBlobsWithIndexTags(
  container: ContainerClient,
  prefix: string,
  options: BlobPageOptions,
): Promise<{ blobs: ListedBlob[]; continuationToken?: string }> {
  try {
    const pages = container
      .listBlobsFlat({ prefix, includeMetadata: true, includeTags: true, ...abortOnly(options) })
      .byPage({
        maxPageSize: options.maxPageSize,
        ...(options.continuationToken && { continuationToken: options.continuationToken }),
      });
    const page = (await pages.next()).value as ContainerListBlobFlatSegmentResponse | undefined;
    if (!page) return { blobs: [] };
    const blobs = page.segment.blobItems.map((b) => {
      const createdOn = b.properties.createdOn ?? b.properties.lastModified;
      return {
        name: b.name,
        bytes: b.properties.contentLength ?? 0,
        ...(createdOn && { createdOn }),
        metadata: { ...(b.metadata ?? {}) },
        tags: { ...(b.tags ?? {}) },
      };
    });
    return { blobs, ...(page.continuationToken && { continuationToken: page.continuationToken }) };
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return { blobs: [] };
    throw storageError(`cannot list ${prefix} in ${container.containerName}`, error);
  }
}

// A sidecar is a few KB (1,000 tags and every layer's digest stay far below this): anything larger is not ours.
const MAX_SIDECAR_BYTES = 16 * 1024 * 1024;

async function readText(body: NodeJS.ReadableStream | undefined, maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > maxBytes)
        throw new ArchiveError(
          "STORAGE_ERROR",
          `${what} is larger than ${maxBytes / 1024 / 1024} MiB: not a sidecar of this tool`,
          { retryable: false },
        );
      chunks.push(buffer);
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

function abortOnly(options: ArchiveStoreOptions): ArchiveStoreOptions {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}
