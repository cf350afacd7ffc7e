// Discovers an image's referrers (signatures, SBOMs, attestations: OCI 1.1 `subject`), and what refers to them in turn
// (a signature of an SBOM). For each subject, from:
// - the referrers API (GET /v2/<name>/referrers/<digest>) when the registry has one (ACR does); otherwise
// - the referrers tag schema: the tag `sha256-<hex>` names an index of the subject's referrers (what OCI 1.1 clients
//   maintain on registries without the API, such as distribution 2.8); and, on every registry,
// - cosign's legacy tags `sha256-<hex>.sig`, `.att`, `.sbom` (cosign 2 signs that way by default).
// Every referrer manifest is fetched and verified like the image's own (its digest; the size its descriptor says; its
// `subject` is the manifest it was listed for; an index referrer's manifests too, whose own `subject`, if any, must be
// the image or one of its referrers). Bounded in depth and count; a referrer that is one of the image's own
// manifests or one of its own ancestors is a cycle. Each of these fails the image with REFERRER_GRAPH_INVALID: a
// referrer is never dropped silently.
import { settleConcurrent, settledValue } from "../concurrency.js";
import { ArchiveError } from "../errors.js";
import type { GetManifestResult, OperationOptions, RegistryClient } from "./registryClient.js";
import {
  isImageManifestMediaType,
  isIndex,
  isIndexMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from "./types.js";

export type ReferrerSource = "referrers-api" | "tag-schema" | "cosign-tag";

export interface Referrer {
  /** The referrer manifest: media type, digest and size of its exact bytes, its artifactType and annotations. */
  descriptor: Descriptor;
  bytes: Buffer;
  /** Its manifest; an index referrer (an SBOM per platform, say) is an ImageIndex with `children`. */
  manifest: ImageManifest | ImageIndex;
  /** An index referrer's manifests (image manifests, each verified): archived and pushed before the index. */
  children?: { descriptor: Descriptor; bytes: Buffer; manifest: ImageManifest }[];
  /** The digest of the manifest it refers to: its `subject`, or the digest its cosign tag is named after. */
  subject: string;
  source: ReferrerSource;
  /** The cosign tag it was found under (`sha256-<hex>.sig`): a restore pushes it under that tag again. */
  tag?: string;
  /** 1: refers to one of the image's own manifests; 2: to a referrer of one; … */
  depth: number;
  /** Its config and layers (an index referrer: its manifests'): archived like an image's. */
  blobs: Descriptor[];
}

/** Manifests one index referrer may list. */
export const MAX_INDEX_REFERRER_MANIFESTS = 64;

export interface ReferrerLimits {
  /** Levels of referrers followed (1: the image's own referrers only); 0 looks for none. */
  maxDepth: number;
  /** Referrers one image may have in all. */
  maxCount: number;
}

/** REFERRERS_MAX_DEPTH and REFERRERS_MAX_COUNT's defaults (src/config.ts). */
export const DEFAULT_REFERRER_LIMITS: ReferrerLimits = { maxDepth: 3, maxCount: 100 };

export interface DiscoverReferrersOptions extends OperationOptions {
  limits?: ReferrerLimits;
  /** Keep referrers of these artifact types only (asked of the referrers API when it is one type); default all. */
  artifactTypes?: string[];
}

export interface ReferrerDiscovery {
  /** Each referrer once, parents before the referrers that refer to them. */
  referrers: Referrer[];
  /** Whether the registry has the referrers API (false: the tag schema was read); undefined when nothing was asked. */
  referrersApi?: boolean;
  /** Registry requests made (listing pages count as one). */
  requests: number;
}

/** Subjects looked up at once, and referrer manifests fetched at once (each lookup is four requests in flight). */
const REFERRER_LOOKUP_CONCURRENCY = 4;

/** cosign's legacy tag suffixes: signature, attestation, SBOM. */
export const COSIGN_TAG_SUFFIXES = [".sig", ".att", ".sbom"] as const;

/** The referrers tag schema's tag of a subject: `sha256-<hex>` (cosign's tags add a suffix). */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** A tag of the referrers tag schema or cosign's legacy scheme: a referrer's, never an image's own. */
export function isReferrerTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}(?:\.(?:sig|att|sbom))?$/.test(tag);
}

/** The artifact type OCI 1.1 gives a manifest: its `artifactType`, else its config's media type (an index: none). */
export function artifactTypeOf(manifest: ImageManifest | ImageIndex): string | undefined {
  return manifest.artifactType ?? (isIndex(manifest) ? undefined : manifest.config?.mediaType);
}

interface Candidate {
  digest: string;
  source: ReferrerSource;
  /** The descriptor a listing gave (API, tag schema index). */
  listed?: Descriptor;
  /** The manifest already fetched (a cosign tag). */
  fetched?: GetManifestResult;
  tag?: string;
}

/** The referrers of `subjects` (the image's own manifest digests: the root and each platform's) and theirs, bounded. */
export async function discoverReferrers(
  client: RegistryClient,
  repository: string,
  subjects: string[],
  options: DiscoverReferrersOptions = {},
): Promise<ReferrerDiscovery> {
  const { limits = DEFAULT_REFERRER_LIMITS, artifactTypes, ...request } = options;
  const result: ReferrerDiscovery = { referrers: [], requests: 0 };
  if (limits.maxDepth <= 0) return result;
  const own = new Set(subjects);
  const found = new Set<string>();
  const wanted = artifactTypes?.length ? new Set(artifactTypes) : undefined;
  const askType = artifactTypes?.length === 1 ? { artifactType: artifactTypes[0]! } : {};

  // The API (or, without it, the tag schema's index) and the three cosign tags, asked at once.
  const referrersOf = async (subject: string): Promise<Candidate[]> => {
    const tag = referrersTag(subject);
    const [listed, ...cosign] = await Promise.all([
      listedReferrersOf(subject, tag),
      ...COSIGN_TAG_SUFFIXES.map(async (suffix): Promise<Candidate | undefined> => {
        result.requests++;
        const fetched = await client.findManifest(repository, `${tag}${suffix}`, request);
        return fetched && { digest: fetched.descriptor.digest, source: "cosign-tag", fetched, tag: `${tag}${suffix}` };
      }),
    ]);
    return [...listed, ...cosign.filter((c) => c !== undefined)];
  };
  const listedReferrersOf = async (subject: string, tag: string): Promise<Candidate[]> => {
    const candidates: Candidate[] = [];
    if (result.referrersApi !== false) {
      result.requests++;
      const listed = await client.listReferrers(repository, subject, {
        ...request,
        ...askType,
        maxReferrers: limits.maxCount,
      });
      result.referrersApi = listed !== undefined;
      for (const d of listed ?? []) candidates.push({ digest: d.digest, source: "referrers-api", listed: d });
    }
    if (result.referrersApi === false) {
      result.requests++;
      const index = await client.findManifest(repository, tag, request);
      if (index) {
        if (!isIndex(index.manifest) || !isIndexMediaType(index.descriptor.mediaType))
          throw new ArchiveError(
            "REFERRER_GRAPH_INVALID",
            `${repository}:${tag} (the referrers tag schema's index of ${subject}) is not an image index`,
          );
        for (const d of index.manifest.manifests) {
          if (typeof d?.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(d.digest) || !Number.isSafeInteger(d.size))
            throw new ArchiveError("REFERRER_GRAPH_INVALID", `${repository}:${tag} lists an invalid descriptor`);
          candidates.push({ digest: d.digest, source: "tag-schema", listed: d });
        }
      }
    }
    return candidates;
  };

  // Lookups and fetches run concurrently; their outcomes are checked in the order a sequential walk would meet them,
  // so the referrers found, their order and the error thrown for a bad graph do not depend on timing.
  let frontier = subjects.map((digest) => ({ digest, ancestors: [] as string[] }));
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: typeof frontier = [];
    // The first lookup on a registry learns whether it has the referrers API: the others wait for it.
    const lookups: PromiseSettledResult<Candidate[]>[] = [];
    if (result.referrersApi === undefined)
      lookups.push(...(await settleConcurrent(frontier.slice(0, 1), 1, (s) => referrersOf(s.digest))));
    lookups.push(
      ...(await settleConcurrent(frontier.slice(lookups.length), REFERRER_LOOKUP_CONCURRENCY, (s) =>
        referrersOf(s.digest),
      )),
    );
    for (const [i, subject] of frontier.entries()) {
      // What a sequential walk does with each candidate up to the first that fails the graph: skip it, or fetch it.
      const steps: ({ fetch: Candidate; what: string } | { fail: ArchiveError })[] = [];
      const scheduled = new Set<string>();
      for (const candidate of settledValue(lookups[i]!)) {
        const what = `referrer ${candidate.digest} of ${subject.digest} in ${repository}`;
        if (
          own.has(candidate.digest) ||
          candidate.digest === subject.digest ||
          subject.ancestors.includes(candidate.digest)
        ) {
          steps.push({
            fail: new ArchiveError(
              "REFERRER_GRAPH_INVALID",
              `${what}: a cycle (it refers back to itself or the image)`,
            ),
          });
          break;
        }
        // Listed twice: by the API or index and by a cosign tag, or for two subjects.
        if (found.has(candidate.digest) || scheduled.has(candidate.digest)) continue;
        if (depth > limits.maxDepth) {
          steps.push({
            fail: new ArchiveError(
              "REFERRER_GRAPH_INVALID",
              `${what}: referrers nested deeper than ${limits.maxDepth} (REFERRERS_MAX_DEPTH)`,
            ),
          });
          break;
        }
        scheduled.add(candidate.digest);
        steps.push({ fetch: candidate, what });
      }
      // Fetched a window at a time, each window's outcomes checked before the next starts: a listing of thousands stops
      // at REFERRERS_MAX_COUNT having fetched at most one window more than a sequential walk would have.
      for (let start = 0; start < steps.length; start += REFERRER_LOOKUP_CONCURRENCY) {
        const window = steps.slice(start, start + REFERRER_LOOKUP_CONCURRENCY);
        const fetched = await settleConcurrent(window, REFERRER_LOOKUP_CONCURRENCY, async (step) =>
          "fetch" in step
            ? fetchReferrer(client, repository, subject.digest, step.fetch, depth, step.what, request)
            : undefined,
        );
        for (const [j, step] of window.entries()) {
          if ("fail" in step) throw step.fail;
          const referrer = settledValue(fetched[j]!)!;
          if (wanted && !wanted.has(referrer.descriptor.artifactType ?? "")) continue;
          if (result.referrers.length >= limits.maxCount)
            throw new ArchiveError(
              "REFERRER_GRAPH_INVALID",
              `${repository}: more than ${limits.maxCount} referrers (REFERRERS_MAX_COUNT)`,
            );
          found.add(referrer.descriptor.digest);
          result.referrers.push(referrer);
          next.push({ digest: referrer.descriptor.digest, ancestors: [...subject.ancestors, subject.digest] });
        }
      }
    }
    frontier = next;
  }
  assertChildSubjects(result.referrers, own, repository);
  return result;
}

/**
 * An index referrer's manifests may name a `subject` of their own: only one of the image's manifests or of its
 * referrers. Pushed on a restore, a manifest naming another image would be listed by a registry with the referrers API
 * as that image's signature or SBOM. Checked once the whole graph is known (a child may name a referrer found later).
 */
function assertChildSubjects(referrers: Referrer[], own: ReadonlySet<string>, repository: string): void {
  const graph = new Set([...own, ...referrers.map((r) => r.descriptor.digest)]);
  for (const referrer of referrers)
    for (const child of referrer.children ?? []) {
      const subject: unknown = (child.manifest as { subject?: unknown }).subject;
      if (subject === undefined) continue;
      const digest = (subject as { digest?: unknown } | null)?.digest;
      if (typeof digest === "string" && graph.has(digest)) continue;
      throw new ArchiveError(
        "REFERRER_GRAPH_INVALID",
        `manifest ${child.descriptor.digest} of index referrer ${referrer.descriptor.digest} in ${repository}: its subject ${typeof digest === "string" ? digest : "(invalid)"} is neither the image nor one of its referrers`,
      );
    }
}

async function fetchReferrer(
  client: RegistryClient,
  repository: string,
  subject: string,
  candidate: Candidate,
  depth: number,
  what: string,
  options: OperationOptions,
): Promise<Referrer> {
  const got = candidate.fetched ?? (await client.getManifest(repository, candidate.digest, options));
  if (candidate.listed && candidate.listed.size !== got.descriptor.size)
    throw new ArchiveError(
      "SIZE_MISMATCH",
      `${what} is ${got.descriptor.size} bytes, its ${candidate.source} descriptor says ${candidate.listed.size}`,
    );
  const { manifest } = got;
  const index = isIndexMediaType(got.descriptor.mediaType) && isIndex(manifest);
  if (!index && (!isImageManifestMediaType(got.descriptor.mediaType) || isIndex(manifest)))
    throw new ArchiveError(
      "UNSUPPORTED_MEDIA_TYPE",
      `${what} has media type ${got.descriptor.mediaType}: only image manifests and indexes are archived as referrers`,
    );
  if (!isIndex(manifest) && (!manifest.config || !Array.isArray(manifest.layers)))
    throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${what} is not an image manifest (no config or layers)`);
  // An index referrer: each manifest it lists fetched by digest and verified; one level only (no index of indexes).
  const children: NonNullable<Referrer["children"]> = [];
  if (isIndex(manifest)) {
    if (!Array.isArray(manifest.manifests) || manifest.manifests.length > MAX_INDEX_REFERRER_MANIFESTS)
      throw new ArchiveError(
        "REFERRER_GRAPH_INVALID",
        `${what} is an index of more than ${MAX_INDEX_REFERRER_MANIFESTS} manifests (or of none)`,
      );
    for (const listed of manifest.manifests) {
      if (typeof listed?.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(listed.digest))
        throw new ArchiveError("REFERRER_GRAPH_INVALID", `${what} lists an invalid descriptor`);
      const child = await client.getManifest(repository, listed.digest, options);
      if (child.descriptor.size !== listed.size)
        throw new ArchiveError(
          "SIZE_MISMATCH",
          `manifest ${listed.digest} of ${what} is ${child.descriptor.size} bytes, the index says ${listed.size}`,
        );
      if (isIndex(child.manifest) || !child.manifest.config || !Array.isArray(child.manifest.layers))
        throw new ArchiveError(
          "UNSUPPORTED_MEDIA_TYPE",
          `manifest ${listed.digest} of ${what} is not an image manifest (an index referrer lists image manifests)`,
        );
      children.push({ descriptor: child.descriptor, bytes: child.bytes, manifest: child.manifest });
    }
  }
  // The API and the tag schema list manifests BY their subject; a cosign tag names it, and its manifest may say none.
  const stated = manifest.subject?.digest;
  if (stated !== subject && (candidate.source !== "cosign-tag" || stated !== undefined))
    throw new ArchiveError(
      "REFERRER_GRAPH_INVALID",
      `${what}: its subject is ${stated ?? "missing"}, not the manifest it was listed for`,
    );
  const artifactType = artifactTypeOf(manifest);
  const descriptor: Descriptor = {
    ...got.descriptor,
    ...(artifactType && { artifactType }),
    ...(manifest.annotations && { annotations: manifest.annotations }),
  };
  return {
    descriptor,
    bytes: got.bytes,
    manifest,
    subject,
    source: candidate.source,
    ...(candidate.tag && { tag: candidate.tag }),
    depth,
    ...(children.length > 0 && { children }),
    blobs: isIndex(manifest)
      ? children.flatMap((c) => [c.manifest.config, ...c.manifest.layers])
      : [manifest.config, ...manifest.layers],
  };
}

export interface ProbeReferrersOptions extends OperationOptions {
  limits?: ReferrerLimits;
  /**
   * The repository's tags of the referrers tag schema and cosign's scheme, from its tag listing: a tag not in it is not
   * asked for (on a registry without the referrers API, an image with no such tag costs no request). Undefined: ask.
   */
  referrerTags?: ReadonlySet<string>;
  /** Whether the registry has the referrers API, learnt by the first probe and shared by the next (undefined: ask). */
  registry?: { referrersApi?: boolean };
  /** Asked before each lookup: false stops the probe, incomplete (a run's request budget is spent). */
  mayRequest?: () => boolean;
}

export interface ReferrerProbe {
  /** Every referrer digest reachable from the subjects (within the depth limit), parents first. */
  digests: string[];
  /** False when the probe stopped because mayRequest said so: `digests` is then a part. */
  complete: boolean;
}

/**
 * The digests of the referrers of `subjects` and theirs: what a run's listing compares with an archive's sidecar to
 * learn whether referrers arrived since. Digests only: no referrer manifest is fetched or verified here (the worker that
 * archives new ones does that, with discoverReferrers); one request per subject asked, and a listed tag's index.
 */
export async function probeReferrerDigests(
  client: RegistryClient,
  repository: string,
  subjects: string[],
  options: ProbeReferrersOptions = {},
): Promise<ReferrerProbe> {
  const {
    limits = DEFAULT_REFERRER_LIMITS,
    referrerTags,
    registry = {},
    mayRequest = () => true,
    ...request
  } = options;
  const seen = new Set(subjects);
  const digests: string[] = [];
  const listed = (tag: string) => referrerTags === undefined || referrerTags.has(tag);
  const isDigest = (d: unknown): d is string => typeof d === "string" && /^sha256:[a-f0-9]{64}$/.test(d);
  let frontier = [...seen];
  for (let depth = 1; depth <= limits.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    const add = (digest: string) => {
      if (seen.has(digest)) return;
      seen.add(digest);
      digests.push(digest);
      next.push(digest);
    };
    for (const subject of frontier) {
      if (registry.referrersApi !== false) {
        if (!mayRequest()) return { digests, complete: false };
        const found = await client.listReferrers(repository, subject, { ...request, maxReferrers: limits.maxCount });
        registry.referrersApi = found !== undefined;
        for (const d of found ?? []) if (isDigest(d.digest)) add(d.digest);
      }
      const tag = referrersTag(subject);
      if (registry.referrersApi === false && listed(tag)) {
        if (!mayRequest()) return { digests, complete: false };
        const index = await client.findManifest(repository, tag, request);
        if (index && isIndex(index.manifest))
          for (const d of index.manifest.manifests as unknown[]) {
            const digest = (d as { digest?: unknown } | null)?.digest;
            if (isDigest(digest)) add(digest);
          }
      }
      for (const suffix of COSIGN_TAG_SUFFIXES) {
        if (!listed(`${tag}${suffix}`)) continue;
        if (!mayRequest()) return { digests, complete: false };
        const digest = await client.getManifestDigest(repository, `${tag}${suffix}`, request);
        if (digest) add(digest);
      }
      // More than an archive may hold: the worker's discovery fails the image with REFERRER_GRAPH_INVALID, clearly.
      if (digests.length > limits.maxCount) return { digests, complete: true };
    }
    frontier = next;
  }
  return { digests, complete: true };
}
