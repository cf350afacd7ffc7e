// One attempt's job start (src/jobs/jobAttempt.ts, and src/runs/startJobExecution.ts for either kind): the env a job
// execution gets (its request and its share of the registry's read budget), over a recording job runner.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobExecution, JobRunner } from "../../../src/jobs/jobRunner.js";
import { isSameAttempt, startJobAttempt, workerReadsPerMinute } from "../../../src/jobs/jobAttempt.js";
import { startJobExecution } from "../../../src/runs/startJobExecution.js";
import { archiveJobRequest } from "../../../src/archive/archiveRequest.js";
import { restoreJobRequest } from "../../../src/archive/restoreRequest.js";

class RecordingRunner implements JobRunner {
  readonly started: Record<string, string>[] = [];
  async startExecution(env: Record<string, string>): Promise<JobExecution> {
    this.started.push(env);
    return { name: `e${this.started.length}`, status: "Running" };
  }
  async findExecution(): Promise<JobExecution | undefined> {
    return undefined;
  }
  async getExecution(name: string): Promise<JobExecution> {
    return { name, status: "Running" };
  }
  async stopExecution(): Promise<void> {}
}

const request = {
  registry: "myacr.azurecr.io",
  repository: "team/app",
  digest: "sha256:" + "a".repeat(64),
  tags: [],
  blobContainer: "images",
  runId: "archive-myacr-azurecr-io-20261201T020000000Z-abcdef",
  attemptId: "1",
};

test("each execution gets its share of the read budget in REGISTRY_READS_PER_MINUTE, beside ARCHIVE_REQUEST", async () => {
  const runner = new RecordingRunner();
  await startJobAttempt(runner, archiveJobRequest, request, { readsPerMinute: workerReadsPerMinute(1500, 10) });
  assert.deepEqual(runner.started, [{ ARCHIVE_REQUEST: JSON.stringify(request), REGISTRY_READS_PER_MINUTE: "150" }]);
  await startJobAttempt(runner, archiveJobRequest, request);
  assert.deepEqual(Object.keys(runner.started[1]!), ["ARCHIVE_REQUEST"], "no share given: the template's own");
});

test("a share is the budget over the executions at once, at least 1; no budget stays none", () => {
  assert.equal(workerReadsPerMinute(1500, 10), 150);
  assert.equal(workerReadsPerMinute(1500, 1), 1500);
  assert.equal(workerReadsPerMinute(50, 100), 1);
  assert.equal(workerReadsPerMinute(0, 10), 0);
});

const restoreRequest = {
  archiveBlob: `myacr.azurecr.io/team/app@sha256-${"a".repeat(64)}.tar.gz`,
  fromStaging: true,
  blobContainer: "images",
  target: { registry: "myacr.azurecr.io", repository: "team/app", tags: ["1.0"] },
  runId: "restore-myacr-azurecr-io-20261201T020000000Z-abcdef",
  attemptId: "1",
};

test("a restore execution gets the same share of the request budget as an archive's, beside RESTORE_REQUEST (guards issue 21.10)", async () => {
  const runner = new RecordingRunner();
  await startJobAttempt(runner, restoreJobRequest, restoreRequest, { readsPerMinute: workerReadsPerMinute(1500, 10) });
  assert.deepEqual(runner.started, [
    { RESTORE_REQUEST: JSON.stringify(restoreRequest), REGISTRY_READS_PER_MINUTE: "150" },
  ]);
  // The activity's start: one computation of the share for both kinds, from the run's executions at once.
  const scope = {
    allowedRegistries: ["myacr.azurecr.io"],
    restoreTargetRegistries: ["myacr.azurecr.io"],
    archiveContainer: "images",
    registryReadsPerMinute: 1500,
  };
  await startJobExecution(runner, { restoreRequest }, scope, { workers: 4 });
  await startJobExecution(runner, { request }, scope, { workers: 4 });
  assert.deepEqual(
    runner.started.slice(1).map((env) => [Object.keys(env)[0], env.REGISTRY_READS_PER_MINUTE]),
    [
      ["RESTORE_REQUEST", "375"],
      ["ARCHIVE_REQUEST", "375"],
    ],
  );
});

test("an attempt is named by its kind's key: a restore into another target or another attempt id is another attempt", () => {
  const json = JSON.stringify(restoreRequest);
  assert.ok(isSameAttempt(restoreJobRequest, json, restoreRequest));
  assert.ok(!isSameAttempt(restoreJobRequest, json, { ...restoreRequest, attemptId: "2" }));
  const elsewhere = { ...restoreRequest, target: { ...restoreRequest.target, registry: "other.azurecr.io" } };
  assert.ok(!isSameAttempt(restoreJobRequest, json, elsewhere));
  assert.ok(isSameAttempt(archiveJobRequest, JSON.stringify(request), request));
  assert.ok(!isSameAttempt(archiveJobRequest, JSON.stringify({ ...request, runId: "x" }), request));
  for (const broken of [undefined, "", "{not json", "null", "42"])
    assert.ok(!isSameAttempt(archiveJobRequest, broken, request), `${broken} is no attempt`);
});

test("a request outside the app's scope is refused before anything starts", async () => {
  const runner = new RecordingRunner();
  const scope = {
    allowedRegistries: ["myacr.azurecr.io"],
    restoreTargetRegistries: ["myacr.azurecr.io"],
    archiveContainer: "images",
    registryReadsPerMinute: 0,
  };
  await assert.rejects(
    startJobExecution(runner, { request: { ...request, blobContainer: "other" } }, scope, { workers: 1 }),
    /blobContainer: other is not this worker's container/,
  );
  await assert.rejects(
    startJobExecution(
      runner,
      { restoreRequest: { ...restoreRequest, target: { ...restoreRequest.target, registry: "evil.io" } } },
      scope,
      { workers: 1 },
    ),
    /RESTORE_TARGET_REGISTRIES/,
  );
  assert.deepEqual(runner.started, []);
});
