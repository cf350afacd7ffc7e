// What must hold, read NOW (not from a listing an hour old), before a purge changes the registry for one image
// (issue 23.3): its archive is committed, recorded in its sidecar and verified; every tag naming its digest now is
// recorded for it (a tag marker whose newest sighting names the digest), and every tag recorded for it still names it;
// every referrer the registry lists for its manifests (referrers API or tag schema, and cosign's tags, recursively) is in
// the archive or in a verified referrers supplement; nothing is locked (deleteEnabled or writeEnabled false on the
// repository, the manifest, a tag, or a referrer that would be deleted with it). A tag or a referrer that arrived since
// is reported (unrecorded-tags, unarchived-referrers) so the caller records it or archives it into a supplement in the
// same run and asks again; anything else keeps the image, with the reason.
//
// Whether an archive is verified is the verification record's to say (issue 23.1): this module asks, it does not check.
import type { ContainerClient } from "@azure/storage-blob";
import { isArchiveError } from "../errors.js";
import { discoverReferrers, isReferrerTag, type Referrer, type ReferrerLimits } from "../registry/referrers.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { getCommittedArchive, getSidecar } from "../storage/archiveStore.js";
import { archiveBlobName, isReferrersSupplementOf, sidecarBlobName, type ImageIdentity } from "../storage/blobNames.js";
import { latestTagMarkers, listTagMarkers, tagKey } from "../storage/tagMarkers.js";
import { graphRoot, readImageGraph, type ImageGraph } from "./imageGraph.js";
import { lockOf, type ImageLocks } from "./purgeSelection.js";

/** The verification record's answer (issue 23.1): has this archive, or this referrers supplement of it, been verified? */
export interface ArchiveVerificationLookup {
  isVerified(archiveBlob: string, options?: { abortSignal?: AbortSignal }): Promise<boolean>;
}

export type PreconditionFailureKind =
  | "not-archived" // no committed archive, or no sidecar of this digest
  | "not-verified" // the archive is not verified
  | "not-in-registry" // the digest is gone
  | "unrecorded-tags" // tags name the digest that no record has: record them (tag markers), then ask again
  | "moved-tags" // tags recorded for the digest that name another digest now, or none
  | "unarchived-referrers" // referrers neither in the archive nor a supplement: archive them, then ask again
  | "unverified-supplement" // referrers in a supplement that is not verified
  | "locked" // a lock on the repository, the manifest, a tag, or a referrer
  | "referrer-tagged" // a referrer that would be deleted carries a tag of its own (not its cosign tag)
  | "unreadable"; // the registry's answers do not make a graph this module can trust (a bad referrer graph, a lock on reads)

export interface PreconditionFailure {
  kind: PreconditionFailureKind;
  detail: string;
  /** unrecorded-tags, moved-tags: the tags. */
  tags?: string[];
  /** unarchived-referrers, unverified-supplement: the referrers. */
  digests?: string[];
}

/** The image as the registry has it now. */
export interface RegistryImageState {
  /** The registry has ACR's changeable attributes (/acr/v1): a brown-out is possible, and locks are read. */
  attributes: boolean;
  /** The digest is in the repository. */
  present: boolean;
  /** The image's tags naming the digest now (no referrer tags), sorted. */
  tags: string[];
  /** Its locks as read (ACR). */
  locks?: ImageLocks;
  /** readEnabled of its manifest and of each tag naming it (ACR). */
  readEnabled?: { manifest: boolean; tags: Record<string, boolean> };
  /** ACR's lastUpdateTime of the manifest. */
  lastUpdatedOn?: string;
}

export interface PurgePreconditions {
  ok: boolean;
  failures: PreconditionFailure[];
  archiveBlob: string;
  registry: RegistryImageState;
  /** The image's own manifests (as given, or read now). */
  graph?: ImageGraph;
  /** Its referrers as found now, parents before the referrers of them. */
  referrers: Referrer[];
}

export interface CheckPurgePreconditionsInput {
  client: RegistryClient;
  container: ContainerClient;
  image: ImageIdentity;
  verification: ArchiveVerificationLookup;
  /**
   * The image's own manifests, root first: its brown-out record's once it is browned out (the root then refuses
   * reads); read from the registry when absent.
   */
  graph?: ImageGraph;
  referrerLimits?: ReferrerLimits;
  abortSignal?: AbortSignal;
}

export async function checkPurgePreconditions(input: CheckPurgePreconditionsInput): Promise<PurgePreconditions> {
  const { client, container, image, verification } = input;
  const request: OperationOptions = input.abortSignal ? { abortSignal: input.abortSignal } : {};
  const failures: PreconditionFailure[] = [];
  const archiveBlob = archiveBlobName(image);
  const result = (registry: RegistryImageState, graph?: ImageGraph, referrers: Referrer[] = []) => ({
    ok: failures.length === 0,
    failures,
    archiveBlob,
    registry,
    ...(graph && { graph }),
    referrers,
  });
  const unknownRegistry: RegistryImageState = { attributes: false, present: false, tags: [] };

  // The archive: committed, recorded in its sidecar for this digest, verified.
  const [stored, committed] = await Promise.all([
    getSidecar<SidecarRecord>(container, sidecarBlobName(archiveBlob), request),
    getCommittedArchive(container, archiveBlob, request),
  ]);
  const sidecar = stored?.sidecar;
  if (!committed || !sidecar || sidecar.source?.digest !== image.digest) {
    failures.push({
      kind: "not-archived",
      detail: `${archiveBlob} is not committed with a sidecar of ${image.digest}`,
    });
    return result(unknownRegistry);
  }
  if (!(await verification.isVerified(archiveBlob, request)))
    failures.push({ kind: "not-verified", detail: `${archiveBlob} has not been verified` });

  // The registry now.
  const registry = await readRegistryImageState(client, image.repository, image.digest, request);
  if (!registry.present) {
    failures.push({ kind: "not-in-registry", detail: `${image.repository}@${image.digest} is not in the registry` });
    return result(registry);
  }
  let graph = input.graph;
  try {
    graph ??= await readImageGraph(client, image.repository, image.digest, request);
  } catch (error) {
    failures.push(unreadable(error, `the manifests of ${image.digest}`));
    return result(registry);
  }
  if (graphRoot(graph) !== image.digest)
    failures.push({ kind: "unreadable", detail: `the graph given is ${graphRoot(graph)}'s, not ${image.digest}'s` });

  // Tags: every tag naming the digest now is recorded for it; every tag recorded for it still names it.
  const latest = latestTagMarkers(await listTagMarkers(container, image.registry, image.repository, request));
  const sidecarTags = Array.isArray(sidecar.tags) ? sidecar.tags.filter((t) => typeof t === "string") : [];
  const recordedTags = new Set<string>();
  for (const marker of latest.values()) if (marker.digest === image.digest) recordedTags.add(marker.tag);
  // An archive written before tag markers: its sidecar's tags are its record, where no marker says otherwise.
  for (const tag of sidecarTags) if (!latest.has(tagKey(image.repository, tag))) recordedTags.add(tag);
  const unrecorded = registry.tags.filter((t) => !recordedTags.has(t));
  if (unrecorded.length > 0)
    failures.push({
      kind: "unrecorded-tags",
      tags: unrecorded,
      detail: `tag ${unrecorded.join(", ")} names the digest and is not recorded for it`,
    });
  const moved = [...recordedTags].filter((t) => !registry.tags.includes(t)).sort();
  if (moved.length > 0) {
    const now = await Promise.all(moved.map((t) => tagDigest(client, image.repository, t, registry, request)));
    failures.push({
      kind: "moved-tags",
      tags: moved,
      detail: moved
        .map((t, i) => `tag ${t} is recorded for the digest but names ${now[i] ?? "nothing"} now`)
        .join("; "),
    });
  }

  const lock = lockOf(registry.locks);
  if (lock) failures.push({ kind: "locked", detail: lock });

  // Referrers: all archived (the archive, or a verified supplement), none locked or tagged beyond its cosign tag.
  let referrers: Referrer[];
  try {
    referrers = (
      await discoverReferrers(
        client,
        image.repository,
        graph.manifests.map((m) => m.digest),
        { ...request, ...(input.referrerLimits && { limits: input.referrerLimits }) },
      )
    ).referrers;
  } catch (error) {
    failures.push(unreadable(error, `the referrers of ${image.digest}`));
    return result(registry, graph);
  }
  const archivedIn = referrerHomes(sidecar, archiveBlob);
  const unarchived = referrers.map((r) => r.descriptor.digest).filter((d) => !archivedIn.has(d));
  if (unarchived.length > 0)
    failures.push({
      kind: "unarchived-referrers",
      digests: unarchived,
      detail: `referrer ${unarchived.join(", ")} is in neither the archive nor a supplement`,
    });
  const supplements = [...new Set([...archivedIn.values()].filter((blob) => blob !== archiveBlob))];
  for (const supplement of supplements)
    if (!(await verification.isVerified(supplement, request))) {
      const inIt = referrers.map((r) => r.descriptor.digest).filter((d) => archivedIn.get(d) === supplement);
      if (inIt.length > 0)
        failures.push({
          kind: "unverified-supplement",
          digests: inIt,
          detail: `referrer ${inIt.join(", ")} is archived in ${supplement}, which has not been verified`,
        });
    }
  if (registry.attributes)
    for (const referrer of referrers) {
      const attributes = await client.findManifestAttributes(image.repository, referrer.descriptor.digest, request);
      if (!attributes) continue; // gone since it was found: nothing to delete, nothing locked
      const referrerLock = lockOf({ manifest: attributes.changeableAttributes });
      if (referrerLock)
        failures.push({
          kind: "locked",
          detail: `its referrer ${referrer.descriptor.digest}: ${referrerLock.replace(/^its /, "")}`,
        });
      const foreign = attributes.tags.filter((t) => t !== referrer.tag);
      if (foreign.length > 0)
        failures.push({
          kind: "referrer-tagged",
          detail: `its referrer ${referrer.descriptor.digest} is also tagged ${foreign.join(", ")}`,
        });
    }
  return result(registry, graph, referrers);
}

/**
 * The image's digest as the registry has it now: present or not, its tags, and (ACR) its locks and readEnabled. Read
 * from /acr/v1 where the registry has it (reads of a browned-out image are refused on /v2, not there), else from /v2
 * (a HEAD by digest, and the repository's tags each resolved).
 */
export async function readRegistryImageState(
  client: RegistryClient,
  repository: string,
  digest: string,
  options: OperationOptions = {},
): Promise<RegistryImageState> {
  const repositoryAttributes = await client.findRepositoryAttributes(repository, options);
  if (repositoryAttributes) {
    const manifest = await client.findManifestAttributes(repository, digest, options);
    if (!manifest) return { attributes: true, present: false, tags: [] };
    const tags = (await client.listTagAttributes(repository, digest, options)) ?? [];
    return {
      attributes: true,
      present: true,
      tags: tags
        .map((t) => t.name)
        .filter((t) => !isReferrerTag(t))
        .sort(),
      locks: {
        repository: repositoryAttributes.changeableAttributes,
        manifest: manifest.changeableAttributes,
        tags: tags.map((t) => ({ name: t.name, changeableAttributes: t.changeableAttributes })),
      },
      readEnabled: {
        manifest: manifest.changeableAttributes.readEnabled,
        tags: Object.fromEntries(tags.map((t) => [t.name, t.changeableAttributes.readEnabled])),
      },
      ...(manifest.lastUpdateTime && { lastUpdatedOn: manifest.lastUpdateTime }),
    };
  }
  if ((await client.getManifestDigest(repository, digest, options)) === undefined)
    return { attributes: false, present: false, tags: [] };
  const tags: string[] = [];
  for await (const tag of client.listTags(repository, options)) {
    if (isReferrerTag(tag)) continue;
    if ((await client.getManifestDigest(repository, tag, options)) === digest) tags.push(tag);
  }
  return { attributes: false, present: true, tags: tags.sort() };
}

/** Where a tag points now (undefined: nowhere). */
async function tagDigest(
  client: RegistryClient,
  repository: string,
  tag: string,
  registry: RegistryImageState,
  options: OperationOptions,
): Promise<string | undefined> {
  if (registry.attributes) return (await client.findTagAttributes(repository, tag, options))?.digest;
  return client.getManifestDigest(repository, tag, options);
}

/** What the sidecar says of the referrers: each archived referrer's digest, and the blob holding it. */
interface SidecarRecord {
  source?: { digest?: string };
  tags?: unknown[];
  referrers?: { digest?: unknown }[];
  supplements?: { archiveBlob?: unknown; referrers?: { digest?: unknown }[] }[];
}

function referrerHomes(sidecar: Partial<SidecarRecord>, archiveBlob: string): Map<string, string> {
  const homes = new Map<string, string>();
  for (const r of Array.isArray(sidecar.referrers) ? sidecar.referrers : [])
    if (typeof r?.digest === "string") homes.set(r.digest, archiveBlob);
  for (const supplement of Array.isArray(sidecar.supplements) ? sidecar.supplements : []) {
    const blob = supplement?.archiveBlob;
    // A sidecar is data: only a name that is this archive's supplement counts.
    if (typeof blob !== "string" || !isReferrersSupplementOf(blob, archiveBlob)) continue;
    for (const r of Array.isArray(supplement.referrers) ? supplement.referrers : [])
      if (typeof r?.digest === "string" && !homes.has(r.digest)) homes.set(r.digest, blob);
  }
  return homes;
}

/** A registry answer that keeps the image (a lock on reads, a bad graph); a transient failure is thrown, to retry. */
function unreadable(error: unknown, what: string): PreconditionFailure {
  if (!isArchiveError(error) || error.retryable) throw error;
  return { kind: "unreadable", detail: `${what}: ${error.code}: ${error.message}` };
}
