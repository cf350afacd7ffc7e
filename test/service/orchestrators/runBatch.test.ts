// runBatch (an archive run's batch), replayed by the local host over stand-in activities: waves of maxParallel images, every outcome kept,
// and a damaged batch item failing alone instead of failing the batch. (Guards issue 8.9's follow-up.)
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

const RUN = "archive-fixture-20261201T000000000Z-bbbbbb";
const run = {
  runId: RUN,
  registry: "myacr.azurecr.io",
  container: "images",
  maxAttempts: 1,
  jobTimeoutMinutes: 60,
  pollMaxIntervalSeconds: 10,
  maxParallel: 2,
};
const digest = (c: string) => `sha256:${c.repeat(64)}`;

test("a batch archives its images in waves, keeps every outcome, and a damaged item fails alone", async () => {
  const items = [
    { repository: "team/a", digest: digest("a"), tags: ["1"] },
    { repository: "NOT A REPOSITORY", digest: "sha256:short", tags: [] },
    { repository: "team/c", digest: digest("c"), tags: ["3"] },
  ];
  harness.use({
    readBatch: () => items,
    checkArchived: () => ({ archived: true, bytes: 5 }),
    writeBatchOutcomes: () => null,
  });
  const status = await harness.run("runBatch", { kind: "archive", run, batchIndex: 0 }, `${RUN}:batch:0`);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  assert.deepEqual(status.output, {
    batchIndex: 0,
    total: 3,
    archived: 0,
    alreadyArchived: 2,
    failed: 1,
    bytesArchived: 0,
    verified: 0,
    jobExecutions: 0,
  });
  const written = harness.calls.find((c) => c.name === "writeBatchOutcomes")!.input.outcomes as {
    repository: string;
    status: string;
    error?: { code: string; message: string };
  }[];
  assert.deepEqual(
    written.map((o) => [o.repository, o.status]),
    [
      ["team/a", "already-archived"],
      ["NOT A REPOSITORY", "failed"],
      ["team/c", "already-archived"],
    ],
  );
  assert.equal(written[1]!.error?.code, "INVALID_ARGUMENT");
  assert.match(written[1]!.error!.message, /batch item 1: repository: must be a repository name/);
  // Only the valid items became image orchestrations (their first activity ran).
  assert.equal(harness.calls.filter((c) => c.name === "checkArchived").length, 2);
});

test("a batch under another instance id than its run gives it is refused before any activity", async () => {
  harness.use({});
  const status = await harness.run("runBatch", { kind: "archive", run, batchIndex: 0 }, "somebody-else:batch:0");
  assert.equal(status.runtimeStatus, "Failed");
  assert.match(JSON.stringify(status.output), /is not a batch instance of run archive-fixture/);
  assert.deepEqual(harness.calls, []);
});
