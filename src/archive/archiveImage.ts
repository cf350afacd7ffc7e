// Archives ONE image, the flow only: resolve its digest, skip it when already archived, otherwise plan it, stream it
// from the registry (archiveWriter.ts) into a block blob committed online (never overwriting), read it back and verify
// it, then move it to Archive tier (verifyAfterWrite.ts), then write the sidecar, tag markers and, for an orchestrated
// run, the result blob. Every blob it reads or writes goes through
// storage/archiveStore.ts (tag markers: storage/tagMarkers.ts). What the worker job and the CLI both run.
//
// A sidecar describes the committed archive, so only that archive's writer writes it, or a rebuild from the archive
// itself (its metadata: sha256, sizes, tags, external layers; plus the manifests and config re-read from the registry)
// when the writer died between commit and sidecar. A worker that loses the commit race (409) never writes its own.
import type { ArchiveRequest } from "./archiveRequest.js";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { settledValue } from "../concurrency.js";
import { ArchiveError, describeError, isArchiveError, type ErrorSummary } from "../errors.js";
import { formatImageReference } from "../registry/reference.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { DEFAULT_REFERRER_LIMITS } from "../registry/referrers.js";
import type { ArchiveTuning } from "./archiveTuning.js";
import {
  commitArchive,
  createArchiveUpload,
  ensureArchiveContainer,
  getCommittedArchive,
  getSidecar,
  uploadSidecar,
  writeWorkerResult,
  type CommittedArchive,
} from "../storage/archiveStore.js";
import { archiveBlobName, sidecarBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { storageError } from "../storage/storageError.js";
import { recordTagsSeen } from "../storage/tagMarkers.js";
import type { BlobPrefetcher } from "../registry/blobPrefetcher.js";
import { getConfigPlatform, startBlobPrefetch, writeImageArchive } from "./archiveWriter.js";
import { planImageArchive, type ImageArchivePlan } from "./imagePlan.js";
import { writeReferrersSupplement, type WriteReferrersSupplementResult } from "./referrersSupplement.js";
import { buildSidecar, type ArchiveSidecar } from "./sidecar.js";
import { finishVerification, verifyCommittedArchive } from "./verifyAfterWrite.js";

/** The request of one image: the worker's ARCHIVE_REQUEST, parsed and validated once (./archiveRequest.ts). */
export type ArchiveImageRequest = ArchiveRequest;

export type ArchiveStatus = "archived" | "already-archived" | "failed";

export interface ArchiveImageResult {
  status: ArchiveStatus;
  image: string;
  registry: string;
  repository: string;
  digest?: string;
  tags: string[];
  /**
   * The tags whose marker this request wrote: tags that named another digest (or none) when last seen, now this one's
   * (a restore by tag resolves to it). Empty when every tag was already recorded on this digest.
   */
  tagsRecorded?: string[];
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
  /**
   * Its archive as storage holds it has been read back and verified (by this request before Archive tier, or earlier:
   * its sidecar, metadata or verification record say so).
   */
  verified?: boolean;
  /** refreshReferrers: referrers of the archived image its sidecar did not list, and the supplement holding them. */
  newReferrers?: number;
  referrersSupplementBlob?: string;
  durationSeconds: number;
  /** Requests this worker sent to the registry for the image (token requests and retries included). */
  registryRequests?: number;
  error?: ErrorSummary;
}

/** How the archive is written (GZIP_LEVEL, UPLOAD_BLOCK_SIZE_MIB, UPLOAD_CONCURRENCY, REGISTRY_CONCURRENCY, PREFETCH_MIB). */

export interface ArchiveImageOptions {
  tuning: ArchiveTuning;
  abortSignal?: AbortSignal;
  /** Source bytes read, of the total to read; called often while an image streams. */
  onProgress?: (progress: {
    phase: "resolving" | "streaming" | "committing" | "verifying";
    bytes: number;
    totalBytes: number;
  }) => void;
  now?: () => Date;
}

export interface ArchiveImageDependencies {
  blobService: BlobServiceClient;
  /** One registry client per login server. */
  getRegistryClient: (registry: string) => RegistryClient;
}

export async function archiveImage(
  request: ArchiveImageRequest,
  deps: ArchiveImageDependencies,
  options: ArchiveImageOptions,
): Promise<ArchiveImageResult> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const { registry, repository, tags } = request;
  // The tag it was asked for comes first among its tags: a request without a digest resolves it.
  const requestedTag = tags[0];
  const container = deps.blobService.getContainerClient(request.blobContainer);
  const base = {
    image: formatImageReference({
      registry,
      repository,
      ...(requestedTag !== undefined && { tag: requestedTag }),
      ...(request.digest !== undefined && { digest: request.digest }),
    }),
    registry,
    repository,
    container: request.blobContainer,
  };
  let identity: ImageIdentity | undefined;
  // The client counts every request it sends; the image's are those sent from here on (a worker's client is its own).
  let client: RegistryClient | undefined;
  let sentBefore = 0;
  const registryRequests = () => (client ? client.requestsSent - sentBefore : 0);
  try {
    options.onProgress?.({ phase: "resolving", bytes: 0, totalBytes: 0 });
    client = deps.getRegistryClient(registry);
    sentBefore = client.requestsSent;
    // A tag is resolved by GETting its manifest (one request, as a HEAD would be), kept for the plan; the container is
    // made ready meanwhile. A digest is not fetched before the archive is known to be missing (an archived one costs none).
    const [resolved, containerReady] = await Promise.allSettled([
      request.digest || requestedTag === undefined
        ? Promise.resolve(undefined)
        : client.findManifest(repository, requestedTag, opts(options)),
      ensureArchiveContainer(container, opts(options)),
    ]);
    const rootManifest = settledValue(resolved);
    const digest = request.digest ?? rootManifest?.descriptor.digest;
    if (!digest)
      throw new ArchiveError("REGISTRY_NOT_FOUND", `${base.image} not found in ${registry}`, { statusCode: 404 });
    settledValue(containerReady);
    identity = { registry, repository, digest };
    const archiveBlob = request.blobBaseName ?? archiveBlobName(identity);
    const sidecarBlob = sidecarBlobName(archiveBlob);

    const existing = await readExistingArchive(container, archiveBlob, sidecarBlob, digest, options);
    const names = {
      container,
      containerName: request.blobContainer,
      archiveBlob,
      sidecarBlob,
      repository,
      digest,
    };
    let status: ArchiveStatus = "already-archived";
    let outcome: ArchiveOutcome;
    let refreshed: WriteReferrersSupplementResult | undefined;
    if (existing.sidecar) {
      outcome = describeSidecar(existing.sidecar, existing.archive);
      if (request.refreshReferrers && existing.sidecarEtag)
        refreshed = await writeReferrersSupplement({
          client,
          container,
          image: identity,
          sourceImage: base.image,
          sidecarBlob,
          sidecar: existing.sidecar,
          sidecarEtag: existing.sidecarEtag,
          tuning: options.tuning,
          limits: options.tuning.referrers ?? DEFAULT_REFERRER_LIMITS,
          ...opts(options),
          now,
          ...(request.runId !== undefined && { runId: request.runId }), // the supplement's commit indexes its run
        });
    } else if (existing.archive) {
      // The archive was committed but its sidecar was not (a crash in between): rebuild it from that archive, no blob re-read.
      outcome = await finishCommittedArchive(
        client,
        names,
        { ...existing, archive: existing.archive },
        tags,
        options,
        now,
      );
    } else {
      const referrers = options.tuning.referrers ?? DEFAULT_REFERRER_LIMITS;
      const prefetch = {
        prefetch: { concurrency: options.tuning.registryConcurrency, budgetBytes: options.tuning.prefetchBytes },
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      };
      // The image's blobs are read ahead while its referrers are looked for (a few round trips), then theirs after them.
      let prefetcher: BlobPrefetcher | undefined;
      let plan: ImageArchivePlan;
      const reader = client; // (the callback below sees it as set)
      try {
        plan = await planImageArchive(client, repository, digest, {
          ...opts(options),
          ...(rootManifest && { root: rootManifest }),
          referrers,
          onImageBlobs: (blobs) => (prefetcher = startBlobPrefetch(reader, repository, blobs, prefetch)),
        });
        prefetcher?.append(plan.blobs.slice(prefetcher.descriptors.length));
      } catch (error) {
        prefetcher?.close();
        throw error;
      }
      const totalBytes = plan.blobs.reduce((n, b) => n + b.size, 0);
      const upload = createArchiveUpload(container, archiveBlob, {
        blockSizeBytes: options.tuning.blockSizeBytes,
        concurrency: options.tuning.uploadConcurrency,
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      });
      const written = await writeImageArchive(client, plan, upload, {
        tags,
        gzipLevel: options.tuning.gzipLevel,
        ...prefetch,
        ...(prefetcher && { prefetcher }),
        onSourceBytes: (bytes) => options.onProgress?.({ phase: "streaming", bytes, totalBytes }),
      });
      options.onProgress?.({ phase: "committing", bytes: totalBytes, totalBytes });
      const gzipLevel = options.tuning.gzipLevel;
      // What a sidecar rebuilt from this archive needs and the registry cannot tell later (blobMetadata.ts keeps what fits).
      const metadata = {
        sourceDigest: digest,
        sourceImage: base.image,
        archiveSha256: written.sha256,
        tarSize: written.tarSize,
        gzipLevel,
        tags,
        format: plan.format,
        externalLayers: plan.external.map((d) => d.digest),
      };
      const committed = await commitArchive(container, archiveBlob, upload.blockIds, metadata, {
        ...opts(options),
        // Its blob index tags (storage/indexTags.ts): the catalog finds it by them while it is in Archive tier.
        index: {
          kind: "archive",
          ...identity,
          ...(tags[0] !== undefined && { tag: tags[0] }),
          archivedAt: now(),
          ...(request.runId !== undefined && { runId: request.runId }),
          bytes: written.size,
        },
      });
      if (committed) {
        status = "archived";
        // What storage holds, read back while it is online: verified, then Archive tier; or deleted, and the image fails.
        options.onProgress?.({ phase: "verifying", bytes: totalBytes, totalBytes });
        const verification = await verifyCommittedArchive({
          container,
          archiveBlob,
          etag: committed.etag,
          expected: {
            archiveSha256: written.sha256,
            digest,
            format: plan.format,
            source: { registry: plan.registry, repository: plan.repository },
          },
          now,
          ...opts(options),
        });
        outcome = { bytes: written.size, sha256: written.sha256, externalLayers: plan.external.length, verified: true };
        const createdAt = now();
        const sidecar = buildSidecar({
          plan,
          archiveBlob,
          container: request.blobContainer,
          tags,
          gzipLevel,
          archive: written,
          createdAt,
          ...(requestedTag !== undefined && { requestedTag }),
          verification,
        });
        await uploadSidecar(container, sidecarBlob, sidecar, opts(options));
      } else {
        // Another worker committed the same image first. Its archive is the one, and so is its sidecar: ours (other tags, other
        // tarSize) would not describe it. Keep theirs; if it is not written yet, rebuild it from their archive, never from ours.
        const theirs = await readExistingArchive(container, archiveBlob, sidecarBlob, digest, options);
        if (theirs.sidecar) outcome = describeSidecar(theirs.sidecar, theirs.archive);
        else if (theirs.archive)
          outcome = await finishCommittedArchive(
            client,
            names,
            { ...theirs, archive: theirs.archive },
            tags,
            options,
            now,
          );
        else
          throw new ArchiveError("STORAGE_ERROR", `${archiveBlob} was committed by another worker and is gone again`, {
            retryable: true,
          });
      }
    }
    // Each tag as seen now (an already-archived digest too: a tag added or rolled back to it since).
    const tagsRecorded = await recordTagsSeen(container, identity, archiveBlob, tags, {
      seenAt: now(),
      ...opts(options),
    }).catch((error) => {
      throw storageError(`cannot record the tag markers of ${base.image}`, error);
    });
    const result: ArchiveImageResult = {
      status,
      ...base,
      digest,
      tags,
      tagsRecorded,
      archiveBlob,
      sidecarBlob,
      bytes: outcome.bytes,
      sha256: outcome.sha256,
      externalLayers: outcome.externalLayers,
      ...(outcome.verified && { verified: true }),
      ...(refreshed && { newReferrers: refreshed.newReferrers }),
      ...(refreshed?.supplementBlob && { referrersSupplementBlob: refreshed.supplementBlob }),
      durationSeconds: seconds(started),
      registryRequests: registryRequests(),
    };
    if (request.runId)
      await writeWorkerResult(container, request.runId, identity, request.attemptId, result, opts(options));
    return result;
  } catch (error) {
    const failure: ArchiveImageResult = {
      status: "failed",
      ...base,
      ...(identity && { digest: identity.digest }),
      tags,
      durationSeconds: seconds(started),
      registryRequests: registryRequests(),
      error: errorSummary(error),
    };
    if (request.runId && identity && !options.abortSignal?.aborted) {
      await writeWorkerResult(container, request.runId, identity, request.attemptId, failure, opts(options)).catch(
        () => undefined,
      );
    }
    throw error;
  }
}

interface ExistingArchive {
  sidecar?: ArchiveSidecar;
  /** The current sidecar's ETag (a refresh of its referrers updates it only if unchanged). */
  sidecarEtag?: string;
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
async function readExistingArchive(
  container: ContainerClient,
  archiveBlob: string,
  sidecarBlob: string,
  digest: string,
  options: ArchiveImageOptions,
): Promise<ExistingArchive> {
  const archive = await getCommittedArchive(container, archiveBlob, opts(options));
  if (!archive) return {};
  if (archive.sourceDigest !== digest) {
    // Another digest, or an archive this tool did not write (the old worker set no metadata): never overwritten.
    const holds = archive.sourceDigest
      ? `already holds ${archive.sourceDigest}`
      : "already holds an archive of unknown digest (not written by this tool)";
    throw new ArchiveError(
      "ARCHIVE_CONFLICT",
      `${archiveBlob} ${holds}, not ${digest}; archives are never overwritten (use the default blob names, which include the digest)`,
    );
  }
  const stored = await getSidecar<ArchiveSidecar>(container, sidecarBlob, opts(options));
  const sidecar = stored?.sidecar;
  // A sidecar that does not describe this archive (an old or foreign one) is rewritten from the archive.
  const current =
    sidecar?.source?.digest === digest && sidecar.archive?.size !== undefined ? (sidecar as ArchiveSidecar) : undefined;
  if (current) return { archive, sidecar: current, ...(stored?.etag && { sidecarEtag: stored.etag }) };
  return { archive, ...(stored?.etag && { staleSidecarEtag: stored.etag }) };
}

/** What the result says of the archive: its size and sha256, the layers left out, whether it is verified. */
interface ArchiveOutcome {
  bytes: number;
  sha256: string;
  externalLayers: number;
  verified: boolean;
}

function describeSidecar(sidecar: ArchiveSidecar, archive: CommittedArchive | undefined): ArchiveOutcome {
  return {
    bytes: sidecar.archive.size,
    sha256: sidecar.archive.sha256,
    externalLayers: sidecar.externalLayers?.length ?? 0,
    verified: sidecar.verification !== undefined || archive?.verification !== undefined,
  };
}

/**
 * Writes the sidecar of an archive committed without one, from that archive: its metadata (sha256, sizes, tags, external
 * layers, creation time, verification) and the manifests re-read from the registry (the plan, and the config for a
 * single image's platform). An archive still online is verified first (or moved to Archive tier, if it was already):
 * a crash between the commit and Archive tier. Conditional: a sidecar another worker writes meanwhile (the archive's
 * writer) is kept, not overwritten.
 */
async function finishCommittedArchive(
  client: RegistryClient,
  names: ArchiveNames,
  existing: ExistingArchive & { archive: CommittedArchive },
  requestTags: string[],
  options: ArchiveImageOptions,
  now: () => Date,
): Promise<ArchiveOutcome> {
  const committed = existing.archive;
  const external = committed.externalLayers && { externalLayers: committed.externalLayers };
  // The referrers are looked up again: a rebuilt sidecar lists those the registry has now (the archive's own index of
  // them cannot be read from Archive tier).
  const referrers = options.tuning.referrers ?? DEFAULT_REFERRER_LIMITS;
  const plan = await planImageArchive(client, names.repository, names.digest, {
    ...opts(options),
    ...external,
    referrers,
  });
  // A single image names its platform in its config only (an index names its children's): read it, as the writer did.
  const single = plan.images.length === 1 && !plan.defaultImage.platform;
  const configPlatform = single
    ? await getConfigPlatform(client, names.repository, plan.defaultImage.config, opts(options))
    : undefined;
  const verification = await finishVerification(
    {
      container: names.container,
      archiveBlob: names.archiveBlob,
      expected: {
        archiveSha256: committed.sha256,
        digest: names.digest,
        format: committed.format ?? plan.format,
        source: { registry: plan.registry, repository: plan.repository },
      },
      now,
      ...opts(options),
    },
    committed,
  );
  const sidecar = buildSidecar({
    plan,
    archiveBlob: names.archiveBlob,
    container: names.containerName,
    tags: committed.tags ?? requestTags,
    gzipLevel: committed.gzipLevel,
    archive: {
      sha256: committed.sha256,
      size: committed.bytes,
      tarSize: committed.tarSize,
      ...(configPlatform && { configPlatform }),
    },
    createdAt: committed.createdOn ?? now(),
    ...(verification && { verification }),
  });
  const unchanged = existing.staleSidecarEtag ? { ifMatch: existing.staleSidecarEtag } : { ifNoneMatch: "*" };
  await uploadSidecar(names.container, names.sidecarBlob, sidecar, { ...opts(options), conditions: unchanged });
  return {
    bytes: committed.bytes,
    sha256: committed.sha256,
    externalLayers: plan.external.length,
    verified: verification !== undefined,
  };
}

function errorSummary(error: unknown): ErrorSummary {
  return isArchiveError(error)
    ? { code: error.code, message: error.message }
    : { code: "INTERNAL", message: describeError(error) };
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 10) / 100;
}

function opts(options: { abortSignal?: AbortSignal }): { abortSignal?: AbortSignal } {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}
