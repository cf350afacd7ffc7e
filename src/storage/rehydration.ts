// Getting an archive back online for a restore: rehydrate BY COPY into a staging blob of the same account (Hot, with
// the rehydrate priority), never by re-tiering the archive itself (that pays the early-deletion fee and loses the
// cold copy). A staging copy an earlier restore left is reused; a failed or foreign one is replaced. The copy's state
// comes from the staging blob's own headers (x-ms-copy-status, x-ms-archive-status), read on each poll.
import type { BlobClient, ContainerClient } from "@azure/storage-blob";
import { ArchiveError } from "../errors.js";
import { stagingBlobName } from "./blobNames.js";
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
  /** What a restore reads: the staging blob, or the archive itself when `online`. */
  readableBlob: string;
  /** The archive's size in bytes. */
  bytes: number;
  /** x-ms-copy-status and x-ms-archive-status of the staging blob, as the service said them (for progress lines). */
  copyStatus?: string;
  archiveStatus?: string;
  /** True when this call started the copy (false: an earlier one's copy was found). */
  started: boolean;
  /**
   * The archive's referrers supplements, made readable with it (startArchiveSetRehydration): the state is
   * `rehydrating` until every one is readable, and a restore reads each from its `readableBlob` after the archive.
   */
  supplements?: { archiveBlob: string; readableBlob: string }[];
}

export interface RehydrationOptions {
  abortSignal?: AbortSignal;
}

export interface StartRehydrationOptions extends RehydrationOptions {
  priority?: RehydratePriority;
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
    return { phase: "online", archiveBlob, readableBlob: archiveBlob, bytes, started: false };

  const staging = container.getBlobClient(stagingBlobName(archiveBlob));
  const existing = await readStagingState(staging, archive, archiveBlob, bytes, options);
  if (existing && existing !== "replace") return existing;
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

/** Deletes the staging copy (after a restore), aborting a copy still pending first. Absent: false, no error. */
export async function deleteStagingCopy(
  container: ContainerClient,
  archiveBlob: string,
  options: RehydrationOptions = {},
): Promise<boolean> {
  const staging = container.getBlobClient(stagingBlobName(archiveBlob));
  const props = await staging.getProperties(abortOnly(options)).catch(() => undefined);
  if (props?.copyStatus === "pending" && props.copyId)
    await staging.abortCopyFromURL(props.copyId, abortOnly(options)).catch(() => undefined);
  return deleteBlob(staging, options);
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
  options: StartRehydrationOptions = {},
): Promise<RehydrationState> {
  const states: RehydrationState[] = [];
  for (const blob of [archiveBlob, ...supplementBlobs]) states.push(await startRehydration(container, blob, options));
  return combineStates(states);
}

/** The set's state without starting anything: undefined when a copy of one of them is missing (start it again). */
export async function getArchiveSetRehydrationState(
  container: ContainerClient,
  archiveBlob: string,
  supplementBlobs: readonly string[],
  options: RehydrationOptions = {},
): Promise<RehydrationState | undefined> {
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

/** Deletes the staging copies of the archive and its supplements (absent ones are no error). */
export async function deleteArchiveSetStagingCopies(
  container: ContainerClient,
  archiveBlob: string,
  supplementBlobs: readonly string[],
  options: RehydrationOptions = {},
): Promise<number> {
  let deleted = 0;
  for (const blob of [archiveBlob, ...supplementBlobs])
    if (await deleteStagingCopy(container, blob, options)) deleted++;
  return deleted;
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
      supplements: supplements.map(({ archiveBlob, readableBlob }) => ({ archiveBlob, readableBlob })),
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
  return { phase: "online", archiveBlob: blob, readableBlob: blob, bytes: props.contentLength ?? 0, started: false };
}

async function readStagingState(
  staging: BlobClient,
  archive: BlobClient,
  archiveBlob: string,
  archiveBytes: number | undefined,
  options: RehydrationOptions,
): Promise<RehydrationState | "replace" | undefined> {
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
  return {
    phase: rehydrating ? "rehydrating" : "ready",
    archiveBlob,
    readableBlob: staging.name,
    bytes: archiveBytes ?? props.contentLength ?? 0,
    ...(copyStatus && { copyStatus }),
    ...(props.archiveStatus && { archiveStatus: props.archiveStatus }),
    started: false,
  };
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

async function deleteBlob(blob: BlobClient, options: RehydrationOptions): Promise<boolean> {
  try {
    await blob.delete(abortOnly(options));
    return true;
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return false;
    throw storageError(`cannot delete ${blob.name}`, error);
  }
}

function abortOnly(options: RehydrationOptions): RehydrationOptions {
  return options.abortSignal ? { abortSignal: options.abortSignal } : {};
}
