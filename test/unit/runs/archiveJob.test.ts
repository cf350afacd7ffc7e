// One attempt's job start (src/runs/archiveJob.ts): the env a job execution gets (its request and its share of the
// registry's read budget), over a recording job runner.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobExecution, JobRunner } from "../../../src/jobs/jobRunner.js";
import { startArchiveJob, workerReadsPerMinute } from "../../../src/runs/archiveJob.js";

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
