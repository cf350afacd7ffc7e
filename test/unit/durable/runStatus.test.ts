// getRunStatus (src/durable/runStatus.ts) for an archive run with a fake DurableClient that answers canned statuses: the
// parent's counts plus the batch in flight plus the finished images of its wave; unknown runs; a failed run's error.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DurableClient } from "durable-functions";
import { getRunStatus } from "../../../src/durable/runStatus.js";
import { archiveRunKind, restoreRunKind } from "../../../src/durable/runKinds.js";
import type { RunProgress, RunTotals } from "../../../src/runs/archiveRun.js";
import type { BatchProgress, ImageOutcome } from "../../../src/runs/engine/workItem.js";

const RUN = "archive-myacr-azurecr-io-20261201T020000000Z-abcdef";
const CREATED = new Date("2026-12-01T02:00:00.000Z");
const UPDATED = new Date("2026-12-01T02:05:00.000Z");

interface CannedStatus {
  runtimeStatus: string;
  customStatus?: unknown;
  output?: unknown;
}

/** A DurableClient that knows these instances (any other id: the 404 the real client throws) and logs what it is asked. */
function fakeClient(instances: Record<string, CannedStatus>) {
  const asked: string[] = [];
  const client = {
    getStatus: async (instanceId: string, options?: { showInput?: boolean }) => {
      asked.push(instanceId);
      assert.equal(options?.showInput, false, "inputs are never read for a status");
      const status = instances[instanceId];
      if (!status) throw new Error(`404 Not Found: ${instanceId}`);
      return { name: "x", instanceId, createdTime: CREATED, lastUpdatedTime: UPDATED, input: undefined, ...status };
    },
  } as unknown as DurableClient;
  return { client, asked };
}

/** RunTotals, positionally: total, archived, already archived, failed, bytes archived, verified. */
const progressOf = (
  total: number,
  archived: number,
  alreadyArchived: number,
  failed: number,
  bytesArchived: number,
  verified = 0,
) => ({
  total,
  archived,
  alreadyArchived,
  failed,
  bytesArchived,
  verified,
});

const outcome = (status: ImageOutcome["status"], bytes?: number, verified?: true): ImageOutcome => ({
  repository: "team/app",
  digest: `sha256:${"a".repeat(64)}`,
  tags: ["1"],
  status,
  ...(bytes !== undefined && { bytes }),
  ...(verified && { verified }),
  attempts: 1,
  durationSeconds: 1,
});

test("while archiving: the parent's counts + the batch in flight + the images of its wave that have completed", async () => {
  // Batch 0 is done (its totals are in the parent's); batch 1 runs: 2 images done, wave 4…6 in flight, of which 4 and 6 completed.
  const parent: RunProgress = {
    ...progressOf(120, 40, 8, 2, 4000, 30),
    running: 3,
    batches: 3,
    batchesDone: 1,
    phase: "archiving",
  };
  const batch: BatchProgress<RunTotals> = {
    running: 3,
    waveStart: 4,
    done: { total: 4, archived: 2, alreadyArchived: 1, failed: 1, bytesArchived: 250, verified: 3 },
  };
  const { client, asked } = fakeClient({
    [RUN]: { runtimeStatus: "Running", customStatus: parent },
    [`${RUN}:batch:1`]: { runtimeStatus: "Running", customStatus: batch },
    [`${RUN}:batch:1:4`]: { runtimeStatus: "Completed", output: outcome("archived", 1000, true) },
    [`${RUN}:batch:1:5`]: { runtimeStatus: "Running" },
    [`${RUN}:batch:1:6`]: { runtimeStatus: "Completed", output: outcome("failed") },
    // Not in flight (another batch, an image outside the wave): never to be counted.
    [`${RUN}:batch:0`]: {
      runtimeStatus: "Completed",
      customStatus: { ...batch, done: { ...batch.done, archived: 99 } },
    },
    [`${RUN}:batch:1:7`]: { runtimeStatus: "Completed", output: outcome("archived", 99_999) },
  });
  const status = await getRunStatus(client, archiveRunKind, RUN);
  assert.deepEqual(status, {
    instanceId: RUN,
    runtimeStatus: "Running",
    createdTime: CREATED.toISOString(),
    lastUpdatedTime: UPDATED.toISOString(),
    progress: {
      total: 120,
      archived: 40 + 2 + 1,
      alreadyArchived: 8 + 1,
      failed: 2 + 1 + 1,
      bytesArchived: 4000 + 250 + 1000,
      verified: 30 + 3 + 1,
      running: 1,
      batches: 3,
      batchesDone: 1,
      phase: "archiving",
    },
  });
  assert.deepEqual(
    asked.sort(),
    [RUN, `${RUN}:batch:1`, `${RUN}:batch:1:4`, `${RUN}:batch:1:5`, `${RUN}:batch:1:6`].sort(),
  );
});

test("outside the archiving phase only the parent is read; a batch that has not reported yet adds nothing", async () => {
  const listing: Partial<RunProgress> = { phase: "listing" };
  const first = fakeClient({ [RUN]: { runtimeStatus: "Running", customStatus: listing } });
  const status = await getRunStatus(first.client, archiveRunKind, RUN);
  assert.deepEqual(status?.progress, {
    ...progressOf(0, 0, 0, 0, 0),
    running: 0,
    batches: 0,
    batchesDone: 0,
    phase: "listing",
  });
  assert.deepEqual(first.asked, [RUN]);
  // No custom status at all (the run has just started): phase unknown.
  const fresh = fakeClient({ [RUN]: { runtimeStatus: "Pending" } });
  assert.equal((await getRunStatus(fresh.client, archiveRunKind, RUN))?.progress.phase, "unknown");
  // Archiving, but the batch in flight has no status yet (or none the client can find): the parent's counts only.
  const parent: RunProgress = {
    ...progressOf(10, 3, 0, 0, 30),
    running: 2,
    batches: 2,
    batchesDone: 1,
    phase: "archiving",
  };
  const early = fakeClient({ [RUN]: { runtimeStatus: "Running", customStatus: parent } });
  const progress = (await getRunStatus(early.client, archiveRunKind, RUN))?.progress;
  assert.deepEqual(progress, { ...parent, running: 0 });
  assert.deepEqual(early.asked, [RUN, `${RUN}:batch:1`]);
});

test("an unknown run is undefined: an id that is not a run's is not even asked for, a missing one is the client's 404", async () => {
  const { client, asked } = fakeClient({
    [`${RUN}:batch:0`]: { runtimeStatus: "Running" },
    "not-a-run": { runtimeStatus: "Running" },
  });
  assert.equal(await getRunStatus(client, archiveRunKind, "not-a-run"), undefined);
  assert.equal(await getRunStatus(client, archiveRunKind, `${RUN}:batch:0`), undefined, "a batch is not a run");
  assert.deepEqual(asked, [], "ids that are not run ids are refused before the client is asked");
  assert.equal(await getRunStatus(client, archiveRunKind, RUN), undefined);
  assert.deepEqual(asked, [RUN]);
  // A client that answers without an instance (as some versions do for a purged one).
  const empty = { getStatus: async () => ({}) } as unknown as DurableClient;
  assert.equal(await getRunStatus(empty, archiveRunKind, RUN), undefined);
});

test("a failed run's error is the first line of its output; a completed run names its summary blob and container", async () => {
  const failed = fakeClient({
    [RUN]: {
      runtimeStatus: "Failed",
      customStatus: { phase: "listing" },
      output:
        "\n  Orchestrator function 'archiveRun' failed: listing refused\n    at archiveRun (dist/src/orchestrators/archiveRun.js:40:11)\n",
    },
  });
  const status = await getRunStatus(failed.client, archiveRunKind, RUN);
  assert.equal(status?.runtimeStatus, "Failed");
  assert.equal(status?.error, "Orchestrator function 'archiveRun' failed: listing refused");
  assert.equal(status?.summaryBlob, undefined);

  const output = {
    runId: RUN,
    registry: "myacr.azurecr.io",
    summaryBlob: `runs/${RUN}/summary.json`,
    container: "images",
    dryRun: false,
    totals: {},
  };
  const done = fakeClient({ [RUN]: { runtimeStatus: "Completed", customStatus: { phase: "done" }, output } });
  const completed = await getRunStatus(done.client, archiveRunKind, RUN);
  assert.equal(completed?.summaryBlob, `runs/${RUN}/summary.json`);
  assert.equal(completed?.container, "images");
  assert.equal(completed?.error, undefined, "only a failed run has an error");
});

test("a restore run is read the same way, counted as a restore counts: running images by their phase", async () => {
  const RESTORE = "restore-dst-azurecr-io-20261201T020000000Z-abcdef";
  const parent = {
    total: 30,
    restored: 5,
    alreadyPresent: 2,
    failed: 1,
    bytes: 500,
    rehydrating: 0,
    restoring: 0,
    batches: 2,
    batchesDone: 0,
    phase: "restoring",
  };
  const batch = { running: 4, waveStart: 0, done: { total: 0, restored: 0, alreadyPresent: 0, failed: 0, bytes: 0 } };
  const { client } = fakeClient({
    [RESTORE]: { runtimeStatus: "Running", customStatus: parent },
    [`${RESTORE}:batch:0`]: { runtimeStatus: "Running", customStatus: batch },
    [`${RESTORE}:batch:0:0`]: { runtimeStatus: "Completed", output: outcome("restored", 70) },
    [`${RESTORE}:batch:0:1`]: { runtimeStatus: "Running", customStatus: { phase: "rehydrating" } },
    [`${RESTORE}:batch:0:2`]: { runtimeStatus: "Running", customStatus: { phase: "restoring" } },
    [`${RESTORE}:batch:0:3`]: { runtimeStatus: "Running", customStatus: { phase: "checking" } },
  });
  assert.equal(await getRunStatus(client, archiveRunKind, RESTORE), undefined, "not an archive run");
  const status = await getRunStatus(client, restoreRunKind, RESTORE);
  assert.deepEqual(status?.progress, {
    ...parent,
    restored: 6,
    bytes: 570,
    rehydrating: 2, // checking counts as waiting for the archive
    restoring: 1,
  });
});
