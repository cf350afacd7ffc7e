// Verify after write (issue 23.1): a new archive (or referrers supplement) is committed online (Hot), read back from
// storage end to end and checked as a restore would check it (verifyArchive.ts: what storage holds, not what the writer
// meant to write), and only then recorded as verified (its metadata) and moved to Archive tier. One that fails is
// deleted (it is its writer's: If-Match the ETag of the commit) and the image fails: no archive is left that could be
// taken for a verified one. An archive a crash left between commit and Archive tier is finished the same way by the
// next attempt (finishVerification).
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError, describeError, isArchiveError } from "../errors.js";
import {
  deleteUnverifiedArchive,
  moveToArchiveTier,
  openCommittedArchive,
  sealVerifiedArchive,
  type CommittedArchive,
} from "../storage/archiveStore.js";
import type { ArchiveFormat } from "../storage/blobMetadata.js";
import type { RestoreLimits } from "./archiveEntries.js";
import {
  VERIFICATION_CHECKS,
  verificationRecord,
  verifyImageArchive,
  type ArchiveVerificationRecord,
  type VerifyArchiveOptions,
} from "./verifyArchive.js";

export interface VerifyCommittedArchiveInput {
  container: ContainerClient;
  archiveBlob: string;
  /** What the archive must be: its writer's sha256 of it, the root digest, its format, the image it was written for. */
  expected: {
    archiveSha256: string;
    digest: string;
    format: ArchiveFormat;
    source: { registry: string; repository: string };
  };
  /** A referrers supplement's blobs that its archive holds (not in the supplement). */
  blobsElsewhere?: VerifyArchiveOptions["blobsElsewhere"];
  limits?: RestoreLimits;
  now: () => Date;
  abortSignal?: AbortSignal;
}

/**
 * Reads the committed archive (If-Match `etag`) back, verifies it, records the verification in its metadata and moves
 * it to Archive tier. A verification that fails deletes it and throws ARCHIVE_INVALID / DIGEST_MISMATCH (what the
 * check found); a read that fails deletes it too (a retry writes it anew) and throws STORAGE_ERROR.
 */
export async function verifyCommittedArchive(
  input: VerifyCommittedArchiveInput & { etag: string },
): Promise<ArchiveVerificationRecord> {
  const { container, archiveBlob, etag, expected } = input;
  const abort = input.abortSignal ? { abortSignal: input.abortSignal } : {};
  let record: ArchiveVerificationRecord;
  try {
    const body = await openCommittedArchive(container, archiveBlob, { etag, ...abort });
    const verified = await verifyImageArchive(body, {
      name: archiveBlob,
      archiveSha256: expected.archiveSha256,
      expectedDigest: expected.digest,
      expectedFormat: expected.format,
      source: expected.source,
      ...(input.blobsElsewhere && { blobsElsewhere: input.blobsElsewhere }),
      ...(input.limits && { limits: input.limits }),
    });
    record = verificationRecord(verified, "read-back-after-write", input.now());
  } catch (error) {
    const deleted = await deleteUnverifiedArchive(container, archiveBlob, etag).catch(() => false);
    throw verificationFailed(archiveBlob, error, deleted);
  }
  await sealVerifiedArchive(container, archiveBlob, { etag, verification: record, ...abort });
  return record;
}

/**
 * An archive committed earlier, found again (a crash after the commit, or another worker's commit): verified now when it
 * is online and has no verification (then as verifyCommittedArchive: deleted if it fails), moved to Archive tier when
 * it has one but is still online. Its record; undefined for an archive in Archive tier without one (written before
 * archives were verified: a verify-only restore run verifies it).
 */
export async function finishVerification(
  input: VerifyCommittedArchiveInput,
  committed: CommittedArchive,
): Promise<ArchiveVerificationRecord | undefined> {
  const abort = input.abortSignal ? { abortSignal: input.abortSignal } : {};
  const { verification } = committed;
  if (verification) {
    if (committed.accessTier !== "Archive") await moveToArchiveTier(input.container, input.archiveBlob, abort);
    return { ...verification, checked: [...VERIFICATION_CHECKS], archiveSha256: committed.sha256 };
  }
  if (committed.accessTier === "Archive") return undefined;
  return verifyCommittedArchive({ ...input, etag: committed.etag });
}

function verificationFailed(archiveBlob: string, error: unknown, deleted: boolean): unknown {
  const outcome = deleted ? "deleted" : "not deleted (gone, or changed by another writer)";
  if (!isArchiveError(error)) {
    if ((error as Error)?.name === "AbortError") return error;
    return new ArchiveError(
      "ARCHIVE_INVALID",
      `${archiveBlob} failed verification (${outcome}): ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  if (error.code === "ABORTED") return error;
  if (error.code === "STORAGE_ERROR")
    return new ArchiveError(
      "STORAGE_ERROR",
      `${archiveBlob} could not be read back to verify it (${outcome}): ${error.message}`,
      {
        retryable: true,
        cause: error,
      },
    );
  // What the check found (ARCHIVE_INVALID, DIGEST_MISMATCH, …), said of the archive as storage holds it.
  return new ArchiveError(
    error.code,
    `${archiveBlob} as read back from storage failed verification (${outcome}): ${error.message}`,
    {
      cause: error,
    },
  );
}
