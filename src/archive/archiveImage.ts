// Archives ONE image: resolve its digest, skip it when already archived, otherwise stream it from the registry
// into a block blob committed in Archive tier (never overwriting), then write the sidecar, tag markers and,
// for an orchestrated run, the result blob. What the worker job and the CLI both run.
//
// A sidecar describes the committed archive, so only that archive's writer writes it, or a rebuild from the archive
// itself (its metadata: sha256, sizes, tags, external layers; plus the manifests and config re-read from the registry)
// when the writer died between commit and sidecar. A worker that loses the commit race (409) never writes its own.
import type { BlobRequestConditions, BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { ArchiveError, describeError, isArchiveError } from "../errors.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../registry/reference.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { archiveBlobName, resultBlobName, sidecarBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { writeTagMarker } from "../storage/tagMarkers.js";
import { BlockUploadStream } from "../storage/blockUploadStream.js";
import { ensureContainer, storageErrorCode } from "../storage/blobServiceClient.js";
import { TOOL } from "../version.js";
import { getConfigPlatform, writeImageArchive } from "./imageArchive.js";
import { planImageArchive, type ImageArchivePlan } from "./imagePlan.js";
import { buildSidecar, type ArchiveSidecar } from "./sidecar.js";

export interface ArchiveImageRequest {
  image: string;
  blobContainer: string;
  blobBaseName?: string;
  runId?: string;
  /** The orchestration's attempt number: the result blob is per attempt (storage/blobNames.ts resultBlobName). */
  attemptId?: string;
  /** Other tags known to point at the same digest (the orchestrator's listing). */
  tags?: string[];
}

export type ArchiveStatus = "archived" | "already-archived" | "failed";

export interface ArchiveImageResult {
  status: ArchiveStatus;
  image: string;
  registry: string;
  repository: string;
  digest?: string;
  tags: string[];
  container: string;
  archiveBlob?: string;
  sidecarBlob?: string;
  /** Size and sha256 of the .tar.gz. */
  bytes?: number;
  sha256?: string;
  /**
   * Non-distributable (foreign) layers referenced by the image but left out of its archive because the registry does not
   * have them (listed in the sidecar's `externalLayers`); 0 when the archive holds every layer.
   */
  externalLayers?: number;
  durationSeconds: number;
  error?: { code: string; message: string };
}

/** How the archive is written (PIGZ_LEVEL, UPLOAD_BLOCK_SIZE_MIB, UPLOAD_CONCURRENCY). */
export interface ArchiveTuning {
  /** gzip level for what is not already compressed; compressed layers are stored. */
  gzipLevel: number;
  blockSizeBytes: number;
  uploadConcurrency: number;
}

export interface ArchiveImageOptions {
  tuning: ArchiveTuning;
  abortSignal?: AbortSignal;
  /** Source bytes read, of the total to read; called often while an image streams. */
  onProgress?: (progress: { phase: "resolving" | "streaming" | "committing"; bytes: number; totalBytes: number }) => void;
  now?: () => Date;
}

export interface ArchiveImageDependencies {
  blobService: BlobServiceClient;
  /** One registry client per login server. */
  getRegistryClient: (registry: string) => RegistryClient;
}

export async function archiveImage(request: ArchiveImageRequest, deps: ArchiveImageDependencies, options: ArchiveImageOptions): Promise<ArchiveImageResult> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const ref = parseImageReference(request.image);
  const container = deps.blobService.getContainerClient(request.blobContainer);
  const base = { image: formatImageReference(ref), registry: ref.registry, repository: ref.repository, container: request.blobContainer };
  const tags = uniqueTags(ref, request.tags);
  let identity: ImageIdentity | undefined;
  try {
    options.onProgress?.({ phase: "resolving", bytes: 0, totalBytes: 0 });
    const client = deps.getRegistryClient(ref.registry);
    const digest = ref.digest ?? (await client.getManifestDigest(ref.repository, ref.tag!, opts(options)));
    if (!digest) throw new ArchiveError("REGISTRY_NOT_FOUND", `${base.image} not found in ${ref.registry}`, { statusCode: 404 });
    identity = { registry: ref.registry, repository: ref.repository, digest };
    const archiveBlob = request.blobBaseName ?? archiveBlobName(identity);
    const sidecarBlob = sidecarBlobName(archiveBlob);
    await ensureContainer(container, opts(options)).catch((error) => {
      throw storageError(`cannot create container ${request.blobContainer}`, error);
    });

    const existing = await readExistingArchive(container, archiveBlob, sidecarBlob, digest, options);
    const names = { container, containerName: request.blobContainer, archiveBlob, sidecarBlob, repository: ref.repository, digest };
    let status: ArchiveStatus = "already-archived";
    let outcome: { bytes: number; sha256: string; externalLayers: number };
    if (existing.sidecar) {
      outcome = describeSidecar(existing.sidecar);
    } else if (existing.archive) {
      // The archive was committed but its sidecar was not (a crash in between): rebuild it from that archive, no blob re-read.
      outcome = await finishCommittedArchive(client, names, { ...existing, archive: existing.archive }, tags, options, now);
    } else {
      const plan = await planImageArchive(client, ref.repository, digest, opts(options));
      const totalBytes = plan.blobs.reduce((n, b) => n + b.size, 0);
      const blob = container.getBlockBlobClient(archiveBlob);
      const upload = new BlockUploadStream(blob, {
        blockSizeBytes: options.tuning.blockSizeBytes,
        concurrency: options.tuning.uploadConcurrency,
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      });
      const written = await writeImageArchive(client, plan, upload, {
        tags,
        gzipLevel: options.tuning.gzipLevel,
        onSourceBytes: (bytes) => options.onProgress?.({ phase: "streaming", bytes, totalBytes }),
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      });
      options.onProgress?.({ phase: "committing", bytes: totalBytes, totalBytes });
      const gzipLevel = options.tuning.gzipLevel;
      const info = { digest, image: base.image, sha256: written.sha256, tarSize: written.tarSize, gzipLevel, tags, plan };
      const committed = await commitArchive(blob, upload.blockIds, info, options);
      if (committed) {
        status = "archived";
        outcome = { bytes: written.size, sha256: written.sha256, externalLayers: plan.external.length };
        const requested = ref.tag && { requestedTag: ref.tag };
        const createdAt = now();
        const sidecar = buildSidecar({ plan, archiveBlob, container: request.blobContainer, tags, gzipLevel, archive: written, createdAt, ...requested });
        await uploadSidecar(container, sidecarBlob, sidecar, options);
      } else {
        // Another worker committed the same image first. Its archive is the one, and so is its sidecar: ours (other tags, other
        // tarSize) would not describe it. Keep theirs; if it is not written yet, rebuild it from their archive, never from ours.
        const theirs = await readExistingArchive(container, archiveBlob, sidecarBlob, digest, options);
        if (theirs.sidecar) outcome = describeSidecar(theirs.sidecar);
        else if (theirs.archive) outcome = await finishCommittedArchive(client, names, { ...theirs, archive: theirs.archive }, tags, options, now);
        else throw new ArchiveError("STORAGE_ERROR", `${archiveBlob} was committed by another worker and is gone again`, { retryable: true });
      }
    }
    for (const tag of tags) await writeTagMarker(container, identity, archiveBlob, tag, opts(options)).catch((error) => {
      throw storageError(`cannot write the tag marker for ${tag}`, error);
    });
    const result: ArchiveImageResult = {
      status,
      ...base,
      digest,
      tags,
      archiveBlob,
      sidecarBlob,
      bytes: outcome.bytes,
      sha256: outcome.sha256,
      externalLayers: outcome.externalLayers,
      durationSeconds: seconds(started),
    };
    if (request.runId) await writeResult(container, resultBlobName(request.runId, identity, request.attemptId), result, options);
    return result;
  } catch (error) {
    const failure: ArchiveImageResult = { status: "failed", ...base, ...(identity && { digest: identity.digest }), tags, durationSeconds: seconds(started), error: errorSummary(error) };
    if (request.runId && identity && !options.abortSignal?.aborted) {
      await writeResult(container, resultBlobName(request.runId, identity, request.attemptId), failure, options).catch(() => undefined);
    }
    throw error;
  }
}

/** An archive committed under this name, as its blob properties and metadata tell (it cannot be read: Archive tier). */
interface CommittedArchive {
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

interface ExistingArchive {
  sidecar?: ArchiveSidecar;
  /** The ETag of a sidecar blob that exists but does not describe this archive (replaced only if still unchanged). */
  staleSidecarEtag?: string;
  archive?: CommittedArchive;
}

interface ArchiveNames {
  container: ContainerClient;
  containerName: string;
  archiveBlob: string;
  sidecarBlob: string;
  repository: string;
  digest: string;
}

/** What is already stored under this name. A name that holds another digest is a conflict, never overwritten. */
async function readExistingArchive(container: ContainerClient, archiveBlob: string, sidecarBlob: string, digest: string, options: ArchiveImageOptions): Promise<ExistingArchive> {
  const archiveProps = await container
    .getBlockBlobClient(archiveBlob)
    .getProperties(opts(options))
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${archiveBlob}`, error);
    });
  if (!archiveProps) return {};
  const metadata = archiveProps.metadata ?? {};
  if (metadata.sourcedigest !== digest) {
    // Another digest, or an archive this tool did not write (the old worker set no metadata): never overwritten.
    const holds = metadata.sourcedigest ? `already holds ${metadata.sourcedigest}` : "already holds an archive of unknown digest (not written by this tool)";
    throw new ArchiveError("ARCHIVE_CONFLICT", `${archiveBlob} ${holds}, not ${digest}; archives are never overwritten (use the default blob names, which include the digest)`);
  }
  const list = (value: string) => (value ? value.split(",") : []);
  const createdOn = archiveProps.createdOn ?? archiveProps.lastModified;
  const archive: CommittedArchive = {
    bytes: archiveProps.contentLength ?? 0,
    sha256: metadata.archivesha256 ?? "",
    tarSize: Number(metadata.tarsize ?? 0),
    gzipLevel: Number(metadata.gziplevel ?? 0),
    ...(metadata.tags !== undefined && { tags: list(metadata.tags) }),
    ...(metadata.externallayers !== undefined && { externalLayers: list(metadata.externallayers).map((hex) => `sha256:${hex}`) }),
    ...(createdOn && { createdOn }),
  };
  const read = await container
    .getBlockBlobClient(sidecarBlob)
    .download(0, undefined, opts(options))
    .then(async (response) => ({ etag: response.etag, text: await readText(response.readableStreamBody) }))
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${sidecarBlob}`, error);
    });
  let sidecar: Partial<ArchiveSidecar> | undefined;
  try {
    sidecar = read && (JSON.parse(read.text) as Partial<ArchiveSidecar>);
  } catch {
    sidecar = undefined;
  }
  // A sidecar that does not describe this archive (an old or foreign one) is rewritten from the archive.
  const current = sidecar?.source?.digest === digest && sidecar.archive?.size !== undefined ? (sidecar as ArchiveSidecar) : undefined;
  if (current) return { archive, sidecar: current };
  return { archive, ...(read?.etag && { staleSidecarEtag: read.etag }) };
}

function describeSidecar(sidecar: ArchiveSidecar): { bytes: number; sha256: string; externalLayers: number } {
  return { bytes: sidecar.archive.size, sha256: sidecar.archive.sha256, externalLayers: sidecar.externalLayers?.length ?? 0 };
}

/**
 * Writes the sidecar of an archive committed without one, from that archive: its metadata (sha256, sizes, tags, external
 * layers, creation time) and the manifests re-read from the registry (the plan, and the config for a single image's
 * platform). Conditional: a sidecar another worker writes meanwhile (the archive's writer) is kept, not overwritten.
 */
async function finishCommittedArchive(
  client: RegistryClient,
  names: ArchiveNames,
  existing: ExistingArchive & { archive: CommittedArchive },
  requestTags: string[],
  options: ArchiveImageOptions,
  now: () => Date,
): Promise<{ bytes: number; sha256: string; externalLayers: number }> {
  const committed = existing.archive;
  const external = committed.externalLayers && { externalLayers: committed.externalLayers };
  const plan = await planImageArchive(client, names.repository, names.digest, { ...opts(options), ...external });
  // A single image names its platform in its config only (an index names its children's): read it, as the writer did.
  const single = plan.images.length === 1 && !plan.defaultImage.platform;
  const configPlatform = single ? await getConfigPlatform(client, names.repository, plan.defaultImage.config, opts(options)) : undefined;
  const sidecar = buildSidecar({
    plan,
    archiveBlob: names.archiveBlob,
    container: names.containerName,
    tags: committed.tags ?? requestTags,
    gzipLevel: committed.gzipLevel,
    archive: { sha256: committed.sha256, size: committed.bytes, tarSize: committed.tarSize, ...(configPlatform && { configPlatform }) },
    createdAt: committed.createdOn ?? now(),
  });
  const unchanged = existing.staleSidecarEtag ? { ifMatch: existing.staleSidecarEtag } : { ifNoneMatch: "*" };
  await uploadSidecar(names.container, names.sidecarBlob, sidecar, options, unchanged);
  return { bytes: committed.bytes, sha256: committed.sha256, externalLayers: plan.external.length };
}

/** Commits in Archive tier with If-None-Match: *. Resolves false when the blob already existed (409). */
async function commitArchive(
  blob: ReturnType<ContainerClient["getBlockBlobClient"]>,
  blockIds: string[],
  info: { digest: string; image: string; sha256: string; tarSize: number; gzipLevel: number; tags: string[]; plan: ImageArchivePlan },
  options: ArchiveImageOptions,
): Promise<boolean> {
  // What a sidecar rebuilt from this archive needs and the registry cannot tell later: whole tags only (a rebuild lists
  // those that fit), and the external layers' digests (when they fit; otherwise a rebuild asks the registry).
  const external = info.plan.external.map((d) => d.digest.slice("sha256:".length)).join(",");
  try {
    await blob.commitBlockList(blockIds, {
      tier: "Archive",
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/gzip" },
      // Metadata makes a listing (`--include m`) show what each archive is without reading anything.
      metadata: {
        sourcedigest: info.digest,
        sourceimage: info.image,
        archivesha256: info.sha256,
        tarsize: String(info.tarSize),
        gziplevel: String(info.gzipLevel),
        tags: joinWithin(info.tags, 4096),
        format: info.plan.format,
        ...(external.length <= 2048 && { externallayers: external }),
        tool: `${TOOL.name}/${TOOL.version}`,
      },
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    return true;
  } catch (error) {
    const { statusCode, code } = storageErrorCode(error);
    if (statusCode === 409 && code === "BlobAlreadyExists") return false;
    throw storageError(`cannot commit ${blob.name}`, error);
  }
}

/** Writes the sidecar; with `conditions`, only if the blob is still as seen (a 409/412 means another writer's is kept). */
async function uploadSidecar(
  container: ContainerClient,
  name: string,
  sidecar: ArchiveSidecar,
  options: ArchiveImageOptions,
  conditions?: BlobRequestConditions,
): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`);
  await container
    .getBlockBlobClient(name)
    .uploadData(body, {
      tier: "Cool",
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: { sourcedigest: sidecar.source.digest },
      ...(conditions && { conditions }),
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    })
    .catch((error) => {
      const { statusCode } = storageErrorCode(error);
      if (conditions && (statusCode === 409 || statusCode === 412)) return;
      throw storageError(`cannot write sidecar ${name}`, error);
    });
}

async function readText(body: NodeJS.ReadableStream | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  if (body) for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** Whole values, comma-separated, as many as fit in `max` characters (a blob's metadata is 8 KiB in all). */
function joinWithin(values: string[], max: number): string {
  let joined = "";
  for (const value of values) {
    const next = joined ? `${joined},${value}` : value;
    if (next.length > max) break;
    joined = next;
  }
  return joined;
}

async function writeResult(container: ContainerClient, name: string, result: ArchiveImageResult, options: ArchiveImageOptions): Promise<void> {
  await container
    .getBlockBlobClient(name)
    .uploadData(Buffer.from(JSON.stringify(result)), { blobHTTPHeaders: { blobContentType: "application/json" }, ...(options.abortSignal && { abortSignal: options.abortSignal }) })
    .catch((error) => {
      throw storageError(`cannot write the result blob`, error);
    });
}

function uniqueTags(ref: ImageReference, more: string[] = []): string[] {
  return [...new Set([...(ref.tag ? [ref.tag] : []), ...more])];
}

function storageError(message: string, error: unknown): ArchiveError {
  if (isArchiveError(error)) return error;
  const { statusCode, code } = storageErrorCode(error);
  return new ArchiveError("STORAGE_ERROR", `${message}: ${code ?? describeError(error)}${statusCode ? ` (HTTP ${statusCode})` : ""}`, { cause: error, ...(statusCode && { statusCode }) });
}

function errorSummary(error: unknown): { code: string; message: string } {
  return isArchiveError(error) ? { code: error.code, message: error.message } : { code: "INTERNAL", message: describeError(error) };
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 10) / 100;
}

function opts(options: { abortSignal?: AbortSignal }): { abortSignal?: AbortSignal } {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}
