// One image's purge, as primitives an orchestration calls in turn (docs/purge-design.md's state machine): brownOut,
// isReadableAgain, cancelPurge, deleteImage. Each one that changes the registry checks, where it changes it, what a
// forged input must not get past: PURGE_ENABLED in the app's own settings (cancelPurge excepted: it only gives reads
// back), the registry in the allow-list, and the preconditions read just now (purgePreconditions.ts); deleteImage also
// checks the grace against the brown-out's record and the app's PURGE_GRACE, never against an input.
//
// Records (purgeRecords.ts) are written once each. The brown-out's record is written before the PATCH: a crash between
// leaves a record and a readable image, which the same run's retry finishes (brownOut again) and a later run cancels
// (kept: safe); the other order could leave an image unreadable that nothing records. The deletion's record is written
// after the deletes and the read-back; a crash between leaves the digest gone and a brown-out record, and deleteImage
// called again writes the record then (`recovered`).
//
// Deleting without collateral damage (issue 23.5), for each manifest deleted its referrers first (deepest first, each by
// digest, which takes its cosign tag with it) and then its referrers tag-schema index (`sha256-<hex>`); the root by
// digest (its tags with it); then, from a fresh listing, the manifests under the root that nothing left in the
// repository lists, no tag names and no lock protects (a child shared with a kept index stays). Then the registry is
// read again: the digests deleted are gone, and every manifest listed before that was not deleted is still there.
import type { ContainerClient } from "@azure/storage-blob";
import { ArchiveError, isArchiveError } from "../errors.js";
import { assertRegistryAllowed } from "../registry/allowList.js";
import { discoverReferrers, referrersTag, type Referrer, type ReferrerLimits } from "../registry/referrers.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { isIndex, isIndexMediaType } from "../registry/types.js";
import { archiveBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { graphRoot, type ImageGraph } from "./imageGraph.js";
import type { PurgeConfig } from "./purgeConfig.js";
import {
  checkPurgePreconditions,
  readRegistryImageState,
  type ArchiveVerificationLookup,
  type PreconditionFailure,
  type PurgePreconditions,
} from "./purgePreconditions.js";
import {
  readPurgeRecords,
  writePurgeRecord,
  type BrownoutRecord,
  type CancelledRecord,
  type PurgedRecord,
} from "./purgeRecords.js";
import { lockOf } from "./purgeSelection.js";

export interface PurgeImageDeps {
  client: RegistryClient;
  container: ContainerClient;
  /** The app's own settings (PURGE_ENABLED, PURGE_GRACE): never a request's or an orchestration input's. */
  config: PurgeConfig;
  /** The app's ALLOWED_REGISTRIES (and what config.ts adds to it). */
  allowedRegistries: readonly string[];
  verification: ArchiveVerificationLookup;
  referrerLimits?: ReferrerLimits;
  now?: () => Date;
  abortSignal?: AbortSignal;
}

/** Which run acts: its id goes into every record. */
export interface PurgeRun {
  runId: string;
}

/** Why an image was not browned out or deleted this time (the caller reports it: `kept` with the reason). */
export interface PurgeKept {
  status: "kept";
  reason:
    | "preconditions" // see failures
    | "purge-cancelled" // its purge was cancelled earlier
    | "not-browned-out" // PURGE_GRACE is not PT0S and there is no brown-out to follow
    | "grace" // the grace has not passed (browned out, waiting)
    | "readable-again" // it was made readable during its grace: cancel it (cancelPurge)
    | "already-purged";
  detail: string;
  failures?: PreconditionFailure[];
}

export type BrownOutResult =
  | {
      status: "browned-out";
      record: BrownoutRecord;
      /** This call wrote the record (false: it was there, from this run's earlier try or from an earlier run). */
      written: boolean;
    }
  | PurgeKept;

export type DeleteImageResult =
  { status: "purged"; record: PurgedRecord; written: boolean } | { status: "gone"; detail: string } | PurgeKept;

/**
 * Throws INVALID_ARGUMENT unless the app's own settings allow a purge on `registry`: PURGE_ENABLED on, and the registry
 * in the allow-list. Checked by every primitive that changes a registry, whatever its caller checked before.
 */
export function assertPurgeAllowed(registry: string, deps: Pick<PurgeImageDeps, "config" | "allowedRegistries">): void {
  if (!deps.config.enabled)
    throw new ArchiveError("INVALID_ARGUMENT", "purge: PURGE_ENABLED is off in this deployment; nothing is purged");
  assertRegistryAllowed(registry, deps.allowedRegistries);
}

/**
 * Makes the image unreadable, reversibly (readEnabled=false on its manifest and each tag naming it), after its
 * preconditions hold now, and records when (the record first, then the PATCH). On a registry without changeable
 * attributes only the record is written: the grace is then a delay. Called again by the run that browned it out, it
 * finishes that run's PATCH; an image another run browned out is answered with that run's record, untouched.
 */
export async function brownOut(image: ImageIdentity, run: PurgeRun, deps: PurgeImageDeps): Promise<BrownOutResult> {
  assertPurgeAllowed(image.registry, deps);
  const request = requestOf(deps);
  const records = await readPurgeRecords(deps.container, image, request);
  if (records.purged) return kept("already-purged", `purged by run ${records.purged.runId} at ${records.purged.at}`);
  if (records.cancelled)
    return kept("purge-cancelled", `its purge was cancelled at ${records.cancelled.at}: ${records.cancelled.detail}`);
  if (records.brownout) {
    if (records.brownout.runId === run.runId) await applyBrownOut(deps.client, image, records.brownout, request);
    return { status: "browned-out", record: records.brownout, written: false };
  }
  const pre = await preconditions(image, deps);
  if (!pre.ok) return keptFor(pre);
  const record: BrownoutRecord = {
    schemaVersion: 1,
    step: "brownout",
    registry: image.registry,
    repository: image.repository,
    digest: image.digest,
    runId: run.runId,
    at: nowOf(deps).toISOString(),
    tags: pre.registry.tags,
    archiveBlob: pre.archiveBlob,
    graph: pre.graph!,
    referrers: pre.referrers.map((r) => r.descriptor.digest),
    ...(pre.registry.lastUpdatedOn && { lastUpdatedOn: pre.registry.lastUpdatedOn }),
    attributes: pre.registry.attributes,
  };
  const written = await writePurgeRecord(deps.container, record, request);
  // Another call wrote one first (a concurrent retry): its record stands, and its run finishes its PATCH.
  const standing = written ? record : (await readPurgeRecords(deps.container, image, request)).brownout!;
  if (standing.runId === run.runId) await applyBrownOut(deps.client, image, standing, request);
  return { status: "browned-out", record: standing, written };
}

/** readEnabled=false on the manifest, then on each recorded tag that still names the digest (idempotent). */
async function applyBrownOut(
  client: RegistryClient,
  image: ImageIdentity,
  record: BrownoutRecord,
  request: OperationOptions,
): Promise<void> {
  if (!record.attributes) return;
  await client.patchManifestAttributes(image.repository, image.digest, { readEnabled: false }, request);
  const onDigest = new Set(
    ((await client.listTagAttributes(image.repository, image.digest, request)) ?? []).map((t) => t.name),
  );
  for (const tag of record.tags)
    if (onDigest.has(tag)) await client.patchTagAttributes(image.repository, tag, { readEnabled: false }, request);
}

export interface ReadableAgain {
  /** False when the brown-out set no attribute (a registry without them): there is nothing to read again. */
  applicable: boolean;
  readable: boolean;
  detail: string;
}

/**
 * Whether someone made the browned-out image readable again: readEnabled true on its manifest, or on any tag naming it
 * now (one of the brown-out's, or a tag added since: someone tagged an image that was meant to go). Read from /acr/v1.
 */
export async function isReadableAgain(
  image: ImageIdentity,
  brownout: BrownoutRecord,
  deps: Pick<PurgeImageDeps, "client" | "abortSignal">,
): Promise<ReadableAgain> {
  if (!brownout.attributes)
    return { applicable: false, readable: false, detail: "the brown-out set no attribute (the registry has none)" };
  const state = await readRegistryImageState(deps.client, image.repository, image.digest, requestOf(deps));
  if (!state.present) return { applicable: true, readable: false, detail: "the digest is no longer in the registry" };
  const readEnabled = state.readEnabled!;
  if (readEnabled.manifest) return { applicable: true, readable: true, detail: "its manifest is readable again" };
  const readableTags = Object.entries(readEnabled.tags)
    .filter(([, readable]) => readable)
    .map(([tag]) => tag);
  if (readableTags.length > 0)
    return { applicable: true, readable: true, detail: `its tag ${readableTags.join(", ")} is readable` };
  return { applicable: true, readable: false, detail: "still unreadable" };
}

export type CancelPurgeResult =
  | { status: "cancelled"; record: CancelledRecord; written: boolean }
  | { status: "not-browned-out" | "already-purged"; detail: string };

/**
 * Ends a brown-out for good: readEnabled=true again on the manifest and on the brown-out's tags still naming it, then
 * the cancelled record (later runs keep the image). Allowed with PURGE_ENABLED off: it gives reads back, deletes nothing.
 */
export async function cancelPurge(
  image: ImageIdentity,
  run: PurgeRun & { reason: CancelledRecord["reason"]; detail: string },
  deps: PurgeImageDeps,
): Promise<CancelPurgeResult> {
  assertRegistryAllowed(image.registry, deps.allowedRegistries);
  const request = requestOf(deps);
  const records = await readPurgeRecords(deps.container, image, request);
  if (records.purged)
    return { status: "already-purged", detail: `purged by run ${records.purged.runId} at ${records.purged.at}` };
  if (records.cancelled) return { status: "cancelled", record: records.cancelled, written: false };
  if (!records.brownout) return { status: "not-browned-out", detail: "no brown-out record: nothing to cancel" };
  const brownout = records.brownout;
  if (brownout.attributes && (await deps.client.findManifestAttributes(image.repository, image.digest, request))) {
    await deps.client.patchManifestAttributes(image.repository, image.digest, { readEnabled: true }, request);
    const onDigest = (await deps.client.listTagAttributes(image.repository, image.digest, request)) ?? [];
    for (const tag of onDigest)
      if (brownout.tags.includes(tag.name) && !tag.changeableAttributes.readEnabled)
        await deps.client.patchTagAttributes(image.repository, tag.name, { readEnabled: true }, request);
  }
  const record: CancelledRecord = {
    schemaVersion: 1,
    step: "cancelled",
    registry: image.registry,
    repository: image.repository,
    digest: image.digest,
    runId: run.runId,
    at: nowOf(deps).toISOString(),
    reason: run.reason,
    detail: run.detail.slice(0, 1024),
    brownoutAt: brownout.at,
  };
  const written = await writePurgeRecord(deps.container, record, request);
  return {
    status: "cancelled",
    record: written ? record : (await readPurgeRecords(deps.container, image, request)).cancelled!,
    written,
  };
}

/**
 * Deletes the image once its grace has passed (PURGE_GRACE from its brown-out record's time; PT0S: no brown-out needed),
 * it is still unreadable, and its preconditions hold now; then reads the registry again and writes the purged record.
 */
export async function deleteImage(
  image: ImageIdentity,
  run: PurgeRun,
  deps: PurgeImageDeps,
): Promise<DeleteImageResult> {
  assertPurgeAllowed(image.registry, deps);
  const request = requestOf(deps);
  const records = await readPurgeRecords(deps.container, image, request);
  if (records.purged) return { status: "purged", record: records.purged, written: false };
  if (records.cancelled)
    return kept("purge-cancelled", `its purge was cancelled at ${records.cancelled.at}: ${records.cancelled.detail}`);
  const { brownout } = records;
  const graceMs = deps.config.graceSeconds * 1000;
  if (graceMs > 0) {
    if (!brownout) return kept("not-browned-out", "PURGE_GRACE is not PT0S and the image has not been browned out");
    const due = Date.parse(brownout.at) + graceMs;
    if (nowOf(deps).getTime() < due)
      return kept("grace", `browned out at ${brownout.at}: deleted after ${new Date(due).toISOString()}`);
  }
  const pre = await preconditions(image, deps, brownout?.graph);
  if (pre.failures.some((f) => f.kind === "not-in-registry")) {
    // Gone: deleted by an earlier try of ours that did not live to write its record, or by someone else.
    if (!brownout) return { status: "gone", detail: "the digest is no longer in the registry" };
    // Its children go only while its archive still holds them, verified: any doubt keeps them.
    const archiveDoubt = pre.failures.filter((f) =>
      ["not-archived", "not-verified", "unverified-supplement"].includes(f.kind),
    );
    if (archiveDoubt.length) return keptFor({ ...pre, failures: archiveDoubt });
    return finishDeletion(image, run, deps, brownout, pre, { rootDeletedBefore: true });
  }
  if (brownout?.attributes) {
    const again = await isReadableAgain(image, brownout, deps);
    if (again.readable) return kept("readable-again", again.detail);
  }
  if (!pre.ok) return keptFor(pre);
  return finishDeletion(image, run, deps, brownout, pre, { rootDeletedBefore: false });
}

interface Deletion {
  referrers: string[];
  tagSchemaIndexes: string[];
  children: string[];
  childrenKept: { digest: string; why: string }[];
}

async function finishDeletion(
  image: ImageIdentity,
  run: PurgeRun,
  deps: PurgeImageDeps,
  brownout: BrownoutRecord | undefined,
  pre: PurgePreconditions,
  how: { rootDeletedBefore: boolean },
): Promise<DeleteImageResult> {
  const { client } = deps;
  const request = requestOf(deps);
  const { repository } = image;
  const graph = pre.graph ?? brownout?.graph;
  if (!graph) throw new ArchiveError("INTERNAL", `purge of ${image.digest}: no graph to delete by`);
  const attributes = pre.registry.attributes || Boolean(brownout?.attributes);
  const done: Deletion = { referrers: [], tagSchemaIndexes: [], children: [], childrenKept: [] };
  const before = await listRepository(client, repository, request);
  const rootDigest = graphRoot(graph);
  let referrers = pre.referrers;
  const keep = new Map<string, string>();
  if (how.rootDeletedBefore) {
    // The root went in an earlier try, its referrers before it. The children's referrers are found again, but no check
    // of their archive is possible without the root: a child that has any now stays, with them.
    referrers = [];
    const children = graph.manifests.slice(1).map((m) => m.digest);
    try {
      const found = await discoverReferrers(client, repository, children, {
        ...request,
        ...(deps.referrerLimits && { limits: deps.referrerLimits }),
      });
      for (const r of found.referrers)
        if (children.includes(r.subject)) keep.set(r.subject, "it has referrers, and the deletion was resumed");
    } catch (error) {
      if (!isArchiveError(error) || error.retryable) throw error;
      for (const child of children) keep.set(child, `its referrers could not be read (${error.code})`);
    }
  }

  // The root: its referrers (deepest first), its tag-schema index, then itself (its tags with it).
  const byRoot = referrersBySubject(referrers, graph);
  await deleteReferrersOf([rootDigest], byRoot, client, repository, attributes, done, request);
  if (!how.rootDeletedBefore) await client.deleteManifest(repository, rootDigest, request);

  // The manifests under it that nothing left lists, from a listing taken now; their referrers first.
  const plan = await planChildren(client, repository, graph, referrers, keep, request);
  done.childrenKept.push(...plan.kept);
  for (const child of plan.deletable) {
    await deleteReferrersOf([child], byRoot, client, repository, attributes, done, request);
    if (await client.deleteManifest(repository, child, request)) done.children.push(child);
  }

  const readBack = await readBackAfterDeletion(client, repository, rootDigest, done, before, request);
  const tags = brownout?.tags ?? pre.registry.tags;
  const record: PurgedRecord = {
    schemaVersion: 1,
    step: "purged",
    registry: image.registry,
    repository,
    digest: image.digest,
    runId: run.runId,
    at: nowOf(deps).toISOString(),
    tags,
    archiveBlob: archiveBlobName(image),
    referrersDeleted: done.referrers,
    tagSchemaIndexesDeleted: done.tagSchemaIndexes,
    childrenDeleted: done.children,
    childrenKept: done.childrenKept,
    bytesFreed: bytesFreed(graph, referrers, done),
    ...(brownout && { brownoutAt: brownout.at }),
    readBack,
    ...(how.rootDeletedBefore && { recovered: true }),
  };
  const written = await writePurgeRecord(deps.container, record, request);
  return {
    status: "purged",
    record: written ? record : (await readPurgeRecords(deps.container, image, request)).purged!,
    written,
  };
}

/** Each referrer under the subject it belongs to: the image's own manifest its chain of subjects starts at. */
function referrersBySubject(referrers: Referrer[], graph: ImageGraph): Map<string, Referrer[]> {
  const own = new Set(graph.manifests.map((m) => m.digest));
  const subjectOf = new Map(referrers.map((r) => [r.descriptor.digest, r.subject]));
  const bySubject = new Map<string, Referrer[]>();
  for (const referrer of referrers) {
    let subject = referrer.subject;
    for (let hops = 0; !own.has(subject) && subjectOf.has(subject) && hops < referrers.length; hops++)
      subject = subjectOf.get(subject)!;
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), referrer]);
  }
  return bySubject;
}

/**
 * Deletes the referrers of `subjects` (deepest first: a signature of an SBOM before the SBOM), each by digest, and the
 * tag-schema index of each manifest deleted (its subjects' and its referrers').
 */
async function deleteReferrersOf(
  subjects: string[],
  bySubject: Map<string, Referrer[]>,
  client: RegistryClient,
  repository: string,
  attributes: boolean,
  done: Deletion,
  request: OperationOptions,
): Promise<void> {
  const referrers = subjects.flatMap((s) => bySubject.get(s) ?? []).sort((a, b) => b.depth - a.depth);
  for (const referrer of referrers) {
    if (await client.deleteManifest(repository, referrer.descriptor.digest, request))
      done.referrers.push(referrer.descriptor.digest);
    // An index referrer's manifests: listed by it alone (discovery refuses one another manifest's subject names).
    for (const child of referrer.children ?? [])
      if (await client.deleteManifest(repository, child.descriptor.digest, request))
        done.referrers.push(child.descriptor.digest);
  }
  for (const subject of [...subjects, ...referrers.map((r) => r.descriptor.digest)]) {
    const index = await client.findManifest(repository, referrersTag(subject), request);
    if (!index) continue;
    if (attributes) {
      // Only an index that nothing else tags: deleting by digest takes every tag on it.
      const on = await client.findManifestAttributes(repository, index.descriptor.digest, request);
      if (on && on.tags.some((t) => t !== referrersTag(subject))) continue;
    }
    if (await client.deleteManifest(repository, index.descriptor.digest, request))
      done.tagSchemaIndexes.push(index.descriptor.digest);
  }
}

interface ChildrenPlan {
  /** Parents first. */
  deletable: string[];
  kept: { digest: string; why: string }[];
}

/**
 * Which manifests under the root may go: each one that no manifest left in the repository lists (an index outside the
 * image's graph, read now), that no tag names and no lock protects; what a kept one lists stays too. On a registry that
 * lists no untagged manifests (no /acr/v1) none is deleted: who else lists a child cannot be told.
 */
async function planChildren(
  client: RegistryClient,
  repository: string,
  graph: ImageGraph,
  referrers: Referrer[],
  keep: ReadonlyMap<string, string>,
  request: OperationOptions,
): Promise<ChildrenPlan> {
  const children = graph.manifests.slice(1);
  if (children.length === 0) return { deletable: [], kept: [] };
  const listing = await client.listManifestProperties(repository, request);
  if (!listing)
    return {
      deletable: [],
      kept: children.map((c) => ({
        digest: c.digest,
        why: "the registry lists no untagged manifests: whether another manifest lists it cannot be told",
      })),
    };
  const ours = new Set([
    ...graph.manifests.map((m) => m.digest),
    ...referrers.flatMap((r) => [r.descriptor.digest, ...(r.children ?? []).map((c) => c.descriptor.digest)]),
  ]);
  const listed = new Map(listing.map((m) => [m.digest, m]));
  const why = new Map<string, string>(keep);
  // Listed by a manifest that stays.
  for (const manifest of listing) {
    if (ours.has(manifest.digest)) continue;
    if (manifest.mediaType !== undefined && !isIndexMediaType(manifest.mediaType)) continue;
    let lists: string[];
    try {
      const got = await client.getManifest(repository, manifest.digest, request);
      lists = isIndex(got.manifest) ? got.manifest.manifests.map((d) => d.digest) : [];
    } catch (error) {
      if (!isArchiveError(error) || error.retryable) throw error;
      // An index that cannot be read (browned out itself, gone): what it lists cannot be told, so nothing goes.
      return {
        deletable: [],
        kept: children.map((c) => ({
          digest: c.digest,
          why: `index ${manifest.digest} in the repository could not be read (${error.code}): it may list it`,
        })),
      };
    }
    for (const digest of lists) if (!why.has(digest)) why.set(digest, `listed by ${manifest.digest}, which stays`);
  }
  for (const child of children) {
    const entry = listed.get(child.digest);
    if (!entry) continue;
    if ((entry.tags ?? []).length > 0 && !why.has(child.digest))
      why.set(child.digest, `tagged ${entry.tags!.join(", ")}`);
    if (!why.has(child.digest)) {
      const attributes = await client.findManifestAttributes(repository, child.digest, request);
      const lock = attributes && lockOf({ manifest: attributes.changeableAttributes });
      if (lock) why.set(child.digest, lock.replace(/^its manifest/, "it"));
    }
  }
  // What a kept manifest lists stays with it (nested indexes).
  for (const manifest of graph.manifests)
    if (why.has(manifest.digest))
      for (const digest of manifest.children)
        if (!why.has(digest)) why.set(digest, `listed by ${manifest.digest}, which stays`);
  const deletable: string[] = [];
  const kept: { digest: string; why: string }[] = [];
  for (const child of children) {
    if (!listed.has(child.digest)) continue; // gone already
    const reason = why.get(child.digest);
    if (reason) kept.push({ digest: child.digest, why: reason });
    else deletable.push(child.digest);
  }
  return { deletable, kept };
}

/** The repository's manifests (ACR's listing, with their tags), or, without /acr/v1, its tags and what they name. */
interface RepositoryContents {
  manifests?: Set<string>;
  tags: Map<string, string>;
}

async function listRepository(
  client: RegistryClient,
  repository: string,
  request: OperationOptions,
): Promise<RepositoryContents> {
  const listing = await client.listManifestProperties(repository, request);
  const tags = new Map<string, string>();
  if (listing) {
    for (const m of listing) for (const tag of m.tags ?? []) tags.set(tag, m.digest);
    return { manifests: new Set(listing.map((m) => m.digest)), tags };
  }
  try {
    for await (const tag of client.listTags(repository, request)) {
      const digest = await client.getManifestDigest(repository, tag, request);
      if (digest) tags.set(tag, digest);
    }
  } catch (error) {
    if (!(isArchiveError(error) && error.code === "REGISTRY_NOT_FOUND")) throw error;
  }
  return { tags };
}

/**
 * The registry read again: every digest deleted is gone, and every manifest (or, without /acr/v1, every tag) there before
 * that was not deleted is still there, as it was.
 */
async function readBackAfterDeletion(
  client: RegistryClient,
  repository: string,
  root: string,
  done: Deletion,
  before: RepositoryContents,
  request: OperationOptions,
): Promise<PurgedRecord["readBack"]> {
  const problems: string[] = [];
  const deleted = new Set([root, ...done.referrers, ...done.tagSchemaIndexes, ...done.children]);
  const after = await listRepository(client, repository, request);
  for (const digest of deleted) {
    const still = after.manifests
      ? after.manifests.has(digest)
      : (await client.getManifestDigest(repository, digest, request)) !== undefined;
    if (still) problems.push(`${digest} was deleted and is still there`);
  }
  if (before.manifests && after.manifests)
    for (const digest of before.manifests)
      if (!deleted.has(digest) && !after.manifests.has(digest)) problems.push(`${digest} was kept and is gone`);
  for (const [tag, digest] of before.tags) {
    if (deleted.has(digest)) continue;
    const now = after.tags.get(tag);
    if (now !== digest) problems.push(`tag ${tag} named ${digest} and now names ${now ?? "nothing"}`);
  }
  return { ok: problems.length === 0, problems: problems.slice(0, 1000).map((p) => p.slice(0, 1024)) };
}

/** The bytes of what was deleted, as the graph and the referrers state them: each blob once, none a kept child lists. */
function bytesFreed(graph: ImageGraph, referrers: Referrer[], done: Deletion): number {
  const gone = new Set([graphRoot(graph), ...done.children]);
  const keptBlobs = new Set(
    graph.manifests.filter((m) => !gone.has(m.digest)).flatMap((m) => m.blobs.map((b) => b.digest)),
  );
  const sizes = new Map<string, number>();
  for (const manifest of graph.manifests.filter((m) => gone.has(m.digest))) {
    sizes.set(manifest.digest, manifest.size);
    for (const blob of manifest.blobs) if (!keptBlobs.has(blob.digest)) sizes.set(blob.digest, blob.size);
  }
  const referrersGone = new Set(done.referrers);
  for (const referrer of referrers) {
    if (!referrersGone.has(referrer.descriptor.digest)) continue;
    sizes.set(referrer.descriptor.digest, referrer.descriptor.size);
    for (const child of referrer.children ?? []) sizes.set(child.descriptor.digest, child.descriptor.size);
    for (const blob of referrer.blobs) if (!keptBlobs.has(blob.digest)) sizes.set(blob.digest, blob.size);
  }
  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

function preconditions(image: ImageIdentity, deps: PurgeImageDeps, graph?: ImageGraph): Promise<PurgePreconditions> {
  return checkPurgePreconditions({
    client: deps.client,
    container: deps.container,
    image,
    verification: deps.verification,
    ...(graph && { graph }),
    ...(deps.referrerLimits && { referrerLimits: deps.referrerLimits }),
    ...(deps.abortSignal && { abortSignal: deps.abortSignal }),
  });
}

function kept(reason: PurgeKept["reason"], detail: string, failures?: PreconditionFailure[]): PurgeKept {
  return { status: "kept", reason, detail, ...(failures && { failures }) };
}

function keptFor(pre: PurgePreconditions): PurgeKept {
  return kept("preconditions", pre.failures.map((f) => `${f.kind}: ${f.detail}`).join("; "), pre.failures);
}

function nowOf(deps: Pick<PurgeImageDeps, "now">): Date {
  return deps.now?.() ?? new Date();
}

function requestOf(deps: Pick<PurgeImageDeps, "abortSignal">): OperationOptions {
  return deps.abortSignal ? { abortSignal: deps.abortSignal } : {};
}
