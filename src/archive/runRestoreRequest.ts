// The one code path behind the worker's restore mode and the CLI's `restore --from-blob`: a readable archive blob (its
// staging copy, or the archive in an online tier) streamed from storage into the target registry with the restore
// code (restoreArchive.ts): the archive's sha256 checked against its sidecar, every blob against its digest, children
// before the index, tags last; then the target's root digest is read back and compared.
import type { Readable } from "node:stream";
import type { BlobServiceClient } from "@azure/storage-blob";
import { ArchiveError, describeError, isArchiveError, type ErrorSummary } from "../errors.js";
import { SHA256_HEX } from "../registry/digest.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { getSidecar, writeWorkerResult } from "../storage/archiveStore.js";
import { archiveBlobIdentity, readableBlobName, sidecarBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { storageError, storageErrorCode } from "../storage/storageError.js";
import { restoreImageArchive, type RestoreLimits } from "./restoreArchive.js";
import { assertRestoreRequestInScope, restoreRequestSchema, type RestoreRequest } from "./restoreRequest.js";
import { workerRegistryClients, type WorkerConfig } from "./runArchiveRequest.js";
import type { RetryPolicy } from "../registry/transport.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";
import { parseOrThrow } from "../validation.js";
import type { ArchiveSidecar } from "./sidecar.js";

export interface RestoreImageResult {
  status: "restored" | "failed";
  archiveBlob: string;
  /** `registry/repository` the image was pushed into. */
  target: string;
  digest: string;
  tags: string[];
  /** The archive's size. */
  bytes?: number;
  blobsPushed?: number;
  blobsPresent?: number;
  bytesPushed?: number;
  manifests?: number;
  /** Referrers supplements pushed after the archive (referrers that arrived after it was written). */
  supplements?: number;
  durationSeconds: number;
  error?: ErrorSummary;
}

export interface RestoreFromBlobDependencies {
  blobService: BlobServiceClient;
  getRegistryClient: (registry: string) => RegistryClient;
}

export interface RestoreFromBlobOptions {
  abortSignal?: AbortSignal;
  /** What the restore of each archive holds in memory at most; default DEFAULT_RESTORE_LIMITS. */
  limits?: RestoreLimits;
  onBlob?: (event: { digest: string; size: number; pushed: boolean }) => void;
}

/** Restores one archive from storage; writes the result blob for an orchestrated run (runId). Throws on failure. */
export async function restoreFromBlob(
  request: RestoreRequest,
  deps: RestoreFromBlobDependencies,
  options: RestoreFromBlobOptions = {},
): Promise<RestoreImageResult> {
  const started = Date.now();
  const container = deps.blobService.getContainerClient(request.blobContainer);
  const { target } = request;
  // The image is the archive name's (the schema made sure it is one): its digest is what the target must answer.
  const identity = archiveIdentity(request.archiveBlob);
  const expectedDigest = identity.digest;
  const base = {
    archiveBlob: request.archiveBlob,
    target: `${target.registry}/${target.repository}`,
    digest: expectedDigest,
  };
  const abort = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  const limits = options.limits ? { limits: options.limits } : {};
  try {
    const sidecar = await readSidecar(container, request.archiveBlob, expectedDigest, abort);
    // Every supplement the request names must be one the sidecar records, with its sha256: checked before any push.
    const supplements = (request.supplements ?? []).map((supplement) => {
      const recorded = sidecar.supplements?.find((s) => s.archiveBlob === supplement.archiveBlob);
      if (!recorded)
        throw new ArchiveError(
          "INVALID_ARGUMENT",
          `${supplement.archiveBlob} is not a referrers supplement that the sidecar of ${request.archiveBlob} records`,
        );
      if (!SHA256_HEX.test(String(recorded.archive?.sha256)))
        throw new ArchiveError(
          "ARCHIVE_INVALID",
          `the sidecar of ${request.archiveBlob} does not record the sha256 of its supplement ${supplement.archiveBlob}`,
        );
      return { ...supplement, sha256: recorded.archive.sha256 };
    });
    const body = await downloadReadable(
      container,
      readableBlobName(request.archiveBlob, { fromStaging: request.fromStaging }),
      abort,
    );
    const client = deps.getRegistryClient(target.registry);
    const restored = await restoreImageArchive(body, client, target.repository, {
      name: request.archiveBlob,
      archiveSha256: sidecar.archive.sha256,
      expectedDigest,
      ...(target.tags !== undefined && { tags: target.tags }),
      ...(options.onBlob && { onBlob: options.onBlob }),
      ...limits,
      ...abort,
    });
    // Then the referrers that arrived later, supplement after supplement (each one's subjects are in the target by now).
    for (const supplement of supplements) {
      const more = await restoreImageArchive(
        await downloadReadable(
          container,
          readableBlobName(supplement.archiveBlob, { fromStaging: supplement.fromStaging }),
          abort,
        ),
        client,
        target.repository,
        {
          name: supplement.archiveBlob,
          archiveSha256: supplement.sha256,
          expectedDigest,
          tags: restored.tags,
          ...(options.onBlob && { onBlob: options.onBlob }),
          ...limits,
          ...abort,
        },
      );
      restored.blobsPushed += more.blobsPushed;
      restored.blobsPresent += more.blobsPresent;
      restored.bytesPushed += more.bytesPushed;
    }
    // Read back what the target now answers: every tag (or the digest, untagged) must name the original digest.
    for (const reference of restored.tags.length ? restored.tags : [restored.digest]) {
      const answered = await client.getManifestDigest(target.repository, reference, abort);
      if (answered !== expectedDigest)
        throw new ArchiveError(
          "DIGEST_MISMATCH",
          `${base.target}:${reference} answers ${answered ?? "nothing"} after the restore, not ${expectedDigest}`,
        );
    }
    const result: RestoreImageResult = {
      status: "restored",
      ...base,
      tags: restored.tags,
      bytes: sidecar.archive.size,
      blobsPushed: restored.blobsPushed,
      blobsPresent: restored.blobsPresent,
      bytesPushed: restored.bytesPushed,
      manifests: restored.manifests,
      ...(supplements.length > 0 && { supplements: supplements.length }),
      durationSeconds: seconds(started),
    };
    if (request.runId) await writeWorkerResult(container, request.runId, identity, request.attemptId, result, abort);
    return result;
  } catch (error) {
    const failure: RestoreImageResult = {
      status: "failed",
      ...base,
      tags: target.tags ?? [],
      durationSeconds: seconds(started),
      error: isArchiveError(error)
        ? { code: error.code, message: error.message }
        : { code: "INTERNAL", message: describeError(error) },
    };
    if (request.runId && !options.abortSignal?.aborted)
      await writeWorkerResult(container, request.runId, identity, request.attemptId, failure, abort).catch(
        () => undefined,
      );
    throw error;
  }
}

/** A readable archive (or supplement) blob's body; one still in Archive tier is a clear, permanent error. */
async function downloadReadable(
  container: ReturnType<BlobServiceClient["getContainerClient"]>,
  readableBlob: string,
  abort: { abortSignal?: AbortSignal },
): Promise<Readable> {
  const download = await container
    .getBlobClient(readableBlob)
    .download(0, undefined, abort)
    .catch((error) => {
      const { statusCode, code } = storageErrorCode(error);
      if (statusCode === 409 && code === "BlobArchived")
        throw new ArchiveError(
          "STORAGE_ERROR",
          `${readableBlob} is in Archive tier: rehydrate it by copy first (restore --from-blob does)`,
          { retryable: false, cause: error },
        );
      throw storageError(`cannot read ${readableBlob}`, error);
    });
  const body = download.readableStreamBody as Readable | undefined;
  if (!body) throw new ArchiveError("STORAGE_ERROR", `${readableBlob} has no body`);
  return body;
}

/** The image an archive blob name says; INVALID_ARGUMENT for a name that is no archive's (an unchecked request). */
function archiveIdentity(archiveBlob: string): ImageIdentity {
  const identity = archiveBlobIdentity(archiveBlob);
  if (!identity) throw new ArchiveError("INVALID_ARGUMENT", `archiveBlob: ${archiveBlob} is not an archive blob name`);
  return identity;
}

/** The archive's sidecar: it must exist, describe this digest and carry the archive's sha256. */
async function readSidecar(
  container: ReturnType<BlobServiceClient["getContainerClient"]>,
  archiveBlob: string,
  expectedDigest: string,
  abort: { abortSignal?: AbortSignal },
): Promise<ArchiveSidecar> {
  const name = sidecarBlobName(archiveBlob);
  const stored = await getSidecar<ArchiveSidecar>(container, name, abort);
  if (!stored)
    throw new ArchiveError("INVALID_ARGUMENT", `no sidecar ${name}: ${archiveBlob} is not an archive of this tool`);
  const sidecar = stored.sidecar;
  if (!sidecar?.source || !sidecar.archive || !SHA256_HEX.test(String(sidecar.archive.sha256)))
    throw new ArchiveError("ARCHIVE_INVALID", `sidecar ${name} does not record the archive's sha256`);
  if (sidecar.source.digest !== expectedDigest)
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `sidecar ${name} describes ${sidecar.source.digest}, not ${expectedDigest}`,
    );
  return sidecar as ArchiveSidecar;
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 10) / 100;
}

/** The worker's restore mode (and the CLI's): scope checked against the worker's own env, then restoreFromBlob. */
export async function runRestoreRequest(
  request: RestoreRequest,
  config: WorkerConfig,
  options: RestoreFromBlobOptions & { requireTargets: boolean; retry?: RetryPolicy },
): Promise<RestoreImageResult> {
  // Before anything is contacted: the request may be forged; the worker's own env says where it may push.
  assertRestoreRequestInScope(request, config, { requireTargets: options.requireTargets });
  const getRegistryClient = workerRegistryClients(config, options);
  const rest: RestoreFromBlobOptions = {
    limits: options.limits ?? config.restoreLimits,
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
    ...(options.onBlob && { onBlob: options.onBlob }),
  };
  return restoreFromBlob(request, { blobService: createBlobServiceClient(config.storage), getRegistryClient }, rest);
}

/** RESTORE_REQUEST, parsed and validated (CONFIG_INVALID naming every field that is wrong). */
export function readRestoreRequest(json: string): RestoreRequest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ArchiveError("CONFIG_INVALID", "RESTORE_REQUEST is not JSON");
  }
  return parseOrThrow(restoreRequestSchema, value, "invalid RESTORE_REQUEST", "CONFIG_INVALID");
}
