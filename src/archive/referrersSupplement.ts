// The referrers supplement, what a refreshReferrers run's job writes: referrers that arrive after an image was archived
// (a signature added next week, a new SBOM). An archive in Archive tier is never rewritten, so they go into a
// supplementary archive of their own, recorded in the image's sidecar.
//
// The supplement is an OCI image layout like the archive (oci-layout, index.json with the image's tags and the
// referrers annotation; no manifest.json: it is not loadable): the image's manifests and EVERY referrer's manifest (so
// each new one's subject, which may be an older referrer, resolves in it), and the blobs of the NEW referrers only.
// Its referrers index lists all of them, so a restore of the archive and then its supplement pushes each referrer after
// its subject (the image's and older referrers' blobs are in the target by then; restore checks). Named by the digest
// of that index (storage/blobNames.ts): the same set of referrers makes the same name, committed once.
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import type { RegistryClient } from "../registry/registryClient.js";
import type { ReferrerLimits } from "../registry/referrers.js";
import { commitArchive, createArchiveUpload, getCommittedArchive, uploadSidecar } from "../storage/archiveStore.js";
import { referrersSupplementBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { storageError } from "../storage/storageError.js";
import type { ArchiveTuning } from "./archiveTuning.js";
import { writeImageArchive } from "./archiveWriter.js";
import { planImageArchive } from "./imagePlan.js";
import { describeReferrer, recordedReferrerDigests, type ArchiveSidecar } from "./sidecar.js";
import { finishVerification, verifyCommittedArchive, type VerifyCommittedArchiveInput } from "./verifyAfterWrite.js";

export interface WriteReferrersSupplementInput {
  client: RegistryClient;
  container: ContainerClient;
  image: ImageIdentity;
  /** Who asked, for the supplement's metadata (`registry/repository:tag`). */
  sourceImage: string;
  sidecarBlob: string;
  sidecar: ArchiveSidecar;
  /** The sidecar's ETag: it is updated only if unchanged since it was read. */
  sidecarEtag: string;
  tuning: ArchiveTuning;
  limits: ReferrerLimits;
  abortSignal?: AbortSignal;
  now: () => Date;
  /** The run that asked (the supplement's `run` index tag); undefined: the CLI without --run-id. */
  runId?: string;
}

export interface WriteReferrersSupplementResult {
  /** Referrers found that the sidecar did not list. */
  newReferrers: number;
  /** The supplementary archive written (or already there, from an earlier try) for them. */
  supplementBlob?: string;
  bytes?: number;
  sha256?: string;
}

export async function writeReferrersSupplement(
  input: WriteReferrersSupplementInput,
): Promise<WriteReferrersSupplementResult> {
  const { client, container, image, sidecar } = input;
  const request = input.abortSignal ? { abortSignal: input.abortSignal } : {};
  const plan = await planImageArchive(client, image.repository, image.digest, {
    ...request,
    referrers: input.limits,
    externalLayers: sidecar.externalLayers.map((l) => l.digest),
  });
  const known = recordedReferrerDigests(sidecar);
  const all = plan.referrers?.referrers ?? [];
  const fresh = all.filter((r) => !known.has(r.descriptor.digest));
  if (fresh.length === 0 || !plan.referrers) return { newReferrers: 0 };

  // The image's blobs and the older referrers' are in the archive (or an earlier supplement): only the new ones' here.
  const archived = new Set([
    ...plan.images.flatMap((i) => [i.config, ...i.layers]).map((d) => d.digest),
    ...all.filter((r) => known.has(r.descriptor.digest)).flatMap((r) => r.blobs.map((b) => b.digest)),
  ]);
  const blobs = plan.blobs.filter((b) => !archived.has(b.digest));
  const supplement = { ...plan, blobs, external: [], format: "oci-layout" as const };
  const supplementBlob = referrersSupplementBlobName(image, plan.referrers.index.descriptor.digest);
  const upload = createArchiveUpload(container, supplementBlob, {
    blockSizeBytes: input.tuning.blockSizeBytes,
    concurrency: input.tuning.uploadConcurrency,
    ...request,
  });
  const written = await writeImageArchive(client, supplement, upload, {
    tags: sidecar.tags,
    gzipLevel: input.tuning.gzipLevel,
    prefetch: { concurrency: input.tuning.registryConcurrency, budgetBytes: input.tuning.prefetchBytes },
    ...request,
  });
  const committed = await commitArchive(
    container,
    supplementBlob,
    upload.blockIds,
    {
      sourceDigest: image.digest,
      sourceImage: input.sourceImage,
      archiveSha256: written.sha256,
      tarSize: written.tarSize,
      gzipLevel: input.tuning.gzipLevel,
      tags: sidecar.tags,
      format: "oci-layout",
      externalLayers: [],
    },
    {
      ...request,
      index: {
        kind: "supplement",
        ...image,
        ...(sidecar.tags[0] !== undefined && { tag: sidecar.tags[0] }),
        archivedAt: input.now(),
        ...(input.runId !== undefined && { runId: input.runId }),
        bytes: written.size,
      },
    },
  );
  // Not committed: an earlier try committed the same set (its name is the set's digest) and died before the sidecar.
  // That blob is the supplement: record what its metadata says, not what this try wrote.
  const theirs = committed ? undefined : await getCommittedArchive(container, supplementBlob, request);
  if (!committed && !theirs)
    throw new ArchiveError("STORAGE_ERROR", `${supplementBlob} was committed by another worker and is gone again`, {
      retryable: true,
    });
  const archive = theirs
    ? { sha256: theirs.sha256, size: theirs.bytes, tarSize: theirs.tarSize }
    : { sha256: written.sha256, size: written.size, tarSize: written.tarSize };
  // Read back and verified before Archive tier, like an archive: the image's blobs and the older referrers' that it
  // leaves out are the archive's (the digests the plan says are archived already), everything else must be in it.
  const verify: VerifyCommittedArchiveInput = {
    container,
    archiveBlob: supplementBlob,
    expected: {
      archiveSha256: archive.sha256,
      digest: image.digest,
      format: "oci-layout",
      source: { registry: plan.registry, repository: plan.repository },
    },
    blobsElsewhere: { name: input.sidecar.archiveBlob, has: async (digest) => archived.has(digest) },
    now: input.now,
    ...request,
  };
  const verification = committed
    ? await verifyCommittedArchive({ ...verify, etag: committed.etag })
    : await finishVerification(verify, theirs!);
  const updated: ArchiveSidecar = {
    ...sidecar,
    supplements: [
      ...(sidecar.supplements ?? []).filter((s) => s.archiveBlob !== supplementBlob),
      {
        archiveBlob: supplementBlob,
        createdAtUtc: input.now().toISOString(),
        archive,
        referrersIndex: plan.referrers.index.descriptor.digest,
        referrers: fresh.map(describeReferrer),
        ...(verification && { verification }),
      },
    ],
  };
  await uploadSidecar(container, input.sidecarBlob, updated, {
    ...request,
    conditions: { ifMatch: input.sidecarEtag },
  }).catch((error: unknown) => {
    throw storageError(`the sidecar ${input.sidecarBlob} changed while its referrers were refreshed`, error);
  });
  return { newReferrers: fresh.length, supplementBlob, bytes: archive.size, sha256: archive.sha256 };
}
