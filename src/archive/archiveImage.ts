// Archives ONE image: resolve its digest, skip it when already archived, otherwise stream it from the registry
// into a block blob committed in Archive tier (never overwriting), then write the sidecar, tag markers and,
// for an orchestrated run, the result blob. What the worker job and the CLI both run.
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { ArchiveError, describeError, isArchiveError } from "../errors.js";
import type { ArchiveTuning } from "../config.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../registry/reference.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { archiveBlobName, resultBlobName, sidecarBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { writeTagMarker } from "../storage/tagMarkers.js";
import { BlockUploadStream } from "../storage/blockUploadStream.js";
import { ensureContainer, storageErrorCode } from "../storage/blobServiceClient.js";
import { TOOL } from "../version.js";
import { writeImageArchive } from "./imageArchive.js";
import { planImageArchive } from "./imagePlan.js";
import { buildSidecar, type ArchiveSidecar } from "./sidecar.js";

export interface ArchiveImageRequest {
  image: string;
  blobContainer: string;
  blobBaseName?: string;
  runId?: string;
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
  durationSeconds: number;
  error?: { code: string; message: string };
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
    let status: ArchiveStatus;
    let archive: { bytes: number; sha256: string };
    if (existing.sidecar) {
      status = "already-archived";
      archive = { bytes: existing.sidecar.archive.size, sha256: existing.sidecar.archive.sha256 };
    } else {
      const plan = await planImageArchive(client, ref.repository, digest, opts(options));
      if (existing.archive) {
        // The archive was committed but its sidecar was not (a crash in between): finish the job without re-reading blobs.
        status = "already-archived";
        archive = existing.archive;
        const sidecar = buildSidecar({ plan, archiveBlob, container: request.blobContainer, tags, gzipLevel: existing.archive.gzipLevel, archive: { sha256: archive.sha256, size: archive.bytes, tarSize: existing.archive.tarSize }, createdAt: now(), ...(ref.tag && { requestedTag: ref.tag }) });
        await uploadSidecar(container, sidecarBlob, sidecar, options);
      } else {
        const totalBytes = plan.blobs.reduce((n, b) => n + b.size, 0);
        const blob = container.getBlockBlobClient(archiveBlob);
        const upload = new BlockUploadStream(blob, { blockSizeBytes: options.tuning.blockSizeBytes, concurrency: options.tuning.uploadConcurrency, ...(options.abortSignal && { abortSignal: options.abortSignal }) });
        const written = await writeImageArchive(client, plan, upload, {
          tags,
          gzipLevel: options.tuning.gzipLevel,
          onSourceBytes: (bytes) => options.onProgress?.({ phase: "streaming", bytes, totalBytes }),
          ...(options.abortSignal && { abortSignal: options.abortSignal }),
        });
        options.onProgress?.({ phase: "committing", bytes: totalBytes, totalBytes });
        const committed = await commitArchive(blob, upload.blockIds, { digest, image: base.image, sha256: written.sha256, tarSize: written.tarSize, gzipLevel: options.tuning.gzipLevel, tags }, options);
        status = committed ? "archived" : "already-archived";
        archive = { bytes: written.size, sha256: written.sha256 };
        if (!committed) {
          // Another worker committed the same image first: keep theirs, check it is this digest.
          const theirs = await readExistingArchive(container, archiveBlob, sidecarBlob, digest, options);
          if (theirs.archive) archive = theirs.archive;
        }
        const sidecar = buildSidecar({ plan, archiveBlob, container: request.blobContainer, tags, gzipLevel: options.tuning.gzipLevel, archive: { ...written, sha256: archive.sha256, size: archive.bytes }, createdAt: now(), ...(ref.tag && { requestedTag: ref.tag }) });
        await uploadSidecar(container, sidecarBlob, sidecar, options);
      }
    }
    for (const tag of tags) await writeTagMarker(container, identity, archiveBlob, tag, opts(options)).catch((error) => {
      throw storageError(`cannot write the tag marker for ${tag}`, error);
    });
    const result: ArchiveImageResult = { status, ...base, digest, tags, archiveBlob, sidecarBlob, bytes: archive.bytes, sha256: archive.sha256, durationSeconds: seconds(started) };
    if (request.runId) await writeResult(container, request.runId, identity, result, options);
    return result;
  } catch (error) {
    const failure: ArchiveImageResult = { status: "failed", ...base, ...(identity && { digest: identity.digest }), tags, durationSeconds: seconds(started), error: errorSummary(error) };
    if (request.runId && identity && !options.abortSignal?.aborted) {
      await writeResult(container, request.runId, identity, failure, options).catch(() => undefined);
    }
    throw error;
  }
}

interface ExistingArchive {
  sidecar?: ArchiveSidecar;
  archive?: { bytes: number; sha256: string; tarSize: number; gzipLevel: number };
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
  const archive = { bytes: archiveProps.contentLength ?? 0, sha256: metadata.archivesha256 ?? "", tarSize: Number(metadata.tarsize ?? 0), gzipLevel: Number(metadata.gziplevel ?? 0) };
  const sidecar = await container
    .getBlockBlobClient(sidecarBlob)
    .downloadToBuffer(0, undefined, opts(options))
    .then((buf) => JSON.parse(buf.toString("utf8")) as Partial<ArchiveSidecar>)
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404 || error instanceof SyntaxError) return undefined;
      throw storageError(`cannot read ${sidecarBlob}`, error);
    });
  // A sidecar that does not describe this archive (an old or foreign one) is rewritten from the archive.
  const current = sidecar?.source?.digest === digest && sidecar.archive?.size !== undefined ? (sidecar as ArchiveSidecar) : undefined;
  return { archive, ...(current && { sidecar: current }) };
}

/** Commits in Archive tier with If-None-Match: *. Resolves false when the blob already existed (409). */
async function commitArchive(
  blob: ReturnType<ContainerClient["getBlockBlobClient"]>,
  blockIds: string[],
  info: { digest: string; image: string; sha256: string; tarSize: number; gzipLevel: number; tags: string[] },
  options: ArchiveImageOptions,
): Promise<boolean> {
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
        tags: info.tags.join(",").slice(0, 4096),
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

async function uploadSidecar(container: ContainerClient, name: string, sidecar: ArchiveSidecar, options: ArchiveImageOptions): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`);
  await container
    .getBlockBlobClient(name)
    .uploadData(body, {
      tier: "Cool",
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: { sourcedigest: sidecar.source.digest },
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    })
    .catch((error) => {
      throw storageError(`cannot write sidecar ${name}`, error);
    });
}

async function writeResult(container: ContainerClient, runId: string, identity: ImageIdentity, result: ArchiveImageResult, options: ArchiveImageOptions): Promise<void> {
  await container
    .getBlockBlobClient(resultBlobName(runId, identity))
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
