// archiveRun's listing, replayed by the local host over stand-in activities: one listImagesPage call per page,
// continued by the page's `next`, batches numbered across pages, a failing page retried at that page (not from the
// first), continue-as-new bounding the history past 100 pages and batches, and the summary told every page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startOrchestrationHarness, type OrchestrationHarness } from "../../support/orchestrationHarness.js";

let harness: OrchestrationHarness;
before(async () => {
  harness = await startOrchestrationHarness();
});
after(async () => {
  await harness?.stop();
});

const RUN = "archive-fixture-20261201T000000000Z-cccccc";
const run = {
  runId: RUN,
  registry: "myacr.azurecr.io",
  container: "images",
  filters: { includeUntagged: false },
  dryRun: false,
  maxParallel: 2,
  maxAttempts: 1,
  jobTimeoutMinutes: 60,
  pollMaxIntervalSeconds: 10,
  batchSize: 50,
  requestedBy: "http",
  requestedAtUtc: "2026-12-01T00:00:00.000Z",
};
const PAGES = 130;
const repositoryOf = (page: number) => `team/r${String(page).padStart(4, "0")}`;

test("pages in turn, continued by name; batches numbered across pages; a failed page retried where it was; history bounded", async () => {
  const failedOnce = new Set<number>();
  harness.use({
    listImagesPage: (input) => {
      const page = input.page as number;
      if (page === 7 && !failedOnce.has(page)) {
        failedOnce.add(page);
        throw new Error("registry timed out");
      }
      // Every third page has one batch to archive.
      const batchCount = page % 3 === 0 ? 1 : 0;
      return {
        total: 2,
        toArchive: batchCount,
        alreadyArchived: 2 - batchCount,
        batchCount,
        ...(page < PAGES - 1 && { next: repositoryOf(page) }),
        registryRequests: 3,
      };
    },
    readBatch: () => [],
    writeBatchOutcomes: () => null,
    writeRunSummary: (input) => ({
      summaryBlob: `runs/${RUN}/summary.json`,
      totals: { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0, seen: input },
    }),
    backfillCatalogTags: () => ({ examined: 10, indexed: 4, done: true }),
  });
  const status = await harness.run("archiveRun", run, RUN);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status).slice(0, 2000));

  const pages = harness.calls.filter((c) => c.name === "listImagesPage").map((c) => c.input);
  // 130 pages, page 7 twice (its retry), none listed again from the start after the failure or continue-as-new.
  assert.equal(pages.length, PAGES + 1);
  assert.deepEqual(
    pages.map((p) => p.page),
    [...Array.from({ length: 8 }, (_, i) => i), 7, ...Array.from({ length: PAGES - 8 }, (_, i) => i + 8)],
  );
  let firstBatch = 0;
  for (const input of pages.filter((p, i) => i !== 7)) {
    const page = input.page as number;
    assert.equal(input.after, page === 0 ? undefined : repositoryOf(page - 1), `page ${page} continues after the last`);
    assert.equal(input.firstBatch, firstBatch, `page ${page}'s first batch`);
    assert.equal(input.nowUtc, pages[0]!.nowUtc, "every page measures olderThanDays from the listing's start");
    if (page % 3 === 0) firstBatch++;
  }
  const batches = Math.ceil(PAGES / 3);
  assert.deepEqual(
    harness.calls.filter((c) => c.name === "readBatch").map((c) => c.input.batchIndex),
    Array.from({ length: batches }, (_, i) => i),
  );
  const summary = harness.calls.find((c) => c.name === "writeRunSummary")!.input;
  assert.equal(summary.listingPages, PAGES);
  assert.equal(summary.batchCount, batches);
  assert.equal(summary.registryRequests, PAGES * 3, "the pages' requests, summed");
  assert.equal((status.output as { registryRequests: number }).registryRequests, PAGES * 3);
  // 130 pages and 44 batches are ~700 history events in one execution; continue-as-new every 100 keeps it near 400.
  const stats = await harness.stats();
  assert.ok(stats.maxHistoryEvents <= 450, `largest history: ${stats.maxHistoryEvents} events`);
});

test("the catalog backfill: once a run, after the batches, its result in the summary; a failure never fails the run; none for a dry run (guards issue 25.1)", async () => {
  const standIns = (backfill: () => unknown) => ({
    listImagesPage: () => ({ total: 0, toArchive: 0, alreadyArchived: 0, batchCount: 0, registryRequests: 1 }),
    readBatch: () => [],
    writeBatchOutcomes: () => null,
    writeRunSummary: () => ({
      summaryBlob: "x",
      totals: { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0 },
    }),
    backfillCatalogTags: backfill,
  });
  harness.use(standIns(() => ({ examined: 10, indexed: 4, done: false })));
  const id = "archive-fixture-20261201T000000000Z-dddddd";
  assert.equal((await harness.run("archiveRun", { ...run, runId: id }, id)).runtimeStatus, "Completed");
  assert.deepEqual(
    harness.calls.map((c) => c.name),
    ["listImagesPage", "backfillCatalogTags", "writeRunSummary"],
  );
  assert.deepEqual(harness.calls[1]!.input, { registry: "myacr.azurecr.io", container: "images" });
  assert.deepEqual(harness.calls[2]!.input.catalogBackfill, { examined: 10, indexed: 4, done: false });

  harness.use(
    standIns(() => {
      throw new Error("tags/write not granted");
    }),
  );
  const failing = "archive-fixture-20261201T000000000Z-eeeeee";
  assert.equal((await harness.run("archiveRun", { ...run, runId: failing }, failing)).runtimeStatus, "Completed");
  const reported = harness.calls.find((c) => c.name === "writeRunSummary")!.input.catalogBackfill as { error: string };
  assert.match(reported.error, /tags\/write not granted/);

  harness.use(standIns(() => assert.fail("a dry run indexes nothing")));
  const dry = "archive-fixture-20261201T000000000Z-ffffff";
  assert.equal((await harness.run("archiveRun", { ...run, runId: dry, dryRun: true }, dry)).runtimeStatus, "Completed");
  assert.ok(!harness.calls.some((c) => c.name === "backfillCatalogTags"));
});
