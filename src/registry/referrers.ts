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
import { isSha256Digest, SHA256_HEX_SOURCE } from "./digest.js";
import { artifactTypeOf, manifestNodeOf, walkManifests, type ImageNode, type ManifestNode } from "./manifestGraph.js";
import type { GetManifestResult, OperationOptions, RegistryClient } from "./registryClient.js";
import type { Descriptor } from "./types.js";

export type ReferrerSource = "referrers-api" | "tag-schema" | "cosign-tag";

export interface Referrer {
  /** The referrer manifest: media type, digest and size of its exact bytes, its artifactType and annotations. */
  descriptor: Descriptor;
  bytes: Buffer;
  /** Its manifest, parsed once; an index referrer (an SBOM per platform, say) is an index node with `children`. */
  node: ManifestNode;
  /** An index referrer's manifests (image manifests, each verified): archived and pushed before the index. */
  children?: ImageNode[];
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

const REFERRER_TAG = new RegExp(`^sha256-${SHA256_HEX_SOURCE}(?:\\.(?:sig|att|sbom))?$`);

/** The referrers tag schema's tag of a subject: `sha256-<hex>` (cosign's tags add a suffix). */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** A tag of the referrers tag schema or cosign's legacy scheme: a referrer's, never an image's own. */
export function isReferrerTag(tag: string): boolean {
  return REFERRER_TAG.test(tag);
}

/** A referrer some listing names: by the referrers API or the tag schema's index (`listed`), or by a cosign tag. */
interface Candidate {
  digest: string;
  source: ReferrerSource;
  /** The descriptor a listing gave (API, tag schema index). */
  listed?: Descriptor;
  /** The manifest already fetched (a cosign tag, when the lookup verifies). */
  fetched?: GetManifestResult;
  tag?: string;
}

/**
 * How a walk asks for one subject's referrers: the referrers API when the registry has one, else the tag schema's index,
 * and cosign's three tags. Its two uses differ in what they need of the answers: discovery verifies (`verify`: each
 * cosign tag's manifest is fetched, the tag schema's index must be one, the four lookups run at once); a probe wants
 * digests within a budget (a cosign tag's digest by HEAD, what is not a digest skipped, one lookup at a time, each
 * asked of `mayRequest` first, and a tag the repository's listing lacks never asked for).
 */
interface ReferrerLookup {
  client: RegistryClient;
  repository: string;
  request: OperationOptions;
  /** What the referrers API is asked for: one artifactType, and at most this many descriptors. */
  listing: { artifactType?: string; maxReferrers: number };
  /** Whether the registry has the referrers API: learnt by the first lookup, shared by the next. */
  registry: { referrersApi?: boolean };
  verify: boolean;
  mayRequest: () => boolean;
  isListedTag: (tag: string) => boolean;
  /** Called for each lookup request (a listing's pages count as one). */
  onLookup?: () => void;
}

interface LookupAnswer {
  /** In listing order: the API's or the index's, then the cosign tags'. */
  candidates: Candidate[];
  /** mayRequest said no: the candidates are a part. */
  stopped: boolean;
}

async function lookupReferrers(subject: string, lookup: ReferrerLookup): Promise<LookupAnswer> {
  const { client, repository, request, registry, verify } = lookup;
  const tag = referrersTag(subject);
  // The API (or, without it, the tag schema's index).
  const listed = async (): Promise<LookupAnswer> => {
    const candidates: Candidate[] = [];
    if (registry.referrersApi !== false) {
      if (!lookup.mayRequest()) return { candidates, stopped: true };
      lookup.onLookup?.();
      const found = await client.listReferrers(repository, subject, { ...request, ...lookup.listing });
      registry.referrersApi = found !== undefined;
      for (const d of found ?? []) candidates.push({ digest: d.digest, source: "referrers-api", listed: d });
    }
    if (registry.referrersApi === false && lookup.isListedTag(tag)) {
      if (!lookup.mayRequest()) return { candidates, stopped: true };
      lookup.onLookup?.();
      const index = await client.findManifest(repository, tag, request);
      if (index) candidates.push(...tagSchemaCandidates(index, `${repository}:${tag}`, subject, verify));
    }
    return { candidates, stopped: false };
  };
  const cosign = async (suffix: string): Promise<LookupAnswer> => {
    const cosignTag = `${tag}${suffix}`;
    if (!lookup.isListedTag(cosignTag)) return { candidates: [], stopped: false };
    if (!lookup.mayRequest()) return { candidates: [], stopped: true };
    lookup.onLookup?.();
    let candidate: Candidate | undefined;
    if (verify) {
      const fetched = await client.findManifest(repository, cosignTag, request);
      if (fetched) candidate = { digest: fetched.descriptor.digest, source: "cosign-tag", fetched, tag: cosignTag };
    } else {
      const digest = await client.getManifestDigest(repository, cosignTag, request);
      if (isSha256Digest(digest)) candidate = { digest, source: "cosign-tag", tag: cosignTag };
    }
    return { candidates: candidate ? [candidate] : [], stopped: false };
  };
  const asks = [listed, ...COSIGN_TAG_SUFFIXES.map((suffix) => () => cosign(suffix))];
  const answers: LookupAnswer[] = [];
  if (verify) answers.push(...(await Promise.all(asks.map((ask) => ask()))));
  else
    for (const ask of asks) {
      const answer = await ask();
      answers.push(answer);
      if (answer.stopped) break;
    }
  const candidates = answers.flatMap((a) => a.candidates);
  return { candidates, stopped: answers.some((a) => a.stopped) };
}

/**
 * The referrers the tag schema's index of `subject` lists. Verified, it must be an index of valid descriptors
 * (REFERRER_GRAPH_INVALID); a probe takes the digests it finds (the worker's discovery fails a bad index clearly).
 */
function tagSchemaCandidates(index: GetManifestResult, what: string, subject: string, verify: boolean): Candidate[] {
  if (!verify) {
    const listed: unknown = (index.manifest as { manifests?: unknown }).manifests;
    if (!Array.isArray(listed)) return [];
    return listed
      .map((d) => (d as { digest?: unknown } | null)?.digest)
      .filter(isSha256Digest)
      .map((digest) => ({ digest, source: "tag-schema" }));
  }
  const node = manifestNodeOf(index, {
    what: `${what} (the referrers tag schema's index of ${subject})`,
    invalid: "REFERRER_GRAPH_INVALID",
  });
  if (node.kind !== "index")
    throw new ArchiveError(
      "REFERRER_GRAPH_INVALID",
      `${what} (the referrers tag schema's index of ${subject}) is not an image index`,
    );
  return node.children.map((d) => ({ digest: d.digest, source: "tag-schema", listed: d }));
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
  const registry: { referrersApi?: boolean } = {};
  const lookup: ReferrerLookup = {
    client,
    repository,
    request,
    listing: { ...(artifactTypes?.length === 1 && { artifactType: artifactTypes[0]! }), maxReferrers: limits.maxCount },
    registry,
    verify: true,
    mayRequest: () => true,
    isListedTag: () => true,
    onLookup: () => void result.requests++,
  };
  const referrersOf = async (subject: string) => (await lookupReferrers(subject, lookup)).candidates;

  // Lookups and fetches run concurrently; their outcomes are checked in the order a sequential walk would meet them,
  // so the referrers found, their order and the error thrown for a bad graph do not depend on timing.
  let frontier = subjects.map((digest) => ({ digest, ancestors: [] as string[] }));
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: typeof frontier = [];
    // The first lookup on a registry learns whether it has the referrers API: the others wait for it.
    const lookups: PromiseSettledResult<Candidate[]>[] = [];
    if (registry.referrersApi === undefined)
      lookups.push(...(await settleConcurrent(frontier.slice(0, 1), 1, (s) => referrersOf(s.digest))));
    lookups.push(
      ...(await settleConcurrent(frontier.slice(lookups.length), REFERRER_LOOKUP_CONCURRENCY, (s) =>
        referrersOf(s.digest),
      )),
    );
    if (registry.referrersApi !== undefined) result.referrersApi = registry.referrersApi;
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
      const subject = child.subject?.digest;
      if (subject === undefined || graph.has(subject)) continue;
      throw new ArchiveError(
        "REFERRER_GRAPH_INVALID",
        `manifest ${child.descriptor.digest} of index referrer ${referrer.descriptor.digest} in ${repository}: its subject ${subject} is neither the image nor one of its referrers`,
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
  const node = manifestNodeOf(got, { what, invalid: "UNSUPPORTED_MEDIA_TYPE" });
  // An index referrer: each manifest it lists fetched by digest and verified; one level only (no index of indexes).
  let children: ImageNode[] = [];
  if (node.kind === "index") {
    if (node.children.length === 0 || node.children.length > MAX_INDEX_REFERRER_MANIFESTS)
      throw new ArchiveError(
        "REFERRER_GRAPH_INVALID",
        `${what} is an index of more than ${MAX_INDEX_REFERRER_MANIFESTS} manifests (or of none)`,
      );
    const walk = await walkManifests(
      node,
      async (listed) =>
        manifestNodeOf(await client.getManifest(repository, listed.digest, options), {
          what: `manifest ${listed.digest} of ${what}`,
          invalid: "UNSUPPORTED_MEDIA_TYPE",
        }),
      {
        maxDepth: 1,
        onNode: (child, listed) => {
          if (listed && child.kind !== "image")
            throw new ArchiveError(
              "UNSUPPORTED_MEDIA_TYPE",
              `manifest ${listed.digest} of ${what} is not an image manifest (an index referrer lists image manifests)`,
            );
        },
      },
    );
    children = walk.parentsFirst.slice(1) as ImageNode[];
  }
  // The API and the tag schema list manifests BY their subject; a cosign tag names it, and its manifest may say none.
  const stated = node.subject?.digest;
  if (stated !== subject && (candidate.source !== "cosign-tag" || stated !== undefined))
    throw new ArchiveError(
      "REFERRER_GRAPH_INVALID",
      `${what}: its subject is ${stated ?? "missing"}, not the manifest it was listed for`,
    );
  const artifactType = artifactTypeOf(node);
  const descriptor: Descriptor = {
    ...got.descriptor,
    ...(artifactType && { artifactType }),
    ...(node.annotations && { annotations: node.annotations }),
  };
  return {
    descriptor,
    bytes: got.bytes,
    node,
    subject,
    source: candidate.source,
    ...(candidate.tag && { tag: candidate.tag }),
    depth,
    ...(children.length > 0 && { children }),
    blobs: node.kind === "index" ? children.flatMap((c) => c.blobs) : [...node.blobs],
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
  const lookup: ReferrerLookup = {
    client,
    repository,
    request,
    listing: { maxReferrers: limits.maxCount },
    registry,
    verify: false,
    mayRequest,
    isListedTag: (tag) => referrerTags === undefined || referrerTags.has(tag),
  };
  const seen = new Set(subjects);
  const digests: string[] = [];
  let frontier = [...seen];
  for (let depth = 1; depth <= limits.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const subject of frontier) {
      const { candidates, stopped } = await lookupReferrers(subject, lookup);
      for (const { digest } of candidates) {
        if (seen.has(digest)) continue;
        seen.add(digest);
        digests.push(digest);
        next.push(digest);
      }
      if (stopped) return { digests, complete: false };
      // More than an archive may hold: the worker's discovery fails the image with REFERRER_GRAPH_INVALID, clearly.
      if (digests.length > limits.maxCount) return { digests, complete: true };
    }
    frontier = next;
  }
  return { digests, complete: true };
}
