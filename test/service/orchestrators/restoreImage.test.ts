// restoreImage's job start, replayed by the local host over stand-in activities from its batch (runBatch of a
// restore run): the restore worker gets its share of the registry's request budget from the run's maxParallel, as an
// archive worker does (guards issue 21.10).
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

const RUN = "restore-myacr-azurecr-io-20261201T020000000Z-abcdef";
/** A restore run's batch context (restoreBatchRunContext): its images' context is cut from it. */
const run = {
  kind: "restore",
  runId: RUN,
  registry: "myacr.azurecr.io",
  container: "images",
  dryRun: false,
  maxAttempts: 3,
  jobTimeoutMinutes: 60,
  pollMaxIntervalSeconds: 10,
  target: { registry: "myacr.azurecr.io" },
  rehydratePriority: "High",
  rehydrationTimeoutMinutes: 60,
  rehydrationPollMaxSeconds: 60,
  maxParallel: 4,
};
const item = { repository: "team/app", digest: `sha256:${"c".repeat(64)}`, tags: ["1.0"] };
const archiveBlob = `myacr.azurecr.io/team/app@sha256-${"c".repeat(64)}.tar.gz`;

test("a restore's job start carries the run's maxParallel as its workers, for its share of REGISTRY_READS_PER_MINUTE (guards issue 21.10)", async () => {
  harness.use({
    readBatch: () => [item],
    writeBatchOutcomes: () => null,
    checkRestoreTarget: (_input, call) => ({ present: call > 1, archived: true, bytes: 10 }),
    startRehydration: () => ({
      phase: "ready",
      archiveBlob,
      readableBlob: `staging/${archiveBlob}`,
      bytes: 10,
      started: true,
    }),
    startJobExecution: () => ({ name: "caj-1", status: "Succeeded" }),
    readWorkerResult: () => ({
      status: "restored",
      archiveBlob,
      target: "myacr.azurecr.io/team/app",
      digest: item.digest,
      tags: item.tags,
      durationSeconds: 1,
    }),
    deleteStagingCopy: () => true,
  });
  const status = await harness.run("runBatch", { kind: "restore", run, batchIndex: 0 }, `${RUN}:batch:0`);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const written = harness.calls.find((c) => c.name === "writeBatchOutcomes")?.input.outcomes as { status: string }[];
  assert.deepEqual(
    written.map((o) => o.status),
    ["restored"],
    JSON.stringify(written),
  );
  const starts = harness.calls.filter((c) => c.name === "startJobExecution").map((c) => c.input);
  assert.equal(starts.length, 1);
  assert.equal(starts[0]!.workers, 4);
  assert.equal((starts[0]!.restoreRequest as { attemptId: string }).attemptId, "1");
});
