// restoreImage's job start, replayed by the local host over stand-in activities from its batch (runBatch of a
// restore run): the restore worker gets its share of the registry's request budget from the run's maxParallel, as an
// archive worker does (guards issue 21.10).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startOrchestrationHarness, type OrchestrationHarness } from "../../support/orchestrationHarness.js";
import { restoreRequestSchema } from "../../../src/archive/restoreRequest.js";

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
      fromStaging: true,
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

test("a restore's request names facts: the archive and whether it is read from its staging copy, per supplement too; no blob to read, no digest (guards issue 22.4)", async () => {
  const supplement = `myacr.azurecr.io/team/app@sha256-${"c".repeat(64)}.referrers-sha256-${"d".repeat(64)}.tar.gz`;
  harness.use({
    readBatch: () => [item],
    writeBatchOutcomes: () => null,
    checkRestoreTarget: (_input, call) => ({ present: call > 1, archived: true, bytes: 10 }),
    // The archive in an online tier (read in place), its supplement rehydrated into its staging copy.
    startRehydration: () => ({
      phase: "ready",
      archiveBlob,
      fromStaging: false,
      bytes: 20,
      started: true,
      supplements: [{ archiveBlob: supplement, fromStaging: true }],
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
    releaseStagingCopies: () => 0,
  });
  const status = await harness.run("runBatch", { kind: "restore", run, batchIndex: 1 }, `${RUN}:batch:1`);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const start = harness.calls.find((c) => c.name === "startJobExecution")!.input;
  assert.deepEqual(start.restoreRequest, {
    archiveBlob,
    fromStaging: false,
    blobContainer: "images",
    target: { registry: "myacr.azurecr.io", repository: "team/app", tags: ["1.0"] },
    supplements: [{ archiveBlob: supplement, fromStaging: true }],
    runId: RUN,
    attemptId: "1",
  });
  // The worker parses it as it is.
  assert.deepEqual(restoreRequestSchema.parse(start.restoreRequest), start.restoreRequest);
});
