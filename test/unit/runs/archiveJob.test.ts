// One attempt's job start (src/runs/archiveJob.ts): the env a job execution gets (its request and its share of the
// registry's read budget), over a recording job runner.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobExecution, JobRunner } from "../../../src/jobs/jobRunner.js";
import {
  startArchiveJob,
  startJobAttempt,
  startRestoreJob,
  workerReadsPerMinute,
} from "../../../src/runs/archiveJob.js";

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
  image: "myacr.azurecr.io/team/app@sha256:" + "a".repeat(64),
  blobContainer: "images",
  runId: "archive-myacr-azurecr-io-20261201T020000000Z-abcdef",
  attemptId: "1",
};

test("each execution gets its share of the read budget in REGISTRY_READS_PER_MINUTE, beside ARCHIVE_REQUEST", async () => {
  const runner = new RecordingRunner();
  await startArchiveJob(runner, request, { readsPerMinute: workerReadsPerMinute(1500, 10) });
  assert.deepEqual(runner.started, [{ ARCHIVE_REQUEST: JSON.stringify(request), REGISTRY_READS_PER_MINUTE: "150" }]);
  await startArchiveJob(runner, request);
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
  readableBlob: `staging/myacr.azurecr.io/team/app@sha256-${"a".repeat(64)}.tar.gz`,
  blobContainer: "images",
  target: { registry: "myacr.azurecr.io", repository: "team/app", tags: ["1.0"] },
  expectedDigest: `sha256:${"a".repeat(64)}`,
  runId: "restore-myacr-azurecr-io-20261201T020000000Z-abcdef",
  attemptId: "1",
};

test("a restore execution gets the same share of the request budget as an archive's, beside RESTORE_REQUEST (guards issue 21.10)", async () => {
  const runner = new RecordingRunner();
  await startRestoreJob(runner, restoreRequest, { readsPerMinute: workerReadsPerMinute(1500, 10) });
  assert.deepEqual(runner.started, [
    { RESTORE_REQUEST: JSON.stringify(restoreRequest), REGISTRY_READS_PER_MINUTE: "150" },
  ]);
  // The activity's start: one computation of the share for both kinds, from the run's executions at once.
  const budget = { workers: 4, registryReadsPerMinute: 1500 };
  await startJobAttempt(runner, { restoreRequest }, budget);
  await startJobAttempt(runner, { request }, budget);
  assert.deepEqual(
    runner.started.slice(1).map((env) => [Object.keys(env)[0], env.REGISTRY_READS_PER_MINUTE]),
    [
      ["RESTORE_REQUEST", "375"],
      ["ARCHIVE_REQUEST", "375"],
    ],
  );
});
