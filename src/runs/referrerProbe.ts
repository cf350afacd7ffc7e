// The listing's referrer probe (a refreshReferrers run): which images already archived have referrers their archive does not hold yet
// (a signature added after the archive, a new SBOM). Each archived image's referrer digests are probed in the registry
// (registry/referrers.ts: digests only; a tag that the repository's tag listing does not have is not asked for) and
// compared with those its sidecar records; only an image with new ones becomes work (a supplementary archive, written
// by its worker), so a re-run with none new starts no job. The probes of one run share a request budget
// (REFRESH_REFERRERS_MAX_REQUESTS, ACR meters reads a minute): once spent, the rest of the run's images are reported
// unchecked, not probed. The probes go round the catalog, repository by repository and, inside one, digest by digest;
// a cursor blob per registry (runs/runStore.ts) keeps where the round is: how far it got, and where each repository
// that the budget stopped in goes on (a page probes LISTING_CONCURRENCY repositories at once). The next run goes on
// from there, so successive runs always advance and every image gets its turn, however small the budget (as long as
// it pays for one image's probe).
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { recordedReferrerDigests, type ArchiveSidecar } from "../archive/sidecar.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { isValidDigest, isValidRepository } from "../registry/reference.js";
import { DEFAULT_REFERRER_LIMITS, probeReferrerDigests, type ReferrerLimits } from "../registry/referrers.js";
import { getSidecar } from "../storage/archiveStore.js";
import { archiveBlobName, sidecarBlobName } from "../storage/blobNames.js";
import type { ListedImage, ReferrerRefreshCounts } from "./archiveRun.js";

/** REFRESH_REFERRERS_MAX_REQUESTS and the referrer limits the probes follow (REFERRERS_MAX_DEPTH / _COUNT). */
export interface ReferrerRefreshConfig {
  /** Registry requests one run's probes may make in all. */
  maxRequests: number;
  limits: ReferrerLimits;
}

export const DEFAULT_REFRESH_REFERRERS_MAX_REQUESTS = 10_000;

export function emptyReferrerRefreshCounts(): ReferrerRefreshCounts {
  return { checked: 0, unchecked: 0, withNew: 0, requests: 0 };
}

export function addReferrerRefreshCounts(a: ReferrerRefreshCounts, b: ReferrerRefreshCounts): ReferrerRefreshCounts {
  return {
    checked: a.checked + b.checked,
    unchecked: a.unchecked + b.unchecked,
    withNew: a.withNew + b.withNew,
    requests: a.requests + b.requests,
  };
}

/** The run's probe budget, shared by a page's concurrent repositories: requests are counted as they are sent. */
export class ReferrerRequestBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  /** Whether another lookup may start (its token request and retries still count when they happen). */
  mayRequest = (): boolean => this.used < this.limit;
  onRequest = (): void => void this.used++;
  get requests(): number {
    return this.used;
  }
}

/**
 * Resume positions a cursor keeps at most. The budget stops at most the repositories probed at once (LISTING_CONCURRENCY,
 * ≤ 64) and a run reaches every earlier position before it makes new ones, so this is never reached in practice; past
 * it the cursor gives up the furthest positions, whose images are probed again (never skipped).
 */
export const MAX_REFERRER_PROBE_RESUMES = 128;

const repositoryName = z.string().refine(isValidRepository, "must be a repository name");

/**
 * Where a registry's refreshReferrers probes are in their round of the catalog (repositories in catalog order, the
 * archived images of one in digest order): the cursor blob, and what a run carries from page to page.
 */
export const referrerProbeCursorSchema = z.strictObject({
  /** Every repository up to this one has had its turn this round, except those in `resume`; absent: none has. */
  through: repositoryName.optional(),
  /** Repositories up to `through` that the budget stopped in: probes go on after `after` (or from the first image). */
  resume: z
    .array(
      z.strictObject({
        repository: repositoryName,
        after: z.string().refine(isValidDigest, "must be sha256:<64 hex>").optional(),
      }),
    )
    .max(MAX_REFERRER_PROBE_RESUMES)
    .optional(),
});
export type ReferrerProbeCursor = z.output<typeof referrerProbeCursorSchema>;

/** A run's probes so far: the cursor as its pages moved it, and whether the budget left an image unprobed. */
export const referrerProbeStateSchema = z.strictObject({
  cursor: referrerProbeCursorSchema,
  /** Set: the round goes on from `cursor` in the next run. Unset at the end: the round is done, the next one starts. */
  stopped: z.boolean(),
});
export type ReferrerProbeState = z.output<typeof referrerProbeStateSchema>;

/**
 * Where a repository's probes start this run: after a digest, at its first image (`{}`), or undefined: it has had its
 * turn this round (its next comes in the next round).
 */
export function referrerProbeStart(cursor: ReferrerProbeCursor, repository: string): { after?: string } | undefined {
  const resume = cursor.resume?.find((r) => r.repository === repository);
  if (resume) return resume.after !== undefined ? { after: resume.after } : {};
  if (cursor.through !== undefined && repository <= cursor.through) return undefined;
  return {};
}

/** What one repository's probes did in a run, for the cursor. */
export interface RepositoryProbeOutcome {
  repository: string;
  /**
   * Its listing started while the budget lasted. A page starts its repositories in catalog order, so these are a
   * prefix of it: only they move the cursor on (one reached after the budget ran out must not carry the round past the
   * repositories before it).
   */
  startedWithBudget: boolean;
  /** Every image after its start was probed (or needed no request). */
  complete: boolean;
  /** The last digest of the images it probed one after another from its start; absent: none. */
  last?: string;
}

/**
 * The cursor after a page's repositories: the round reaches the furthest repository the budget got through or into,
 * a repository done leaves the resume list, and one the budget stopped in (at or before that furthest one) keeps its
 * position. Repositories of other pages keep theirs.
 */
export function advanceReferrerProbeCursor(
  cursor: ReferrerProbeCursor,
  outcomes: readonly RepositoryProbeOutcome[],
): ReferrerProbeCursor {
  let through = cursor.through;
  for (const o of outcomes)
    if (
      o.startedWithBudget &&
      (o.complete || o.last !== undefined) &&
      (through === undefined || o.repository > through)
    )
      through = o.repository;
  const resume = new Map((cursor.resume ?? []).map((r) => [r.repository, r.after]));
  for (const o of outcomes) {
    if (o.complete) resume.delete(o.repository);
    else if (through !== undefined && o.repository <= through)
      resume.set(o.repository, o.last ?? resume.get(o.repository));
  }
  let positions = [...resume.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([repository, after]) => ({ repository, ...(after !== undefined && { after }) }));
  if (positions.length > MAX_REFERRER_PROBE_RESUMES) {
    // The round is taken back to the last position kept: everything after it is probed again, nothing is skipped.
    positions = positions.slice(0, MAX_REFERRER_PROBE_RESUMES);
    through = positions.at(-1)!.repository;
  }
  return { ...(through !== undefined && { through }), ...(positions.length > 0 && { resume: positions }) };
}

/**
 * A page's first image probe runs alone; the others wait for it. It learns whether the registry has the referrers API
 * for them, and, however small the budget, it completes that image: probes started at once could share out a small
 * budget and all stop short, and the next run would do the same.
 */
export class FirstProbeGate {
  private first: Promise<void> | undefined;
  async run<T>(probe: () => Promise<T>): Promise<T> {
    if (this.first) {
      await this.first;
      return probe();
    }
    const result = probe();
    this.first = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export interface FindNewReferrersResult extends ReferrerRefreshCounts {
  /** Some image was left unprobed because the budget was spent. */
  budgetSpent: boolean;
  /** The last digest of the images probed one after another from the start (digest order); absent: none. */
  last?: string;
}

export interface FindNewReferrersOptions extends OperationOptions {
  registryName: string;
  repository: string;
  referrerTags: ReadonlySet<string>;
  budget: ReferrerRequestBudget;
  limits?: ReferrerLimits;
  /** Whether the registry has the referrers API, shared by the page's probes (the first one asks). */
  registryFeatures: { referrersApi?: boolean };
  /** Where the cursor says this repository goes on: after this digest (those up to it had their turn this round). */
  after?: string;
  /** The page's gate: its first probe runs alone. */
  gate?: FirstProbeGate;
}

/**
 * Marks each archived image of one repository that has referrers its archive lacks (`newReferrers`), and counts what
 * was probed. Images go in digest order, from the one after `after`. A repository without referrer tags on a registry
 * without the referrers API costs nothing: no probe, no sidecar read.
 */
export async function findNewReferrers(
  client: RegistryClient,
  container: ContainerClient,
  images: ListedImage[],
  options: FindNewReferrersOptions,
): Promise<FindNewReferrersResult> {
  const {
    registryName,
    repository,
    referrerTags,
    budget,
    limits = DEFAULT_REFERRER_LIMITS,
    registryFeatures,
    after,
    gate = new FirstProbeGate(),
  } = options;
  const counts: FindNewReferrersResult = { ...emptyReferrerRefreshCounts(), budgetSpent: false };
  const request = {
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
    onRequest: () => {
      budget.onRequest();
      counts.requests++;
      options.onRequest?.();
    },
  };
  const archived = images.filter((i) => i.archived).sort((a, b) => (a.digest < b.digest ? -1 : 1));
  // The cursor moves past an image only while none before it was left unprobed.
  const done = (image: ListedImage) => {
    counts.checked++;
    if (!counts.budgetSpent) counts.last = image.digest;
  };
  for (const image of archived) {
    if (after !== undefined && image.digest <= after) {
      // Its turn this round came in an earlier run.
      counts.unchecked++;
      continue;
    }
    if (registryFeatures.referrersApi === false && referrerTags.size === 0) {
      done(image);
      continue;
    }
    if (!budget.mayRequest()) {
      counts.unchecked++;
      counts.budgetSpent = true;
      continue;
    }
    const identity = { registry: registryName, repository, digest: image.digest };
    const stored = await getSidecar<ArchiveSidecar>(container, sidecarBlobName(archiveBlobName(identity)), request);
    const sidecar = stored?.sidecar;
    // No readable sidecar: the listing would not have called it archived; its worker rewrites it, nothing to compare.
    if (!sidecar) {
      done(image);
      continue;
    }
    const subjects = [...new Set([image.digest, ...(sidecar.platforms ?? []).map((p) => p.digest)])];
    const probe = await gate.run(() =>
      probeReferrerDigests(client, repository, subjects, {
        ...request,
        limits,
        referrerTags,
        registry: registryFeatures,
        mayRequest: budget.mayRequest,
      }),
    );
    const known = recordedReferrerDigests(sidecar);
    const fresh = probe.digests.filter((d) => !known.has(d)).length;
    if (fresh > 0) {
      image.newReferrers = fresh;
      counts.withNew++;
      done(image);
    } else if (probe.complete) done(image);
    else {
      counts.unchecked++;
      counts.budgetSpent = true;
    }
  }
  return counts;
}
