// Getting an archive back online for a restore: rehydrate BY COPY into a staging blob of the same account (Hot, with
// the rehydrate priority), never by re-tiering the archive itself (that pays the early-deletion fee and loses the
// cold copy). A staging copy an earlier restore left is reused; a failed or foreign one is replaced. The copy's state
// comes from the staging blob's own headers (x-ms-copy-status, x-ms-archive-status), read on each poll.
//
// Restores share the one copy of an archive (two runs into two targets, or the CLI), and each says so with a claim,
// `staging-claims/<archive>/<claimant>` (0 bytes), written before it looks at the copy and deleted when it is done.
// A copy is deleted only when no claim is left, and only If-Match the ETag read BEFORE the claims were listed; a
// claimant that finds the copy ready marks it in use first (Set Blob Metadata: a new ETag, the copy properties stay).
// So whichever of "claim, find it ready" and "see no claim, delete" comes second loses: the delete fails (412) and
// looks again, or the claimant finds no copy and starts one — never a job reading a copy that is being deleted.
import type { BlobClient, ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import {
  archiveOfStagingBlob,
  parseStagingClaimBlobName,
  STAGING_CLAIMS_PREFIX,
  STAGING_PREFIX,
  stagingBlobName,
  stagingClaimBlobName,
  stagingClaimsPrefix,
} from "./blobNames.js";
import { storageError, storageErrorCode } from "./storageError.js";

export type RehydratePriority = "Standard" | "High";

/**
 * - `online`: the archive is in an online tier (someone re-tiered it, or an emulator): read it in place, no copy.
 * - `rehydrating`: the staging copy is pending (Archive → Hot takes hours; High priority under an hour for small blobs).
 * - `ready`: the staging copy is complete and readable.
 */
export type RehydrationPhase = "online" | "rehydrating" | "ready";

export interface RehydrationState {
  phase: RehydrationPhase;
  archiveBlob: string;
  /** A restore reads the staging copy (`staging/<archiveBlob>`), or the archive itself when false (`online`). */
  fromStaging: boolean;
  /** The archive's size in bytes. */
  bytes: number;
  /** x-ms-copy-status and x-ms-archive-status of the staging blob, as the service said them (for progress lines). */
  copyStatus?: string;
  archiveStatus?: string;
  /** True when this call started the copy (false: an earlier one's copy was found). */
  started: boolean;
  /**
   * The archive's referrers supplements, made readable with it (startArchiveSetRehydration): the state is
   * `rehydrating` until every one is readable, and a restore reads each after the archive, from its staging copy or not.
   */
  supplements?: { archiveBlob: string; fromStaging: boolean }[];
}

export interface RehydrationOptions {
  abortSignal?: AbortSignal;
  /**
   * Mark a copy found ready as in use (a new ETag) before answering `ready`: what a claimant does before it reads
   * the copy, so that a delete decided on an older look fails. The set functions do it for their claimant.
   */
  markInUse?: boolean;
}

export interface StartRehydrationOptions extends RehydrationOptions {
  priority?: RehydratePriority;
}

export interface ClaimOptions {
  /** Who will read the copies (a restore run's id, the CLI's claim): claimed before they are looked at. */
  claimant?: string;
}

/**
 * Makes the archive readable: `online` when it already is, else the staging copy's state, starting the copy when
 * there is none (or the one there failed, or is not a copy of this archive). Idempotent: call it again to poll.
 */
export async function startRehydration(
  container: ContainerClient,
  archiveBlob: string,
  options: StartRehydrationOptions = {},
): Promise<RehydrationState> {
  const archive = container.getBlobClient(archiveBlob);
  const props = await archive.getProperties(abortOnly(options)).catch((error) => {
    if (storageErrorCode(error).statusCode === 404)
      throw new ArchiveError("INVALID_ARGUMENT", `no archive ${archiveBlob} in container ${container.containerName}`);
    throw storageError(`cannot read ${archiveBlob}`, error);
  });
  const bytes = props.contentLength ?? 0;
  if (props.accessTier !== "Archive" && !props.archiveStatus)
    return { phase: "online", archiveBlob, fromStaging: false, bytes, started: false };

  const staging = container.getBlobClient(stagingBlobName(archiveBlob));
  const existing = await readStagingState(staging, archive, archiveBlob, bytes, options);
  if (existing && existing !== "replace") return existing;
  // A failed copy or a foreign blob: no restore can read it, claimed or not.
  if (existing === "replace") await deleteBlob(staging, options);
  try {
    // If-None-Match: * — two restores starting at once start one copy; the loser reads the winner's. The poller's
    // first poll starts the copy; it is never polled (the copy's state is read from the blob, durably, by the caller).
    await staging.beginCopyFromURL(archive.url, {
      tier: "Hot",
      rehydratePriority: options.priority ?? "Standard",
      conditions: { ifNoneMatch: "*" },
      ...abortOnly(options),
    });
  } catch (error) {
    const { statusCode } = storageErrorCode(error);
    if (statusCode !== 409 && statusCode !== 412) throw storageError(`cannot start the copy of ${archiveBlob}`, error);
    const raced = await readStagingState(staging, archive, archiveBlob, bytes, options);
    if (raced && raced !== "replace") return raced;
    throw storageError(`cannot start the copy of ${archiveBlob}`, error);
  }
  const state = await readStagingState(staging, archive, archiveBlob, bytes, options);
  if (!state || state === "replace")
    throw new ArchiveError("STORAGE_ERROR", `the copy of ${archiveBlob} into ${staging.name} ended without a blob`);
  return { ...state, started: true };
}

/** The staging copy's state without starting anything: undefined when there is none. */
export async function getRehydrationState(
  container: ContainerClient,
  archiveBlob: string,
  options: RehydrationOptions = {},
): Promise<RehydrationState | undefined> {
  const archive = container.getBlobClient(archiveBlob);
  const staging = container.getBlobClient(stagingBlobName(archiveBlob));
  const state = await readStagingState(staging, archive, archiveBlob, undefined, options);
  if (state === "replace")
    throw new ArchiveError("STORAGE_ERROR", `the copy of ${archiveBlob} into ${staging.name} failed`, {
      retryable: false,
    });
  return state;
}

/**
 * Deletes a staging copy: only if its ETag is still `ifMatch` when given (a copy marked in use since is kept: false).
 * A copy still pending is aborted first. Absent: false, no error.
 */
export async function deleteStagingCopy(
  container: ContainerClient,
  archiveBlob: string,
  options: RehydrationOptions & { ifMatch?: string } = {},
): Promise<boolean> {
  const staging = container.getBlobClient(stagingBlobName(archiveBlob));
  return deleteCopy(staging, options.ifMatch, options);
}

/** Deletes a staging copy, only while its ETag is `ifMatch` when given: false when it changed, or is absent. */
async function deleteCopy(staging: BlobClient, ifMatch: string | undefined, options: RehydrationOptions) {
  const props = await staging.getProperties(abortOnly(options)).catch((error) => {
    if (storageErrorCode(error).statusCode === 404) return undefined;
    throw storageError(`cannot read ${staging.name}`, error);
  });
  if (!props || (ifMatch !== undefined && props.etag !== ifMatch)) return false;
  let etag = props.etag;
  if (props.copyStatus === "pending" && props.copyId) {
    // A copy still pending is aborted first. That changes its ETag: the delete is conditional on the aborted blob's.
    await staging.abortCopyFromURL(props.copyId, abortOnly(options)).catch(() => undefined);
    etag = await etagOf(staging, options);
    if (etag === undefined) return false;
  }
  try {
    return await deleteBlob(staging, options, ifMatch === undefined ? undefined : etag);
  } catch (error) {
    if (storageErrorCode(error).statusCode === 412) return false;
    throw error;
  }
}

/**
 * The archive and its referrers supplements (the sidecar's, oldest first) made readable together, each by its own
 * copy: one state, `rehydrating` until all are readable, `online` when all already were. Idempotent, like
 * startRehydration: call it again to poll, or getArchiveSetRehydrationState.
 */
export async function startArchiveSetRehydration(
  container: ContainerClient,
  archiveBlob: string,
  supplementBlobs: readonly string[],
  options: StartRehydrationOptions & ClaimOptions = {},
): Promise<RehydrationState> {
  const { claimant, ...rest } = options;
  if (claimant !== undefined) await claimStagingCopies(container, archiveBlob, claimant, rest);
  const states: RehydrationState[] = [];
  for (const blob of [archiveBlob, ...supplementBlobs])
    states.push(await startRehydration(container, blob, { ...rest, markInUse: claimant !== undefined }));
  return combineStates(states);
}

/** The set's state without starting anything: undefined when a copy of one of them is missing (start it again). */
export async function getArchiveSetRehydrationState(
  container: ContainerClient,
  archiveBlob: string,
  supplementBlobs: readonly string[],
  options: RehydrationOptions & ClaimOptions = {},
): Promise<RehydrationState | undefined> {
  const { claimant, ...rest } = options;
  // Claimed again at each poll: its time says the claimant is still there (the sweep reads it for the CLI's claims).
  if (claimant !== undefined) await claimStagingCopies(container, archiveBlob, claimant, rest);
  options = { ...rest, markInUse: claimant !== undefined };
  const states: RehydrationState[] = [];
  for (const blob of [archiveBlob, ...supplementBlobs]) {
    const state = await getRehydrationState(container, blob, options);
    // A blob in an online tier has no staging copy: that is its state, not a missing copy.
    const online = state ? undefined : await onlineState(container, blob, options);
    if (!state && !online) return undefined;
    states.push((state ?? online)!);
  }
  return combineStates(states);
}

/** Claims the copies of an archive and its supplements for `claimant` (again: its time is refreshed). */
export async function claimStagingCopies(
  container: ContainerClient,
  archiveBlob: string,
  claimant: string,
  options: RehydrationOptions = {},
): Promise<void> {
  const claim = container.getBlockBlobClient(stagingClaimBlobName(archiveBlob, claimant));
  await claim.uploadData(Buffer.alloc(0), abortOnly(options)).catch((error) => {
    throw storageError(`cannot claim the staging copy of ${archiveBlob}`, error);
  });
}

export interface ReleaseStagingCopiesOptions extends RehydrationOptions {
  claimant: string;
  /** Delete each copy no other claim holds (after a restore; a copy left is reused by the next restore, or swept). */
  deleteUnclaimed: boolean;
}

/**
 * Deletes `claimant`'s claim on the copies of an archive and its supplements and, with `deleteUnclaimed`, each copy
 * no claim is left on. Returns the copies deleted. Absent ones are no error.
 */
export async function releaseStagingCopies(
  container: ContainerClient,
  archiveBlob: string,
  supplementBlobs: readonly string[],
  options: ReleaseStagingCopiesOptions,
): Promise<number> {
  const copies = [archiveBlob, ...supplementBlobs].map((blob) => container.getBlobClient(stagingBlobName(blob)));
  // Each copy's ETag before the claims are looked at (below): a claimant that comes after it and finds a copy ready
  // has changed it, and the delete fails.
  const etags = options.deleteUnclaimed ? await Promise.all(copies.map((copy) => etagOf(copy, options))) : [];
  await deleteBlob(container.getBlobClient(stagingClaimBlobName(archiveBlob, options.claimant)), options);
  let deleted = 0;
  for (const [i, copy] of copies.entries()) {
    let etag = etags[i];
    for (let look = 0; etag !== undefined && look < 5; look++) {
      if (await hasStagingClaims(container, archiveBlob, options)) break;
      if (await deleteCopy(copy, etag, options)) {
        deleted++;
        break;
      }
      etag = await etagOf(copy, options); // marked in use, or aborted: look at the claims again
    }
  }
  return deleted;
}

/** Whether any claim is on the copies of an archive. */
export async function hasStagingClaims(
  container: ContainerClient,
  archiveBlob: string,
  options: RehydrationOptions = {},
): Promise<boolean> {
  try {
    const page = await container
      .listBlobsFlat({ prefix: stagingClaimsPrefix(archiveBlob), ...abortOnly(options) })
      .byPage({ maxPageSize: 1 })
      .next();
    return (page.value?.segment.blobItems.length ?? 0) > 0;
  } catch (error) {
    throw storageError(`cannot list the claims on the staging copy of ${archiveBlob}`, error);
  }
}

/** A staging copy as listed: its archive, its ETag (to delete it only unchanged) and when it was last written. */
export interface ListedStagingCopy {
  name: string;
  archiveBlob: string;
  etag: string;
  lastModified: Date;
}

/** A claim as listed: its archive, its claimant, its ETag, and when it was last written (claimed again). */
export interface ListedStagingClaim {
  name: string;
  archiveBlob: string;
  claimant: string;
  etag: string;
  lastModified: Date;
}

/** Every staging copy in the container (names that are no archive's copy are left out: nothing of ours). */
export async function listStagingCopies(container: ContainerClient): Promise<ListedStagingCopy[]> {
  const copies: ListedStagingCopy[] = [];
  for await (const blob of listOrNothing(container, STAGING_PREFIX)) {
    const archiveBlob = archiveOfStagingBlob(blob.name);
    if (archiveBlob && blob.properties.etag)
      copies.push({
        name: blob.name,
        archiveBlob,
        etag: quotedEtag(blob.properties.etag),
        lastModified: blob.properties.lastModified,
      });
  }
  return copies;
}

/** Every claim on a staging copy in the container. */
export async function listStagingClaims(container: ContainerClient): Promise<ListedStagingClaim[]> {
  const claims: ListedStagingClaim[] = [];
  for await (const blob of listOrNothing(container, STAGING_CLAIMS_PREFIX)) {
    const parsed = parseStagingClaimBlobName(blob.name);
    if (parsed && blob.properties.etag)
      claims.push({
        name: blob.name,
        ...parsed,
        etag: quotedEtag(blob.properties.etag),
        lastModified: blob.properties.lastModified,
      });
  }
  return claims;
}

/** Deletes a listed claim if it is unchanged (claimed again since: kept, false). */
export async function deleteStagingClaim(container: ContainerClient, claim: ListedStagingClaim): Promise<boolean> {
  try {
    return await deleteBlob(container.getBlobClient(claim.name), {}, claim.etag);
  } catch (error) {
    if (storageErrorCode(error).statusCode === 412) return false;
    throw error;
  }
}

/** Deletes a listed staging copy if it is unchanged since it was listed (marked in use since: kept, false). */
export async function deleteListedStagingCopy(container: ContainerClient, copy: ListedStagingCopy): Promise<boolean> {
  return deleteCopy(container.getBlobClient(copy.name), copy.etag, {});
}

async function* listOrNothing(container: ContainerClient, prefix: string) {
  try {
    yield* container.listBlobsFlat({ prefix });
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return; // no container yet
    throw storageError(`cannot list ${prefix}`, error);
  }
}

function combineStates([archive, ...supplements]: RehydrationState[]): RehydrationState {
  const all = [archive!, ...supplements];
  const phase: RehydrationPhase = all.some((s) => s.phase === "rehydrating")
    ? "rehydrating"
    : all.every((s) => s.phase === "online")
      ? "online"
      : "ready";
  const pending = all.find((s) => s.phase === "rehydrating");
  return {
    ...archive!,
    phase,
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    ...(pending?.copyStatus && { copyStatus: pending.copyStatus }),
    ...(pending?.archiveStatus && { archiveStatus: pending.archiveStatus }),
    started: all.some((s) => s.started),
    ...(supplements.length > 0 && {
      supplements: supplements.map(({ archiveBlob, fromStaging }) => ({ archiveBlob, fromStaging })),
    }),
  };
}

async function onlineState(
  container: ContainerClient,
  blob: string,
  options: RehydrationOptions,
): Promise<RehydrationState | undefined> {
  const props = await container
    .getBlobClient(blob)
    .getProperties(abortOnly(options))
    .catch(() => undefined);
  if (!props || props.accessTier === "Archive" || props.archiveStatus) return undefined;
  return { phase: "online", archiveBlob: blob, fromStaging: false, bytes: props.contentLength ?? 0, started: false };
}

async function readStagingState(
  staging: BlobClient,
  archive: BlobClient,
  archiveBlob: string,
  archiveBytes: number | undefined,
  options: RehydrationOptions,
): Promise<RehydrationState | "replace" | undefined> {
  for (let look = 0; ; look++) {
    const props = await staging.getProperties(abortOnly(options)).catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${staging.name}`, error);
    });
    if (!props) return undefined;
    // A blob there that is not a copy of this archive (written by hand, or a copy that failed) is replaced.
    if (!sameBlob(props.copySource, archive.url)) return "replace";
    const copyStatus = props.copyStatus;
    if (copyStatus === "failed" || copyStatus === "aborted") return "replace";
    const rehydrating = copyStatus === "pending" || !!props.archiveStatus || props.accessTier === "Archive";
    const state: RehydrationState = {
      phase: rehydrating ? "rehydrating" : "ready",
      archiveBlob,
      fromStaging: true,
      bytes: archiveBytes ?? props.contentLength ?? 0,
      ...(copyStatus && { copyStatus }),
      ...(props.archiveStatus && { archiveStatus: props.archiveStatus }),
      started: false,
    };
    if (!options.markInUse || rehydrating) return state;
    try {
      // The same metadata again: a new ETag (and last-modified time), the copy properties stay.
      await staging.setMetadata(props.metadata, { conditions: { ifMatch: props.etag }, ...abortOnly(options) });
      return state;
    } catch (error) {
      const { statusCode } = storageErrorCode(error);
      // Changed or deleted since it was read: look again.
      if ((statusCode !== 412 && statusCode !== 404) || look >= 4)
        throw storageError(`cannot mark ${staging.name} in use`, error);
    }
  }
}

/** Same account, container and blob (the service may answer the copy source with or without a query). */
function sameBlob(copySource: string | undefined, url: string): boolean {
  if (!copySource) return false;
  const path = (u: string) => {
    try {
      const parsed = new URL(u);
      return `${parsed.host}${decodeURIComponent(parsed.pathname)}`;
    } catch {
      return u;
    }
  };
  return path(copySource) === path(url);
}

/** Deletes a blob (only with that ETag, when given: 412 is thrown as it is). Absent: false. */
async function deleteBlob(blob: BlobClient, options: RehydrationOptions, ifMatch?: string): Promise<boolean> {
  try {
    await blob.delete({ ...abortOnly(options), ...(ifMatch !== undefined && { conditions: { ifMatch } }) });
    return true;
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return false;
    if (storageErrorCode(error).statusCode === 412 && ifMatch !== undefined) throw error;
    throw storageError(`cannot delete ${blob.name}`, error);
  }
}

/** A listing answers ETags bare, property reads quoted: one form (quoted, as If-Match sends it). */
function quotedEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

async function etagOf(blob: BlobClient, options: RehydrationOptions = {}): Promise<string | undefined> {
  return blob
    .getProperties(abortOnly(options))
    .then((props) => props.etag)
    .catch((error) => {
      if (storageErrorCode(error).statusCode === 404) return undefined;
      throw storageError(`cannot read ${blob.name}`, error);
    });
}

function abortOnly(options: RehydrationOptions): { abortSignal?: AbortSignal } {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}
