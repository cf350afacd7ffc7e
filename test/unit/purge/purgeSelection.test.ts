// Candidates and keeps (src/purge/purgeSelection.ts): keepLatest per repository with ties and unknown times, keepTags
// globs, locks on the repository, the manifest or a tag, a cancelled purge, and the run's cap, each kept image with why.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  lockOf,
  selectPurgeCandidates,
  type PurgeSelectionImage,
  type PurgeSelectionOptions,
} from "../../../src/purge/purgeSelection.js";
import type { ChangeableAttributes } from "../../../src/registry/registryClient.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const OPEN: ChangeableAttributes = { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };
const day = (d: number) => `2026-01-${String(d).padStart(2, "0")}T00:00:00Z`;

function image(
  c: string,
  updatedDay: number | undefined,
  tags: string[] = [],
  extra: Partial<PurgeSelectionImage> = {},
) {
  return {
    digest: digest(c),
    tags,
    ...(updatedDay !== undefined && { lastUpdatedOn: day(updatedDay) }),
    ...extra,
  } as PurgeSelectionImage;
}

const options = (overrides: Partial<PurgeSelectionOptions> = {}): PurgeSelectionOptions => ({
  keepLatest: 0,
  keepTags: [],
  maxImages: 100,
  candidatesSoFar: 0,
  ...overrides,
});

/** `a: candidate`, `b: kept keep-latest`, … in the order given. */
function summary(images: PurgeSelectionImage[], o: PurgeSelectionOptions): string[] {
  return selectPurgeCandidates(images, o).decisions.map(
    (d) => `${d.digest.slice(7, 8)}: ${d.decision === "candidate" ? "candidate" : `kept ${d.reason}`}`,
  );
}

describe("keepLatest", () => {
  test("keeps the repository's N newest by lastUpdatedOn, whatever order they come in (guards issue 23.2)", () => {
    const images = [image("a", 3, ["3"]), image("b", 5, ["5"]), image("c", 1, ["1"]), image("d", 4, ["4"])];
    assert.deepEqual(summary(images, options({ keepLatest: 2 })), [
      "a: candidate",
      "b: kept keep-latest",
      "c: candidate",
      "d: kept keep-latest",
    ]);
    const detail = selectPurgeCandidates(images, options({ keepLatest: 2 })).decisions[1];
    assert.ok(detail?.decision === "kept" && /newest image no\. 1 \(keepLatest 2\)/.test(detail.detail));
  });

  test("images tied at the line are all kept: any doubt keeps (guards issue 23.2)", () => {
    const images = [image("a", 5), image("b", 4), image("c", 4), image("d", 3)];
    assert.deepEqual(summary(images, options({ keepLatest: 2 })), [
      "a: kept keep-latest",
      "b: kept keep-latest",
      "c: kept keep-latest",
      "d: candidate",
    ]);
    // Two tied newest with keepLatest 1: both kept, both rank 1.
    const tied = selectPurgeCandidates([image("a", 5), image("b", 5), image("c", 1)], options({ keepLatest: 1 }));
    assert.deepEqual(
      tied.decisions.map((d) => (d.decision === "kept" ? d.detail : d.decision)),
      [
        "it is the repository's newest image no. 1 (keepLatest 1)",
        "it is the repository's newest image no. 1 (keepLatest 1)",
        "candidate",
      ],
    );
  });

  test("an image without a usable time is kept (unknown-age) when keepLatest asks; with keepLatest 0 it is a candidate (guards issue 23.2)", () => {
    const images = [image("a", undefined), image("b", 2), image("c", 1), image("d", 9, [], { lastUpdatedOn: "soon" })];
    assert.deepEqual(summary(images, options({ keepLatest: 1 })), [
      "a: kept unknown-age",
      "b: kept keep-latest",
      "c: candidate",
      "d: kept unknown-age",
    ]);
    assert.deepEqual(summary(images, options()), ["a: candidate", "b: candidate", "c: candidate", "d: candidate"]);
  });

  test("untagged images count among the newest like tagged ones; fewer images than N keeps them all (guards issue 23.2)", () => {
    const images = [image("a", 9), image("b", 8, ["v2"]), image("c", 1, ["v1"])];
    assert.deepEqual(summary(images, options({ keepLatest: 2 })), [
      "a: kept keep-latest",
      "b: kept keep-latest",
      "c: candidate",
    ]);
    assert.deepEqual(summary(images, options({ keepLatest: 5 })), [
      "a: kept keep-latest",
      "b: kept keep-latest",
      "c: kept keep-latest",
    ]);
  });

  test("images the run did not select count for keepLatest but get no decision (guards issue 23.2)", () => {
    const images = [image("a", 9, ["dev"], { selected: false }), image("b", 8, ["v2"]), image("c", 1, ["v1"])];
    assert.deepEqual(summary(images, options({ keepLatest: 2 })), ["b: kept keep-latest", "c: candidate"]);
  });
});

describe("keepTags, locks, a cancelled purge", () => {
  test("a tag matching a keepTags glob keeps its image, whichever of its tags matches (guards issue 23.2)", () => {
    const images = [
      image("a", 1, ["release-1.0", "sha-abc"]),
      image("b", 2, ["feature-x"]),
      image("c", 3, []),
      image("d", 4, ["v1.2.3"]),
    ];
    const o = options({ keepTags: ["release-*", "v{1,2}.*"] });
    assert.deepEqual(summary(images, o), ["a: kept keep-tag", "b: candidate", "c: candidate", "d: kept keep-tag"]);
    const a = selectPurgeCandidates(images, o).decisions[0];
    assert.ok(a?.decision === "kept" && a.detail === "tag release-1.0 matches keepTags", JSON.stringify(a));
  });

  test("deleteEnabled or writeEnabled false on the repository, the manifest or any tag keeps it (locked); readEnabled false does not (guards issue 23.2)", () => {
    const tagLocks = (name: string, a: Partial<ChangeableAttributes>) => ({
      tags: [
        { name: "ok", changeableAttributes: OPEN },
        { name, changeableAttributes: { ...OPEN, ...a } },
      ],
    });
    const images = [
      image("a", 1, [], { locks: { repository: { ...OPEN, deleteEnabled: false } } }),
      image("b", 1, [], { locks: { manifest: { ...OPEN, writeEnabled: false } } }),
      image("c", 1, ["ok", "v1"], { locks: tagLocks("v1", { deleteEnabled: false }) }),
      image("d", 1, [], { locks: { repository: OPEN, manifest: { ...OPEN, readEnabled: false }, tags: [] } }),
      image("e", 1, []),
    ];
    assert.deepEqual(summary(images, options()), [
      "a: kept locked",
      "b: kept locked",
      "c: kept locked",
      "d: candidate",
      "e: candidate",
    ]);
    assert.equal(lockOf(images[0]!.locks), "its repository is delete-disabled");
    assert.equal(lockOf(images[1]!.locks), "its manifest is write-disabled");
    assert.equal(lockOf(images[2]!.locks), "its tag v1 is delete-disabled");
    assert.equal(
      lockOf({ manifest: { ...OPEN, deleteEnabled: false, writeEnabled: false } }),
      "its manifest is delete-disabled and write-disabled",
    );
    assert.equal(lockOf(undefined), undefined);
  });

  test("a cancelled purge keeps the image; every reason is listed, the first one first (guards issue 23.2)", () => {
    const images = [
      image("a", 9, ["release-1"], {
        cancelled: true,
        locks: { manifest: { ...OPEN, deleteEnabled: false } },
      }),
      image("b", 1, [], { cancelled: true }),
    ];
    const { decisions } = selectPurgeCandidates(images, options({ keepLatest: 1, keepTags: ["release-*"] }));
    assert.deepEqual(decisions[0]?.decision === "kept" && decisions[0].reasons, [
      "locked",
      "purge-cancelled",
      "keep-tag",
      "keep-latest",
    ]);
    assert.deepEqual(decisions[1]?.decision === "kept" && decisions[1].reasons, ["purge-cancelled"]);
  });
});

describe("the run's cap (PURGE_MAX_IMAGES)", () => {
  test("past the cap the newest candidates wait (cap), the oldest go first; ties by digest, an unknown time last (guards issue 23.2)", () => {
    const images = [image("d", 4), image("a", 1), image("c", 2), image("b", 2), image("e", undefined)];
    assert.deepEqual(summary(images, options({ maxImages: 3 })), [
      "d: kept cap",
      "a: candidate",
      "c: candidate",
      "b: candidate",
      "e: kept cap",
    ]);
    assert.deepEqual(summary(images, options({ maxImages: 2 })), [
      "d: kept cap",
      "a: candidate",
      "c: kept cap",
      "b: candidate",
      "e: kept cap",
    ]);
  });

  test("candidates the run already has count: the cap is the run's, not the repository's (guards issue 23.2)", () => {
    const images = [image("a", 1), image("b", 2), image("c", 3)];
    const first = selectPurgeCandidates(images, options({ maxImages: 4, candidatesSoFar: 2 }));
    assert.equal(first.candidates, 2);
    assert.deepEqual(summary(images, options({ maxImages: 4, candidatesSoFar: 2 })), [
      "a: candidate",
      "b: candidate",
      "c: kept cap",
    ]);
    assert.deepEqual(summary(images, options({ maxImages: 4, candidatesSoFar: 9 })), [
      "a: kept cap",
      "b: kept cap",
      "c: kept cap",
    ]);
    // An image kept for another reason is not counted against the cap, and its reason is not `cap`.
    const locked = image("f", 1, [], { locks: { manifest: { ...OPEN, writeEnabled: false } } });
    assert.deepEqual(summary([locked, ...images], options({ maxImages: 1 })), [
      "f: kept locked",
      "a: candidate",
      "b: kept cap",
      "c: kept cap",
    ]);
  });
});

test("bad options and images are refused with INVALID_ARGUMENT, naming what (guards issue 23.2)", () => {
  const refuse = (images: PurgeSelectionImage[], o: PurgeSelectionOptions, message: RegExp) =>
    assert.throws(
      () => selectPurgeCandidates(images, o),
      (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT" && message.test(e.message),
    );
  refuse([], options({ keepLatest: -1 }), /keepLatest/);
  refuse([], options({ keepLatest: 1.5 }), /keepLatest/);
  refuse([], options({ maxImages: Number.NaN }), /maxImages/);
  refuse([], options({ keepTags: ["[a-"] }), /keepTags "\[a-"/);
  refuse([image("a", 1), image("a", 2)], options(), /listed twice/);
  refuse([{ digest: "latest", tags: [] }], options(), /not a sha256 digest/);
  assert.deepEqual(selectPurgeCandidates([], options()), { decisions: [], candidates: 0 });
});
