// archiveImage's decisions, replayed by the local host over stand-in activities: a start whose answer was lost is
// reconciled as the same attempt; a new attempt gets a new id and never reads an earlier attempt's result; settings
// and instance ids hold. (Guards issue 8.5.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startOrchestrationHarness, type OrchestrationHarness } from "../../support/orchestrationHarness.js";
import { archiveRequestSchema } from "../../../src/archive/archiveRequest.js";

let harness: OrchestrationHarness;
before(async () => {
  harness = await startOrchestrationHarness();
});
after(async () => {
  await harness?.stop();
});

const RUN = "archive-fixture-20261201T000000000Z-abcdef";
const run = {
  runId: RUN,
  registry: "myacr.azurecr.io",
  container: "images",
  maxAttempts: 3,
  jobTimeoutMinutes: 60,
  pollMaxIntervalSeconds: 10,
};
const item = { repository: "team/app", digest: `sha256:${"c".repeat(64)}`, tags: ["1.0"] };
const result = (bytes: number) => ({
  status: "archived",
  image: "x",
  registry: run.registry,
  repository: item.repository,
  digest: item.digest,
  tags: item.tags,
  container: "images",
  bytes,
  sha256: "d".repeat(64),
  durationSeconds: 1,
});
const startsOf = () =>
  harness.calls
    .filter((c) => c.name === "startJobExecution")
    .map((c) => ({ attemptId: (c.input.request as { attemptId: string }).attemptId, reconcile: c.input.reconcile }));
const readsOf = () => harness.calls.filter((c) => c.name === "readWorkerResult").map((c) => c.input.attemptId);

test("a start whose answer was lost is tried again as the same attempt, reconciling, and its result is read under that id", async () => {
  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: (_input, call) => {
      if (call === 1) throw new Error("JOB_FAILED: Container Apps job caj: start failed (socket hang up)");
      return { name: "caj-found", status: "Running" };
    },
    getJobExecution: () => ({ name: "caj-found", status: "Succeeded" }),
    readWorkerResult: (input) => (input.attemptId === "1" ? result(4096) : null),
  });
  const status = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:0`);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const outcome = status.output as { status: string; attempts: number; bytes: number };
  assert.equal(outcome.status, "archived");
  assert.equal(outcome.bytes, 4096);
  assert.equal(outcome.attempts, 2);
  assert.deepEqual(startsOf(), [
    { attemptId: "1", reconcile: false },
    { attemptId: "1", reconcile: true },
  ]);
  assert.deepEqual(readsOf(), ["1"]);
});

test("after a failed execution the next attempt has a new id, and an orphan's result under the old id is never read as its own", async () => {
  let firstEnded = false;
  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: (input) => ({
      name: `caj-${(input.request as { attemptId: string }).attemptId}`,
      status: "Running",
    }),
    getJobExecution: (input) => ({ name: input.name, status: input.name === "caj-1" ? "Failed" : "Succeeded" }),
    readWorkerResult: (input) => {
      if (input.attemptId === "1") {
        // The first read sees attempt 1 failed; later, its orphan "succeeds" with other bytes: never to be taken.
        if (!firstEnded) {
          firstEnded = true;
          return { ...result(0), status: "failed", error: { code: "REGISTRY_UNREACHABLE", message: "timeout" } };
        }
        return result(1111);
      }
      return input.attemptId === "2" ? result(2222) : null;
    },
  });
  const status = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:1`);
  const outcome = status.output as { status: string; attempts: number; bytes: number };
  assert.equal(outcome.status, "archived", JSON.stringify(status));
  assert.equal(outcome.bytes, 2222);
  assert.equal(outcome.attempts, 2);
  assert.deepEqual(startsOf(), [
    { attemptId: "1", reconcile: false },
    { attemptId: "2", reconcile: false },
  ]);
  assert.deepEqual(readsOf(), ["1", "2"]);
});

test("an archived digest costs nothing: no job is started", async () => {
  harness.use({ checkArchived: () => ({ archived: true, bytes: 10, sha256: "e".repeat(64) }) });
  const status = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:2`);
  const outcome = { ...(status.output as Record<string, unknown>) };
  assert.equal(typeof outcome.durationSeconds, "number"); // scaled time: its value is not the point here
  delete outcome.durationSeconds;
  assert.deepEqual(outcome, { ...item, status: "already-archived", bytes: 10, sha256: "e".repeat(64), attempts: 0 });
  assert.deepEqual(
    harness.calls.map((c) => c.name),
    ["checkArchived"],
  );
});

test("its first activity receives the run, so the settings can refuse it: a refusal fails the image and starts no job", async () => {
  harness.use({
    checkArchived: () => {
      throw new Error("INVALID_ARGUMENT: run asks for more than the settings allow: maxAttempts 3 > MAX_ATTEMPTS 2");
    },
  });
  const status = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:3`);
  const outcome = status.output as { status: string; error: { code: string; message: string } };
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error.code, "ORCHESTRATION_FAILED");
  assert.match(outcome.error.message, /maxAttempts 3 > MAX_ATTEMPTS 2/);
  assert.deepEqual(harness.calls[0]!.input.run, run);
  assert.ok(!harness.calls.some((c) => c.name === "startJobExecution"));
});

test("the outcome's registryRequests are every attempt's that its result reported, summed; a count that is not one is left out", async () => {
  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: (input) => ({
      name: `caj-${(input.request as { attemptId: string }).attemptId}`,
      status: "Running",
    }),
    getJobExecution: (input) => ({ name: input.name, status: input.name === "caj-3" ? "Succeeded" : "Failed" }),
    readWorkerResult: (input) => {
      const failed = { ...result(0), status: "failed", error: { code: "REGISTRY_UNREACHABLE", message: "reset" } };
      if (input.attemptId === "1") return { ...failed, registryRequests: 7 };
      if (input.attemptId === "2") return { ...failed, registryRequests: -4 }; // not a count: not added
      return { ...result(10), registryRequests: 5 };
    },
  });
  const status = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:4`);
  const outcome = status.output as { status: string; attempts: number; registryRequests?: number };
  assert.equal(outcome.status, "archived", JSON.stringify(status));
  assert.equal(outcome.attempts, 3);
  assert.equal(outcome.registryRequests, 12);
});

test("an image that fails every attempt reports its attempts' registry requests too; results that report none give none", async () => {
  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: (input) => ({
      name: `caj-${(input.request as { attemptId: string }).attemptId}`,
      status: "Failed",
    }),
    readWorkerResult: (input) => ({
      ...result(0),
      status: "failed",
      error: { code: "REGISTRY_UNREACHABLE", message: "reset" },
      ...(input.attemptId !== "2" && { registryRequests: 2 }),
    }),
  });
  const failed = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:5`);
  const outcome = failed.output as { status: string; attempts: number; registryRequests?: number };
  assert.equal(outcome.status, "failed", JSON.stringify(failed));
  assert.equal(outcome.attempts, 3);
  assert.equal(outcome.registryRequests, 4);

  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: () => ({ name: "caj-1", status: "Succeeded" }),
    readWorkerResult: () => result(9),
  });
  const silent = await harness.run("archiveImage", { run, item }, `${RUN}:batch:0:6`);
  assert.equal("registryRequests" in (silent.output as object), false, JSON.stringify(silent.output));
});

test("the worker request carries the image as values (registry, repository, digest, tags), no joined reference (guards issue 22.4)", async () => {
  harness.use({
    checkArchived: () => ({ archived: false }),
    startJobExecution: () => ({ name: "caj-1", status: "Succeeded" }),
    readWorkerResult: () => result(1),
  });
  const tagged = { ...item, tags: ["1.0", "stable"] };
  const status = await harness.run("archiveImage", { run, item: tagged }, `${RUN}:batch:0:7`);
  assert.equal((status.output as { status: string }).status, "archived", JSON.stringify(status));
  const start = harness.calls.find((c) => c.name === "startJobExecution")!.input;
  assert.deepEqual(start.request, {
    registry: run.registry,
    repository: item.repository,
    digest: item.digest,
    tags: ["1.0", "stable"],
    blobContainer: "images",
    runId: RUN,
    attemptId: "1",
  });
  // The worker parses it as it is.
  assert.deepEqual(archiveRequestSchema.parse(start.request), start.request);
});
