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
    releaseStagingCopies: () => null,
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

// ---- restoreImage's decisions, one path each (guards issue 22.6: the restore side's own orchestration tests) ----

/** What a restoreImage orchestration gets of its run (restoreImageRunContext). */
const imageRun = { ...run, maxParallel: undefined } as Record<string, unknown>;
delete imageRun.maxParallel;
const IMAGE = `${RUN}:batch:0:0`;
const namesOf = () => harness.calls.map((c) => c.name);
const ready = {
  phase: "ready",
  archiveBlob,
  fromStaging: true,
  bytes: 10,
  started: false,
};
const restored = {
  status: "restored",
  archiveBlob,
  target: "myacr.azurecr.io/team/app",
  digest: item.digest,
  tags: item.tags,
  bytes: 10,
  durationSeconds: 1,
};
async function restoreOne(input: { run?: Record<string, unknown> } = {}) {
  const status = await harness.run("restoreImage", { run: input.run ?? imageRun, item }, IMAGE);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  return status.output as { status: string; attempts: number; error?: { code: string }; bytes?: number };
}

test("a target that answers the digest, its referrers and the tags is already-present: nothing rehydrated, no job", async () => {
  harness.use({ checkRestoreTarget: () => ({ present: true, archived: true, bytes: 10 }) });
  const outcome = await restoreOne();
  assert.equal(outcome.status, "already-present");
  assert.equal(outcome.attempts, 0);
  assert.deepEqual(namesOf(), ["checkRestoreTarget"]);
  assert.deepEqual(harness.calls[0]!.input.tags, item.tags, "the check is asked about the tags it restores under");
});

test("an image with no archive fails as INVALID_ARGUMENT; a dry run is would-restore with its size; neither rehydrates", async () => {
  harness.use({ checkRestoreTarget: () => ({ present: false, archived: false }) });
  const missing = await restoreOne();
  assert.equal(missing.status, "failed");
  assert.equal(missing.error?.code, "INVALID_ARGUMENT");
  assert.deepEqual(namesOf(), ["checkRestoreTarget"]);

  harness.use({ checkRestoreTarget: () => ({ present: false, archived: true, bytes: 123 }) });
  const dry = await restoreOne({ run: { ...imageRun, dryRun: true } });
  assert.equal(dry.status, "would-restore");
  assert.equal(dry.bytes, 123);
  assert.deepEqual(namesOf(), ["checkRestoreTarget"]);
});

test("a copy still rehydrating at the limit fails as REHYDRATION_TIMEOUT with no job, and its claim is released without deleting it", async () => {
  harness.use({
    checkRestoreTarget: () => ({ present: false, archived: true, bytes: 10 }),
    startRehydration: () => ({ ...ready, phase: "rehydrating", started: true }),
    getRehydrationState: () => ({ ...ready, phase: "rehydrating" }),
    releaseStagingCopies: () => null,
  });
  const outcome = await restoreOne({
    run: { ...imageRun, rehydrationTimeoutMinutes: 1, rehydrationPollMaxSeconds: 20 },
  });
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error?.code, "REHYDRATION_TIMEOUT");
  assert.ok(!namesOf().includes("startJobExecution"), "no job while the archive is not readable");
  const releases = harness.calls.filter((c) => c.name === "releaseStagingCopies");
  assert.deepEqual(
    releases.map((c) => c.input.deleteUnclaimed),
    [false],
    "kept for the next restore of this archive",
  );
});

test("a job that keeps reporting DIGEST_MISMATCH fails the image and lets its copy go; other failures keep the copy for reuse", async () => {
  for (const [code, attempts, deleteUnclaimed] of [
    ["DIGEST_MISMATCH", 3, true],
    ["JOB_FAILED", 3, false],
    ["INVALID_ARGUMENT", 1, false], // permanent: not retried
  ] as const) {
    harness.use({
      checkRestoreTarget: () => ({ present: false, archived: true, bytes: 10 }),
      startRehydration: () => ready,
      startJobExecution: (_input, call) => ({ name: `caj-${call}`, status: "Failed" }),
      readWorkerResult: () => ({ status: "failed", error: { code, message: `${code} from the worker` } }),
      releaseStagingCopies: () => null,
    });
    const outcome = await restoreOne();
    assert.equal(outcome.status, "failed", code);
    assert.equal(outcome.error?.code, code);
    assert.equal(outcome.attempts, attempts, `${code}: ${attempts} attempt(s)`);
    assert.deepEqual(
      harness.calls.filter((c) => c.name === "releaseStagingCopies").map((c) => c.input.deleteUnclaimed),
      [deleteUnclaimed],
      code,
    );
  }
});

test("a job that succeeded but a target that does not answer afterwards is DIGEST_MISMATCH; a target that does is restored", async () => {
  for (const presentAfter of [false, true]) {
    harness.use({
      checkRestoreTarget: (_input, call) => ({ present: call > 1 && presentAfter, archived: true, bytes: 10 }),
      startRehydration: () => ready,
      startJobExecution: () => ({ name: "caj-1", status: "Succeeded" }),
      readWorkerResult: () => restored,
      releaseStagingCopies: () => null,
    });
    const outcome = await restoreOne();
    assert.equal(outcome.status, presentAfter ? "restored" : "failed");
    if (!presentAfter) assert.equal(outcome.error?.code, "DIGEST_MISMATCH");
    const checks = harness.calls.filter((c) => c.name === "checkRestoreTarget");
    assert.equal(checks.length, 2, "checked before and after");
    assert.deepEqual(checks[1]!.input.tags, item.tags);
    assert.deepEqual(
      harness.calls.filter((c) => c.name === "releaseStagingCopies").map((c) => c.input.deleteUnclaimed),
      [true],
      "done with the copy either way",
    );
  }
});

test("a worker result with a code outside the error catalogue fails the image as JOB_FAILED, the code kept in the message (guards issue 22.5)", async () => {
  harness.use({
    checkRestoreTarget: () => ({ present: false, archived: true, bytes: 10 }),
    startRehydration: () => ready,
    startJobExecution: (_input, call) => ({ name: `caj-${call}`, status: "Failed" }),
    readWorkerResult: () => ({ status: "failed", error: { code: "NOT_A_CODE", message: "forged" } }),
    releaseStagingCopies: () => null,
  });
  const outcome = (await restoreOne()) as { status: string; error?: { code: string; message: string } };
  assert.equal(outcome.status, "failed");
  assert.deepEqual(outcome.error, { code: "JOB_FAILED", message: "NOT_A_CODE: forged" });
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
