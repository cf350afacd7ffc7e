// Which of a repository's images a purge may take (issue 23.2), pure: every image the run selected is a candidate
// unless kept, and a kept image says why. Kept, in this order of reasons:
//   locked           ACR's deleteEnabled or writeEnabled is false on the repository, the manifest or one of its tags
//   purge-cancelled  someone made it readable again during an earlier brown-out: later runs keep it
//   keep-tag         one of its tags matches a keepTags glob
//   keep-latest      it is among the repository's keepLatest newest images (by lastUpdatedOn; images tied with the
//                    last kept one are kept too)
//   unknown-age      keepLatest is asked for and its time is not known: whether it is among the newest cannot be told
//   cap              past the run's PURGE_MAX_IMAGES: the oldest candidates go first, the rest wait for a later run
// Any doubt keeps: ties at the keepLatest line keep every tied image, an unknown time keeps the image.
import { ArchiveError } from "../errors.js";
import { globMatcher, globProblem } from "../globs.js";
import { isSha256Digest } from "../registry/digest.js";
import type { ChangeableAttributes } from "../registry/registryClient.js";

export type KeepReason = "locked" | "purge-cancelled" | "keep-tag" | "keep-latest" | "unknown-age" | "cap";

/** ACR's changeable attributes of an image as read: its repository's, its manifest's, and each of its tags'. */
export interface ImageLocks {
  repository?: ChangeableAttributes;
  manifest?: ChangeableAttributes;
  tags?: { name: string; changeableAttributes: ChangeableAttributes }[];
}

export interface PurgeSelectionImage {
  digest: string;
  tags: string[];
  /**
   * When it was last updated (ACR's lastUpdateTime, ISO 8601): what keepLatest ranks by. ACR moves it on every PATCH of
   * the manifest's attributes, so an image browned out by an earlier run must be given the time its brown-out record
   * kept, not the registry's.
   */
  lastUpdatedOn?: string;
  /** Its changeable attributes as read; undefined on a registry without them (nothing there can be locked). */
  locks?: ImageLocks;
  /** Whether the run's filters selected it (default true). Images not selected count for keepLatest only. */
  selected?: boolean;
  /** A purge of it was cancelled (its `cancelled` record exists). */
  cancelled?: boolean;
}

export interface PurgeSelectionOptions {
  /** The repository's newest images kept (0: none kept for being new). */
  keepLatest: number;
  /** Tags (globs, src/globs.ts) whose images are kept. */
  keepTags: readonly string[];
  /** PURGE_MAX_IMAGES: candidates one run may have in all. */
  maxImages: number;
  /** Candidates the run already has (from repositories decided before this one). */
  candidatesSoFar: number;
}

export type PurgeDecision =
  | { digest: string; decision: "candidate" }
  | {
      digest: string;
      decision: "kept";
      /** The first reason, in the order above. */
      reason: KeepReason;
      /** Says what: which tag matched, which attribute is locked, the rank. */
      detail: string;
      /** Every reason that applies (cap only applies to images nothing else keeps). */
      reasons: KeepReason[];
    };

export interface PurgeSelection {
  /** One per selected image, in the order given. */
  decisions: PurgeDecision[];
  /** Candidates among them (add to candidatesSoFar for the next repository). */
  candidates: number;
}

/** Decides every selected image of one repository (`images`: all the repository's images, selected or not). */
export function selectPurgeCandidates(
  images: readonly PurgeSelectionImage[],
  options: PurgeSelectionOptions,
): PurgeSelection {
  assertOptions(options);
  const seen = new Set<string>();
  for (const image of images) {
    if (!isSha256Digest(image.digest))
      throw new ArchiveError("INVALID_ARGUMENT", `purge selection: "${image.digest}" is not a sha256 digest`);
    if (seen.has(image.digest))
      throw new ArchiveError("INVALID_ARGUMENT", `purge selection: ${image.digest} is listed twice`);
    seen.add(image.digest);
  }
  const latest = keepLatestRanks(images, options.keepLatest);
  const keepTag = globMatcher([...options.keepTags], false);

  const kept = new Map<string, { reasons: KeepReason[]; details: string[] }>();
  const candidates: PurgeSelectionImage[] = [];
  for (const image of images) {
    if (image.selected === false) continue;
    const reasons: KeepReason[] = [];
    const details: string[] = [];
    const lock = lockOf(image.locks);
    if (lock) {
      reasons.push("locked");
      details.push(lock);
    }
    if (image.cancelled) {
      reasons.push("purge-cancelled");
      details.push("its purge was cancelled: it was made readable again during its brown-out");
    }
    const matched = image.tags.filter((t) => keepTag(t));
    if (matched.length > 0) {
      reasons.push("keep-tag");
      details.push(`tag ${matched.join(", ")} matches keepTags`);
    }
    const rank = latest.get(image.digest);
    if (rank === "unknown") {
      reasons.push("unknown-age");
      details.push("its last update time is not known, so whether it is among the newest cannot be told");
    } else if (rank !== undefined) {
      reasons.push("keep-latest");
      details.push(`it is the repository's newest image no. ${rank} (keepLatest ${options.keepLatest})`);
    }
    if (reasons.length > 0) kept.set(image.digest, { reasons, details });
    else candidates.push(image);
  }

  // The cap: the oldest candidates first (an unknown time last), ties by digest, so a run and its retry agree.
  const room = Math.max(0, options.maxImages - options.candidatesSoFar);
  const byAge = [...candidates].sort(compareOldestFirst);
  for (const image of byAge.slice(room))
    kept.set(image.digest, {
      reasons: ["cap"],
      details: [`past PURGE_MAX_IMAGES (${options.maxImages} a run): left for a later run`],
    });

  const decisions: PurgeDecision[] = images
    .filter((image) => image.selected !== false)
    .map((image) => {
      const keep = kept.get(image.digest);
      if (!keep) return { digest: image.digest, decision: "candidate" };
      return {
        digest: image.digest,
        decision: "kept",
        reason: keep.reasons[0]!,
        detail: keep.details[0]!,
        reasons: keep.reasons,
      };
    });
  return { decisions, candidates: decisions.filter((d) => d.decision === "candidate").length };
}

/**
 * What locks an image against deletion, said in a few words, or undefined when nothing does: deleteEnabled or
 * writeEnabled false on its repository, its manifest or one of its tags (ACR refuses a delete for either, and a person
 * who set one meant the image to stay).
 */
export function lockOf(locks: ImageLocks | undefined): string | undefined {
  if (!locks) return undefined;
  const locked = (a: ChangeableAttributes | undefined) =>
    a && (!a.deleteEnabled || !a.writeEnabled)
      ? [!a.deleteEnabled && "delete-disabled", !a.writeEnabled && "write-disabled"].filter(Boolean).join(" and ")
      : undefined;
  const repository = locked(locks.repository);
  if (repository) return `its repository is ${repository}`;
  const manifest = locked(locks.manifest);
  if (manifest) return `its manifest is ${manifest}`;
  for (const tag of locks.tags ?? []) {
    const why = locked(tag.changeableAttributes);
    if (why) return `its tag ${tag.name} is ${why}`;
  }
  return undefined;
}

/**
 * The rank (1 = newest) of each image among the repository's `keepLatest` newest, every image tied with the last of
 * them included; "unknown" for an image without a usable time when keepLatest asks for any.
 */
function keepLatestRanks(images: readonly PurgeSelectionImage[], keepLatest: number): Map<string, number | "unknown"> {
  const ranks = new Map<string, number | "unknown">();
  if (keepLatest === 0) return ranks;
  const timed: { digest: string; time: number }[] = [];
  for (const image of images) {
    const time = timeOf(image);
    if (time === undefined) ranks.set(image.digest, "unknown");
    else timed.push({ digest: image.digest, time });
  }
  timed.sort((a, b) => b.time - a.time || (a.digest < b.digest ? -1 : 1));
  const line = timed[Math.min(keepLatest, timed.length) - 1]?.time;
  if (line === undefined) return ranks;
  // Tied images share the rank of the first of them.
  let rank = 0;
  let previous: number | undefined;
  for (const [i, image] of timed.entries()) {
    if (image.time < line) break;
    if (image.time !== previous) [rank, previous] = [i + 1, image.time];
    ranks.set(image.digest, rank);
  }
  return ranks;
}

function timeOf(image: PurgeSelectionImage): number | undefined {
  if (image.lastUpdatedOn === undefined) return undefined;
  const time = Date.parse(image.lastUpdatedOn);
  return Number.isFinite(time) ? time : undefined;
}

function compareOldestFirst(a: PurgeSelectionImage, b: PurgeSelectionImage): number {
  const [ta, tb] = [timeOf(a), timeOf(b)];
  if (ta !== tb) {
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    return ta - tb;
  }
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

function assertOptions(options: PurgeSelectionOptions): void {
  const count = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ArchiveError("INVALID_ARGUMENT", `purge selection: ${name} must be a whole number ≥ 0, not ${value}`);
  };
  count("keepLatest", options.keepLatest);
  count("maxImages", options.maxImages);
  count("candidatesSoFar", options.candidatesSoFar);
  for (const glob of options.keepTags) {
    const problem = globProblem(glob);
    if (problem) throw new ArchiveError("INVALID_ARGUMENT", `purge selection: keepTags "${glob}": ${problem}`);
  }
}
