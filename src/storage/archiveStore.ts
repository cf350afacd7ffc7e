// Every read and write of one image's blobs: its archive (staged blocks, one conditional commit in Hot tier, read back
// and verified by its writer, its verification recorded in its metadata, then moved to Archive tier), its sidecar and a
// run's per-attempt result blob, and the "already archived?" answers read from them.
// Names come from blobNames.ts, metadata from blobMetadata.ts; every failure is STORAGE_ERROR (storageError.ts).
import type { Readable } from "node:stream";
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
  parseVerificationMetadata,
  sidecarBlobMetadata,
  verificationMetadata,
  type ArchiveBlobMetadata,
  type ArchiveFormat,
  type ArchiveVerificationMetadata,
} from "./blobMetadata.js";
import {
  archiveBlobName,
  parseArchiveBlobName,
  repositoryArchivesPrefix,
  isReferrersSupplementOf,
  resultBlobName,
  sidecarBlobName,
  verificationRecordBlobName,
  type ImageIdentity,
} from "./blobNames.js";
import { ensureContainer } from "./blobServiceClient.js";
import { archiveIndexTags, CATALOG_STATES, type ArchiveIndexFields } from "./indexTags.js";
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
  /** Its format, from metadata. */
  format?: ArchiveFormat;
  createdOn?: Date;
  /** What a read, a verification record or a delete is held to: this blob as it is now. */
  etag: string;
  /** Its access tier: `Archive`, or an online tier while its writer verifies it (or a crash left it there). */
  accessTier?: string;
  /** Its verification, when it was read back and verified before it went to Archive tier (metadata). */
  verification?: ArchiveVerificationMetadata;
}

/** A commit that took place: the archive's ETag (what its verification reads, records and may delete). */
export interface CommittedBlob {
  etag: string;
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

/** What the store reads of a verification record it writes: the digest and the verification, into its metadata. */
export interface VerificationRecordDocument {
  source: { digest: string };
  verification: ArchiveVerificationMetadata;
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
  /** Its archive was read back and verified: its metadata or its verification record says so. */
  verified?: true;
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
  const verification = parseVerificationMetadata(props.metadata);
  const createdOn = props.createdOn ?? props.lastModified;
  return {
    ...(metadata.sourceDigest && { sourceDigest: metadata.sourceDigest }),
    bytes: props.contentLength ?? 0,
    sha256: metadata.archiveSha256 ?? "",
    tarSize: metadata.tarSize ?? 0,
    gzipLevel: metadata.gzipLevel ?? 0,
    ...(metadata.tags && { tags: metadata.tags }),
    ...(metadata.externalLayers && { externalLayers: metadata.externalLayers }),
    ...(metadata.format && { format: metadata.format }),
    ...(createdOn && { createdOn }),
    etag: props.etag ?? "",
    ...(props.accessTier && { accessTier: props.accessTier }),
    ...(verification && { verification }),
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
 * Commits the staged blocks with If-None-Match: * (never over another archive) in Hot tier, with its blob index tags in
 * the same request (a committed archive is never without them): online, so that its writer reads it back and verifies
 * it before it moves it to Archive tier (sealVerifiedArchive), or deletes it (deleteUnverifiedArchive). Hot, not Cool:
 * Hot has no early-deletion period and no per-GB read charge, and the archive stays there for the minutes its
 * verification takes. Resolves undefined when the blob already existed (409).
 */
export async function commitArchive(
  container: ContainerClient,
  archiveBlob: string,
  blockIds: string[],
  metadata: ArchiveCommitMetadata,
  options: CommitArchiveOptions,
): Promise<CommittedBlob | undefined> {
  try {
    const committed = await container.getBlockBlobClient(archiveBlob).commitBlockList(blockIds, {
      tier: "Hot",
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/gzip" },
      metadata: archiveBlobMetadata({ ...metadata, tool: `${TOOL.name}/${TOOL.version}` }),
      tags: archiveIndexTags(options.index),
      ...abortOnly(options),
    });
    return { etag: committed.etag ?? "" };
  } catch (error) {
    const { statusCode, code } = storageErrorCode(error);
    if (statusCode === 409 && code === "BlobAlreadyExists") return undefined;
    throw storageError(`cannot commit ${archiveBlob}`, error);
  }
}

/** The committed archive's bytes as storage holds them now, If-Match its ETag (it must be the blob that was committed). */
export async function openCommittedArchive(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions & { etag: string },
): Promise<Readable> {
  const download = await container
    .getBlockBlobClient(archiveBlob)
    .download(0, undefined, { conditions: { ifMatch: options.etag }, ...abortOnly(options) })
    .catch((error) => {
      throw storageError(`cannot read ${archiveBlob} back`, error);
    });
  const body = download.readableStreamBody as Readable | undefined;
  if (!body) throw new ArchiveError("STORAGE_ERROR", `${archiveBlob} has no body`, { retryable: true });
  return body;
}

/**
 * Records an archive's verification in its metadata (If-Match the ETag it was read with: the blob verified is the blob
 * recorded), then moves it to Archive tier, whose blobs' metadata cannot change. Another worker that verified the
 * same blob first (its record there: 412) is as good; anything else that changed it is an error.
 */
export async function sealVerifiedArchive(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions & { etag: string; verification: ArchiveVerificationMetadata },
): Promise<void> {
  const blob = container.getBlockBlobClient(archiveBlob);
  const abort = abortOnly(options);
  try {
    const props = await blob.getProperties({ conditions: { ifMatch: options.etag }, ...abort });
    await blob.setMetadata(
      { ...props.metadata, ...verificationMetadata(options.verification) },
      { conditions: { ifMatch: options.etag }, ...abort },
    );
  } catch (error) {
    const recorded =
      storageErrorCode(error).statusCode === 412 &&
      (await getCommittedArchive(container, archiveBlob, options).catch(() => undefined))?.verification;
    if (!recorded) throw storageError(`cannot record the verification of ${archiveBlob}`, error);
  }
  await moveToArchiveTier(container, archiveBlob, options);
  // The catalog's index tag says so too (index tags stay writable in Archive tier): `state=verified` finds it.
  try {
    const { tags } = await blob.getTags(abort);
    const { key, value } = CATALOG_STATES.verified;
    if (tags[key] !== value) await blob.setTags({ ...tags, [key]: value }, abort);
  } catch (error) {
    throw storageError(`cannot tag ${archiveBlob} verified`, error);
  }
}

/** Moves a verified archive (its verification is in its metadata) to Archive tier. */
export async function moveToArchiveTier(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions = {},
): Promise<void> {
  await container
    .getBlockBlobClient(archiveBlob)
    .setAccessTier("Archive", abortOnly(options))
    .catch((error) => {
      throw storageError(`cannot move ${archiveBlob} to Archive tier`, error);
    });
}

/**
 * Deletes a committed archive that failed its verification, If-Match the ETag it was committed (or found) with: it is
 * that writer's, unverified, and still online (no early-deletion charge). False when it is gone or has changed (another
 * worker verified it meanwhile: then it stays).
 */
export async function deleteUnverifiedArchive(
  container: ContainerClient,
  archiveBlob: string,
  etag: string,
): Promise<boolean> {
  try {
    await container.getBlockBlobClient(archiveBlob).delete({ conditions: { ifMatch: etag } });
    return true;
  } catch (error) {
    const { statusCode } = storageErrorCode(error);
    if (statusCode === 404 || statusCode === 412) return false;
    throw storageError(`cannot delete ${archiveBlob}`, error);
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

/**
 * Writes an archive's verification record (`<archive>.verification.json`, Cool), once: If-None-Match *, so the first
 * verification of its kind stands and is never rewritten. Resolves false when one was there already.
 */
export async function writeVerificationRecord(
  container: ContainerClient,
  archiveBlob: string,
  record: VerificationRecordDocument,
  options: ArchiveStoreOptions = {},
): Promise<boolean> {
  const name = verificationRecordBlobName(archiveBlob);
  const body = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  try {
    await container.getBlockBlobClient(name).uploadData(body, {
      tier: "Cool",
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: { ...sidecarBlobMetadata(record.source.digest), ...verificationMetadata(record.verification) },
      conditions: { ifNoneMatch: "*" },
      ...abortOnly(options),
    });
    return true;
  } catch (error) {
    const { statusCode } = storageErrorCode(error);
    if (statusCode === 409 || statusCode === 412) return false;
    throw storageError(`cannot write ${name}`, error);
  }
}

/** An archive's verification record as JSON of the caller's type (archive/verifyArchive.ts), or undefined. */
export async function getVerificationRecord<T extends object>(
  container: ContainerClient,
  archiveBlob: string,
  options: ArchiveStoreOptions = {},
): Promise<Partial<T> | undefined> {
  return (await getSidecar<T>(container, verificationRecordBlobName(archiveBlob), options))?.sidecar;
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
  const verified =
    parseVerificationMetadata(props.metadata) !== undefined ||
    (await container.getBlockBlobClient(verificationRecordBlobName(archive)).exists());
  return {
    archived: true,
    bytes: props.contentLength ?? 0,
    ...(archiveSha256 && { sha256: archiveSha256 }),
    ...(verified && { verified }),
  };
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
  const found = new Map<
    string,
    { archive?: { bytes: number; sha256?: string; verified: boolean }; sidecar: boolean; record?: boolean }
  >();
  try {
    for await (const blob of container.listBlobsFlat({
      prefix: repositoryArchivesPrefix(registry, repository),
      includeMetadata: true,
    })) {
      const parsed = parseArchiveBlobName(blob.name);
      if (!parsed) continue;
      const entry = found.get(parsed.digest) ?? { sidecar: false };
      if (parsed.kind === "sidecar") entry.sidecar = true;
      else if (parsed.kind === "verification") entry.record = parseVerificationMetadata(blob.metadata) !== undefined;
      else {
        const { archiveSha256 } = parseArchiveBlobMetadata(blob.metadata);
        const verified = parseVerificationMetadata(blob.metadata) !== undefined;
        entry.archive = {
          bytes: blob.properties.contentLength ?? 0,
          ...(archiveSha256 && { sha256: archiveSha256 }),
          verified,
        };
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
      ...((archive?.verified || entry.record) && { verified: true as const }),
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
