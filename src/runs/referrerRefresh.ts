// refreshReferrers in a run's listing: which images already archived have referrers their archive does not hold yet
// (a signature added after the archive, a new SBOM). Each archived image's referrer digests are probed in the registry
// (registry/referrers.ts: digests only; a tag that the repository's tag listing does not have is not asked for) and
// compared with those its sidecar records; only an image with new ones becomes work (a supplementary archive, written
// by its worker), so a re-run with none new starts no job. The probes of one run share a request budget
// (REFRESH_REFERRERS_MAX_REQUESTS, ACR meters reads a minute): once spent, the rest of the run's images are reported
// unchecked, not probed, and the next run's probes start at the repository where it ran out (a cursor blob per
// registry, runs/runStore.ts), so every image gets its turn, round the catalog, however small the budget.
import type { ContainerClient } from "@azure/storage-blob";
import type { ArchiveSidecar } from "../archive/sidecar.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
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

export interface FindNewReferrersResult extends ReferrerRefreshCounts {
  /** Some image was left unprobed because the budget was spent. */
  budgetSpent: boolean;
}

export interface FindNewReferrersOptions extends OperationOptions {
  registryName: string;
  repository: string;
  referrerTags: ReadonlySet<string>;
  budget: ReferrerRequestBudget;
  limits?: ReferrerLimits;
  /** Whether the registry has the referrers API, shared by the page's probes (the first one asks). */
  registryFeatures: { referrersApi?: boolean };
}

/**
 * Marks each archived image of one repository that has referrers its archive lacks (`newReferrers`), and counts what
 * was probed. A repository without referrer tags on a registry without the referrers API costs nothing: no probe, no
 * sidecar read.
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
  for (const image of images.filter((i) => i.archived)) {
    if (registryFeatures.referrersApi === false && referrerTags.size === 0) {
      counts.checked++;
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
      counts.checked++;
      continue;
    }
    const subjects = [...new Set([image.digest, ...(sidecar.platforms ?? []).map((p) => p.digest)])];
    const probe = await probeReferrerDigests(client, repository, subjects, {
      ...request,
      limits,
      referrerTags,
      registry: registryFeatures,
      mayRequest: budget.mayRequest,
    });
    const known = new Set(
      [...(sidecar.referrers ?? []), ...(sidecar.supplements ?? []).flatMap((s) => s.referrers ?? [])].map(
        (r) => r.digest,
      ),
    );
    const fresh = probe.digests.filter((d) => !known.has(d)).length;
    if (fresh > 0) {
      image.newReferrers = fresh;
      counts.withNew++;
      counts.checked++;
    } else if (probe.complete) counts.checked++;
    else {
      counts.unchecked++;
      counts.budgetSpent = true;
    }
  }
  return counts;
}
