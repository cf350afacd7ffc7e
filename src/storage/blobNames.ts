// The one place that builds blob names.
//
//   <registry>/<repository>@sha256-<hex>.tar.gz             the archive (one per image digest)
//   <registry>/<repository>@sha256-<hex>.tar.gz.json        its sidecar
//   <registry>/<repository>@sha256-<hex>.tar.gz.verification.json   its verification by a verify-only restore run
//                                                           (written once; a verification after write is in the sidecar)
//   <registry>/<repository>@sha256-<hex>.referrers-sha256-<hex2>.tar.gz   referrers that arrived after the archive,
//                                                           named by the digest of the index listing them (recorded in
//                                                           the archive's sidecar; never taken for an archive)
//   <registry>/<repository>:<tag>@sha256-<hex>              a tag marker (0 bytes): "this tag pointed at this digest"
//   runs/<runId>/results/<registry>/<repository>@sha256-<hex>.attempt-<n>.json   a worker's result, per attempt
//   runs/<runId>/summary.json                               a run's summary
//   runs/<runId>/listing/<page>.json (archive) or listing.json (restore), runs/<runId>/batches/<n>.json, …/<n>.outcomes.json   a run's working set
//   staging/<archive blob>                                  a restore's rehydrated copy (Hot) of an archive
//   staging-claims/<archive blob>/<claimant>                a restore's claim on that copy (0 bytes): kept while
//                                                           any claim is there (storage/rehydration.ts)
//   purges/<registry>/<repository>@sha256-<hex>.<step>.json  a purge's record of one image, each step written once:
//                                                           brownout, cancelled, purged (purge/purgeRecords.ts)
//
// Deterministic from (registry, repository, digest). Collision-free because `@` and `:` never occur in a
// repository name, so `a/b` and `a__b` (or `a` and `a/b`) can never produce the same name, and a moved tag
// gets a new archive instead of overwriting the old one. Listing the prefix `<registry>/<repository>:<tag>@`
// shows every digest that tag has pointed at; `<registry>/<repository>@` lists that repository's archives.
import { z } from "zod";
import { SHA256_HEX_SOURCE as HEX } from "../registry/digest.js";
import { isValidDigest, isValidRepository, isValidTag } from "../registry/reference.js";

/** A blob container name (3-63 of a-z, 0-9 and single hyphens, starting and ending with a letter or digit). */
export const containerNameSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/,
    "must be a blob container name: 3-63 of a-z, 0-9 and single hyphens",
  );

/** A run id, which becomes one segment of `runs/<runId>/…` (no `/`, never `.` or `..`). */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$/, "must be 1-128 of A-Za-z0-9:_.- and start with a letter or digit");

/**
 * Blob base names of the old queue messages (`repo--tag.tar.gz`): a relative blob path of safe characters, outside
 * `runs/` (run records) and not ending in `.json` (sidecars), so it can neither overwrite a record nor a sidecar.
 */
export const blobBaseNameSchema = z
  .string()
  .min(1)
  .max(1000)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+=@:-]*(?:\/[A-Za-z0-9][A-Za-z0-9._+=@:-]*)*$/,
    "must be a relative blob name of letters, digits and . _ + = @ : - (no .., no leading /)",
  )
  .refine((s) => !s.startsWith("runs/") && !s.endsWith(".json"), "must not be under runs/ or end in .json");

export interface ImageIdentity {
  registry: string;
  repository: string;
  digest: string;
}

export const ARCHIVE_SUFFIX = ".tar.gz";
export const SIDECAR_SUFFIX = ".json";
export const VERIFICATION_SUFFIX = ".verification.json";

/** `<registry>/<repository>@sha256-<hex>.tar.gz`: the registry, the repository and the digest's hex. */
const ARCHIVE_NAME = new RegExp(`^([^/@]+)/([^@]+)@sha256-(${HEX})\\.tar\\.gz$`);
/** The end of an archive's, a sidecar's or a verification record's name: the digest's hex, and what follows. */
const ARCHIVE_OR_SIDECAR_SUFFIX = new RegExp(`@sha256-(${HEX})\\.tar\\.gz(\\.json|\\.verification\\.json)?$`);
/** A referrers supplement's name: the archive's stem (up to its digest) before `.referrers-sha256-<hex>.tar.gz`. */
// The tag is the part after the last `:` (a repository has none; a login server's port comes before the first `/`).
const TAG_MARKER_NAME = new RegExp(`^([^/@]+)/([^@]+):([^:@/]+)@sha256-(${HEX})$`);
const SUPPLEMENT_NAME = new RegExp(`^(.*@sha256-${HEX})\\.referrers-sha256-${HEX}\\.tar\\.gz$`);
/** What follows `<archive stem>.referrers-sha256-` in a supplement's name. */
const SUPPLEMENT_TAIL = new RegExp(`^${HEX}\\.tar\\.gz$`);

function imageStem({ registry, repository, digest }: ImageIdentity): string {
  if (!isValidRepository(repository)) throw new TypeError(`invalid repository name: ${repository}`);
  if (!isValidDigest(digest)) throw new TypeError(`invalid digest: ${digest}`);
  return `${registry.toLowerCase()}/${repository}@${digest.replace(":", "-")}`;
}

export function archiveBlobName(image: ImageIdentity): string {
  return `${imageStem(image)}${ARCHIVE_SUFFIX}`;
}

/** A supplementary archive of an image's referrers that arrived later: one per set of referrers (its index's digest). */
export function referrersSupplementBlobName(image: ImageIdentity, referrersIndexDigest: string): string {
  if (!isValidDigest(referrersIndexDigest)) throw new TypeError(`invalid digest: ${referrersIndexDigest}`);
  return `${imageStem(image)}.referrers-${referrersIndexDigest.replace(":", "-")}${ARCHIVE_SUFFIX}`;
}

/** Whether `name` is a referrers supplement of this archive (`<archive stem>.referrers-sha256-<hex>.tar.gz`). */
export function isReferrersSupplementOf(name: string, archiveBlob: string): boolean {
  if (!archiveBlob.endsWith(ARCHIVE_SUFFIX)) return false;
  const stem = archiveBlob.slice(0, -ARCHIVE_SUFFIX.length);
  return (
    name.startsWith(`${stem}.referrers-sha256-`) &&
    SUPPLEMENT_TAIL.test(name.slice(stem.length + ".referrers-sha256-".length))
  );
}

/** The image and the archive a referrers supplement name (referrersSupplementBlobName) belongs to, or undefined. */
export function referrersSupplementIdentity(name: string): (ImageIdentity & { archiveBlob: string }) | undefined {
  const stem = SUPPLEMENT_NAME.exec(name)?.[1];
  if (stem === undefined) return undefined;
  const archiveBlob = `${stem}${ARCHIVE_SUFFIX}`;
  const identity = archiveBlobIdentity(archiveBlob);
  return identity && { ...identity, archiveBlob };
}

export function sidecarBlobName(archiveBlob: string): string {
  return `${archiveBlob}${SIDECAR_SUFFIX}`;
}

/**
 * The record of an archive's verification by a verify-only restore run (written once, beside the sidecar: the archive's
 * own metadata cannot change in Archive tier, and the sidecar is its writer's).
 */
export function verificationRecordBlobName(archiveBlob: string): string {
  return `${archiveBlob}${VERIFICATION_SUFFIX}`;
}

export function tagMarkerBlobName(image: ImageIdentity, tag: string): string {
  if (!isValidTag(tag)) throw new TypeError(`invalid tag: ${tag}`);
  const { registry, repository, digest } = image;
  imageStem(image);
  return `${registry.toLowerCase()}/${repository}:${tag}@${digest.replace(":", "-")}`;
}

/** The image and tag a tag marker name (tagMarkerBlobName) was built from, or undefined for other names. */
export function tagMarkerIdentity(name: string): (ImageIdentity & { tag: string }) | undefined {
  const match = TAG_MARKER_NAME.exec(name);
  if (!match || !isValidRepository(match[2]!) || !isValidTag(match[3]!)) return undefined;
  return { registry: match[1]!, repository: match[2]!, digest: `sha256:${match[4]}`, tag: match[3]! };
}

/** One attempt's result: an orphaned execution of another attempt writes its own name, never read as this one's. */
/** Which execution of an item's orchestration a worker request is (`<n>`, from 1): its result blob carries it. */
export const attemptIdSchema = z.string().regex(/^[1-9][0-9]{0,3}$/, "must be an attempt number 1-9999");

export function resultBlobName(runId: string, image: ImageIdentity, attemptId?: string): string {
  if (attemptId !== undefined && !attemptIdSchema.safeParse(attemptId).success)
    throw new TypeError(`invalid attempt id: ${attemptId}`);
  return `runs/${runId}/results/${imageStem(image)}${attemptId ? `.attempt-${attemptId}` : ""}.json`;
}

export function summaryBlobName(runId: string): string {
  return `runs/${runId}/summary.json`;
}

/** A registry's login server as one blob-name segment (the run lock's and the referrer cursor's). */
function registryKey(registry: string): string {
  return registry.toLowerCase().replace(/[^a-z0-9.-]+/g, "_");
}

/** The blob whose lease makes starting a run of one registry atomic. */
export function registryLockBlobName(registry: string): string {
  return `runs/locks/${registryKey(registry)}`;
}

/**
 * Where a registry's refreshReferrers probes are in their round of the catalog (runs/referrerProbe.ts): how far it
 * got, and the digest each repository the last run's budget stopped in goes on after.
 */
export function referrerProbeCursorBlobName(registry: string): string {
  return `runs/cursors/referrers_${registryKey(registry)}.json`;
}

/**
 * Where a registry's catalog backfill (catalog/catalogBackfill.ts: index tags for archives written before them) is: the
 * listing's position, and whether it is done.
 */
export function catalogBackfillCursorBlobName(registry: string): string {
  return `runs/cursors/catalog-backfill_${registryKey(registry)}.json`;
}

/** A restore run's listing: the images it resolved to restore, in one blob. */
export function listingBlobName(runId: string): string {
  return `runs/${runId}/listing.json`;
}

/** One page of an archive run's listing (the images of one catalog page of repositories), numbered from 0. */
export function listingPageBlobName(runId: string, page: number): string {
  return `runs/${runId}/listing/${String(page).padStart(5, "0")}.json`;
}

export function batchBlobName(runId: string, batchIndex: number): string {
  return `runs/${runId}/batches/${String(batchIndex).padStart(5, "0")}.json`;
}

export function batchOutcomesBlobName(runId: string, batchIndex: number): string {
  return `runs/${runId}/batches/${String(batchIndex).padStart(5, "0")}.outcomes.json`;
}

/**
 * The Hot copy a restore rehydrates an archive into (the archive itself is never re-tiered). Apart from archive
 * names: those start with a login server, which always holds a `.` or a `:` (or is `localhost`), never `staging`.
 */
export function stagingBlobName(archiveBlob: string): string {
  // An archive, or one of its referrers supplements (rehydrated with it for a restore).
  const name = `${STAGING_PREFIX}${archiveBlob}`;
  if (!archiveOfStagingBlob(name)) throw new TypeError(`not an archive blob name: ${archiveBlob}`);
  return name;
}

/** What a restore reads of an archive (or a referrers supplement): its staging copy, or itself in an online tier. */
export function readableBlobName(archiveBlob: string, options: { fromStaging: boolean }): string {
  return options.fromStaging ? stagingBlobName(archiveBlob) : archiveBlob;
}

export const STAGING_PREFIX = "staging/";
export const PURGES_PREFIX = "purges/";

/** The steps of one image's purge that leave a record. */
export const PURGE_STEPS = ["brownout", "cancelled", "purged"] as const;
export type PurgeStep = (typeof PURGE_STEPS)[number];

/**
 * A purge's record of one step for one image (written once). Apart from archive names, which start with a login server
 * (a `.` or a `:`, or `localhost`), never `purges`; and from sidecars: a record's name has no `.tar.gz`.
 */
export function purgeRecordBlobName(image: ImageIdentity, step: PurgeStep): string {
  if (!PURGE_STEPS.includes(step)) throw new TypeError(`invalid purge step: ${String(step)}`);
  return `${PURGES_PREFIX}${imageStem(image)}.${step}.json`;
}
export const STAGING_CLAIMS_PREFIX = "staging-claims/";

/** Who claims a staging copy: a restore run's id, or the CLI's claim (one blob-name segment, like a run id). */
export const stagingClaimantSchema = runIdSchema;

/** The archive whose staging copies (its own and its referrers supplements') a staging blob name belongs to. */
export function archiveOfStagingBlob(name: string): string | undefined {
  if (!name.startsWith(STAGING_PREFIX)) return undefined;
  const blob = name.slice(STAGING_PREFIX.length);
  const supplementOf = SUPPLEMENT_NAME.exec(blob)?.[1];
  const archive = supplementOf === undefined ? blob : `${supplementOf}${ARCHIVE_SUFFIX}`;
  return archiveBlobIdentity(archive) ? archive : undefined;
}

/** Where the claims on an archive's staging copies are listed (one claim covers the archive and its supplements). */
export function stagingClaimsPrefix(archiveBlob: string): string {
  const archive = archiveOfStagingBlob(stagingBlobName(archiveBlob))!;
  return `${STAGING_CLAIMS_PREFIX}${archive}/`;
}

export function stagingClaimBlobName(archiveBlob: string, claimant: string): string {
  if (!stagingClaimantSchema.safeParse(claimant).success) throw new TypeError(`invalid claimant: ${claimant}`);
  return `${stagingClaimsPrefix(archiveBlob)}${claimant}`;
}

/** The archive and the claimant of a claim blob name (stagingClaimBlobName), or undefined for other names. */
export function parseStagingClaimBlobName(name: string): { archiveBlob: string; claimant: string } | undefined {
  if (!name.startsWith(STAGING_CLAIMS_PREFIX)) return undefined;
  const slash = name.lastIndexOf("/");
  const archiveBlob = name.slice(STAGING_CLAIMS_PREFIX.length, slash);
  const claimant = name.slice(slash + 1);
  if (!archiveBlobIdentity(archiveBlob) || !stagingClaimantSchema.safeParse(claimant).success) return undefined;
  return { archiveBlob, claimant };
}

/** Prefix under which every archive of one repository is listed (nothing of `repo/sub` or `repo-x`). */
export function repositoryArchivesPrefix(registry: string, repository: string): string {
  return `${registry.toLowerCase()}/${repository}@`;
}

/** Prefix under which every tag marker of one repository is listed. */
export function repositoryTagMarkersPrefix(registry: string, repository: string): string {
  return `${registry.toLowerCase()}/${repository}:`;
}

/** The image an archive blob name (archiveBlobName) was built from, or undefined for other names. */
export function archiveBlobIdentity(name: string): ImageIdentity | undefined {
  const match = ARCHIVE_NAME.exec(name);
  // A login server has a `.` or a `:` or is `localhost` (parseImageReference's rule): `staging/…` and `runs/…` are not.
  const registry = match?.[1];
  if (!match || !registry || !(/[.:]/.test(registry) || registry === "localhost") || !isValidRepository(match[2]!))
    return undefined;
  return { registry, repository: match[2]!, digest: `sha256:${match[3]}` };
}

/**
 * The digest of an archive, sidecar or verification record blob name built from archiveBlobName, or undefined for
 * other names.
 */
export function parseArchiveBlobName(
  name: string,
): { digest: string; kind: "archive" | "sidecar" | "verification" } | undefined {
  const match = ARCHIVE_OR_SIDECAR_SUFFIX.exec(name);
  if (!match) return undefined;
  const kind = !match[2] ? "archive" : match[2] === SIDECAR_SUFFIX ? "sidecar" : "verification";
  return { digest: `sha256:${match[1]}`, kind };
}
