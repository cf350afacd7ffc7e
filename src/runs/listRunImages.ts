// A run's listing, one catalog page of repositories at a time: the registry's images its filters select, which of
// them are already archived (one prefix listing of the archive container per repository: no reads), the tags of the
// archived ones recorded where they changed (tag markers), and the rest cut into batches. Each page is its own activity
// call and its own blob, so a crash or a timeout costs one page, memory holds one page whatever the registry's size,
// and the orchestration carries only the repository name the catalog continues after.
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { mapConcurrent } from "../concurrency.js";
import type { RegistryClient } from "../registry/registryClient.js";
import { isValidRepository } from "../registry/reference.js";
import { archiveBlobName } from "../storage/blobNames.js";
import { latestTagMarkers, listTagMarkers, recordTagSeen, tagKey } from "../storage/tagMarkers.js";
import { archiveRunInputSchema, type ListedImage, type ReferrerRefreshCounts } from "./archiveRun.js";
import { imageSelection } from "./imageListing.js";
import { listArchivedDigests } from "../storage/archiveStore.js";
import {
  assertRunNotEnded,
  readListingPage,
  readReferrerProbeCursor,
  writeListingPage,
  writeReferrerProbeCursor,
  type ListingPage,
} from "./runStore.js";
import { DEFAULT_REFERRER_LIMITS } from "../registry/referrers.js";
import {
  addReferrerRefreshCounts,
  advanceReferrerProbeCursor,
  DEFAULT_REFRESH_REFERRERS_MAX_REQUESTS,
  emptyReferrerRefreshCounts,
  findNewReferrers,
  FirstProbeGate,
  referrerProbeStart,
  referrerProbeStateSchema,
  ReferrerRequestBudget,
  type ReferrerProbeState,
  type ReferrerRefreshConfig,
  type RepositoryProbeOutcome,
} from "./referrerProbe.js";

/** Repositories per catalog page, and so per listing activity: at 2-3 requests each, well inside any timeout. */
export const LISTING_PAGE_REPOSITORIES = 100;
/** Repositories of one page listed at once (each a few sequential registry and storage requests). */
export const LISTING_CONCURRENCY = 8;

export const listRunImagesPageInputSchema = z.strictObject({
  run: archiveRunInputSchema,
  /** The orchestration's current time (olderThanDays is measured from it). */
  nowUtc: z.iso.datetime(),
  page: z.number().int().min(0).max(1_000_000),
  /** The repository the catalog continues after (the previous page's `next`); absent for the first page. */
  after: z.string().refine(isValidRepository, "must be a repository name").optional(),
  /** The number this page's first batch gets (batches are numbered across pages). */
  firstBatch: z.number().int().min(0).max(1_000_000),
  /** refreshReferrers: registry requests the run's earlier pages spent on referrer probes (of its budget). */
  referrerRequestsUsed: z.number().int().min(0).max(1_000_000_000).default(0),
  /** refreshReferrers: the probes' cursor as the run's earlier pages left it (page 0 reads the registry's). */
  referrerProbe: referrerProbeStateSchema.optional(),
});
export type ListRunImagesPageInput = z.output<typeof listRunImagesPageInputSchema>;

/** What the orchestration learns of one page: counts and the continuation, never the images. */
export interface ListImagesPageResult {
  total: number;
  toArchive: number;
  alreadyArchived: number;
  /** Of those, the ones whose archive is verified (the run's `verified` total counts them too). */
  alreadyVerified?: number;
  batchCount: number;
  next?: string;
  registryRequests: number;
  /** refreshReferrers: what the page's referrer probes did. */
  referrers?: ReferrerRefreshCounts;
  /** refreshReferrers: the probes' cursor after this page, and whether the budget has left an image unprobed. */
  referrerProbe?: ReferrerProbeState;
}

/** LISTING_PAGE_REPOSITORIES, LISTING_CONCURRENCY, and the referrer probes' budget and limits. */
export interface ListingConfig {
  /** Repositories per catalog page (one activity each). */
  pageRepositories: number;
  /** Repositories of a page listed at once. */
  concurrency: number;
  referrerRefresh: ReferrerRefreshConfig;
}

export interface ListRunImagesDeps extends Partial<ListingConfig> {
  registry: RegistryClient;
  container: ContainerClient;
  abortSignal?: AbortSignal;
}

export async function listRunImagesPage(
  input: ListRunImagesPageInput,
  deps: ListRunImagesDeps,
): Promise<ListImagesPageResult> {
  const { run } = input;
  // A finished run's records are final (a forged start under its id must not rewrite them).
  await assertRunNotEnded(deps.container, run.runId);
  // A retry after the page was written answers what was written (the page's batches stand as they are).
  const written = await readListingPage(deps.container, run.runId, input.page);
  if (written) return pageResult(written);

  let registryRequests = 0;
  const options = {
    onRequest: () => void registryRequests++,
    ...(deps.abortSignal && { abortSignal: deps.abortSignal }),
  };
  const { repositories, next } = await deps.registry.listRepositoryPage({
    ...options,
    ...(input.after !== undefined && { after: input.after }),
    pageSize: deps.pageRepositories ?? LISTING_PAGE_REPOSITORIES,
  });
  const selection = imageSelection(run.filters, new Date(input.nowUtc));
  const selected = repositories.filter((r) => selection.includesRepository(r));
  const refresh = deps.referrerRefresh ?? {
    maxRequests: DEFAULT_REFRESH_REFERRERS_MAX_REQUESTS,
    limits: DEFAULT_REFERRER_LIMITS,
  };
  // The run's budget is the app's setting, not the input's: only what earlier pages spent comes from the orchestration.
  const budget = new ReferrerRequestBudget(Math.max(0, refresh.maxRequests - input.referrerRequestsUsed));
  const registryFeatures: { referrersApi?: boolean } = {};
  let referrers: ReferrerRefreshCounts | undefined = run.refreshReferrers ? emptyReferrerRefreshCounts() : undefined;
  // Probes go on from where the last run left the round (the registry's cursor, read by the first page).
  let probe: ReferrerProbeState | undefined;
  if (referrers)
    probe =
      input.page === 0
        ? { cursor: await readReferrerProbeCursor(deps.container, run.registry), stopped: false }
        : (input.referrerProbe ?? { cursor: {}, stopped: false });
  const gate = new FirstProbeGate();
  const outcomes: RepositoryProbeOutcome[] = [];
  const perRepository = await mapConcurrent(selected, deps.concurrency ?? LISTING_CONCURRENCY, async (repository) => {
    // Repositories start in catalog order: those started while the budget lasted are a prefix of the page.
    const startedWithBudget = budget.mayRequest();
    const { images: items, referrerTags } = await selection.listRepository(deps.registry, repository, options);
    if (items.length === 0) return [];
    const archived = await listArchivedDigests(deps.container, run.registry, repository);
    const images: ListedImage[] = items.map((item) => {
      const info = archived.get(item.digest);
      return {
        ...item,
        archived: info?.archived ?? false,
        ...(info?.bytes !== undefined && { bytes: info.bytes }),
        ...(info?.sha256 && { sha256: info.sha256 }),
        ...(info?.archived && info.verified && { verified: true as const }),
      };
    });
    if (!run.dryRun) await recordArchivedTags(deps.container, run.registry, repository, images, new Date(input.nowUtc));
    const start = probe && referrerProbeStart(probe.cursor, repository);
    if (referrers && !start) {
      // Its turn this round is over: its next comes when the next round goes round to it.
      const archivedCount = images.filter((i) => i.archived).length;
      referrers = addReferrerRefreshCounts(referrers, { ...emptyReferrerRefreshCounts(), unchecked: archivedCount });
    } else if (referrers && start) {
      const counts = await findNewReferrers(deps.registry, deps.container, images, {
        ...options,
        registryName: run.registry,
        repository,
        referrerTags,
        budget,
        limits: refresh.limits,
        registryFeatures,
        gate,
        ...(start.after !== undefined && { after: start.after }),
      });
      referrers = addReferrerRefreshCounts(referrers, counts);
      outcomes.push({
        repository,
        startedWithBudget,
        complete: !counts.budgetSpent,
        ...(counts.last !== undefined && { last: counts.last }),
      });
      if (!run.dryRun) for (const image of images) if (image.newReferrers) image.refreshReferrers = true;
    }
    return images;
  });
  if (probe)
    probe = {
      cursor: advanceReferrerProbeCursor(probe.cursor, outcomes),
      stopped: probe.stopped || outcomes.some((o) => !o.complete),
    };
  // The last page moves the registry's cursor: the next run goes on where this one's budget left the round, or (it
  // lasted, the round is done) starts the next round at the first repository.
  if (probe && next === undefined && !run.dryRun)
    await writeReferrerProbeCursor(deps.container, run.registry, probe.stopped ? probe.cursor : {});
  // A dry run keeps the listing (for its summary) but makes no batches: nothing will be started.
  const page = await writeListingPage(deps.container, run.runId, input.page, {
    images: perRepository.flat(),
    firstBatch: input.firstBatch,
    batchSize: run.dryRun ? 0 : run.batchSize,
    ...(next !== undefined && { next }),
    registryRequests,
    ...(referrers && { referrers }),
    ...(probe && { referrerProbe: probe }),
  });
  return pageResult(page);
}

function pageResult(page: ListingPage): ListImagesPageResult {
  // An archived image whose referrers are refreshed is counted by its batch, like the images to archive.
  const alreadyArchived = page.images.filter((i) => i.archived && !i.refreshReferrers);
  return {
    total: page.images.length,
    toArchive: page.images.filter((i) => !i.archived).length,
    alreadyArchived: alreadyArchived.length,
    alreadyVerified: alreadyArchived.filter((i) => i.verified).length,
    batchCount: page.batchCount,
    ...(page.next !== undefined && { next: page.next }),
    registryRequests: page.registryRequests,
    ...(page.referrers && { referrers: page.referrers }),
    ...(page.referrerProbe && { referrerProbe: page.referrerProbe }),
  };
}

/**
 * Each archived image's tags as this listing sees them (one marker listing per repository): a tag added since the
 * digest was archived, or moved back to it, gets its marker written; a tag whose newest marker names this digest
 * already (every unchanged tag) costs nothing.
 */
async function recordArchivedTags(
  container: ContainerClient,
  registry: string,
  repository: string,
  images: ListedImage[],
  seenAt: Date,
): Promise<void> {
  const archived = images.filter((i) => i.archived && i.tags.length > 0);
  if (archived.length === 0) return;
  const latest = latestTagMarkers(await listTagMarkers(container, registry, repository));
  for (const image of archived) {
    const identity = { registry, repository, digest: image.digest };
    for (const tag of image.tags)
      await recordTagSeen(container, identity, archiveBlobName(identity), tag, latest.get(tagKey(repository, tag)), {
        seenAt,
      });
  }
}
