// LocalJobRunner with the real compiled worker (the exit-code contract is the worker's, so no stand-in script):
// a bad request ends Failed with the worker's one-line reason; a worker stuck on its registry ends Stopped.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isArchiveError } from "../../src/errors.js";
import { LocalJobRunner } from "../../src/jobs/localJobRunner.js";
import { childEnv, WORKER_MAIN } from "../support/worker.js";

// The bundled worker built next to this test (npm run build): what the Dockerfile ships.
const WORKER = WORKER_MAIN;

// The host env minus anything that points at real storage or registries; storage is configured but never reached.
const BASE_ENV = childEnv({
  AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
  ALLOWED_REGISTRIES: "127.0.0.1:*",
  ARCHIVE_CONTAINER: "images",
});

let runner: LocalJobRunner;
const started: string[] = [];

before(() => {
  assert.ok(existsSync(WORKER), `the compiled worker is missing at ${WORKER}: build the project first (npm run build)`);
  runner = new LocalJobRunner({ workerPath: WORKER, env: BASE_ENV, namePrefix: "test", stopGracePeriodInMs: 10_000 });
  // Every execution a test starts is recorded, so none outlives the file even when an assertion fails midway.
  const start = runner.startExecution.bind(runner);
  runner.startExecution = async (env, options) => {
    const execution = await start(env, options);
    started.push(execution.name);
    return execution;
  };
});
after(async () => {
  await Promise.all(started.map((name) => runner.stopExecution(name)));
});

test("a bad ARCHIVE_REQUEST ends Failed with the worker's one-line reason", async () => {
  const started = await runner.startExecution({ ARCHIVE_REQUEST: "{not json" });
  assert.match(started.name, /^test-\d+-[0-9a-f]{8}$/);
  assert.equal(started.status, "Running");

  const ended = await runner.waitForExecution(started.name);
  assert.equal(ended.status, "Failed");
  assert.equal(ended.error, "acr-cold-archive worker: CONFIG_INVALID: ARCHIVE_REQUEST is not JSON");
  assert.ok(ended.endTime && ended.startTime && ended.endTime >= ended.startTime);
  assert.deepEqual(await runner.getExecution(started.name), ended);
});

test("an invalid request field is reported by name", async () => {
  const { name } = await runner.startExecution({
    ARCHIVE_REQUEST: JSON.stringify({ image: "127.0.0.1:5000/team/app:1.0", blobContainer: "Not_A_Container" }),
  });
  const ended = await runner.waitForExecution(name);
  assert.equal(ended.status, "Failed");
  assert.equal(
    ended.error,
    "acr-cold-archive worker: CONFIG_INVALID: invalid ARCHIVE_REQUEST: blobContainer: must be a blob container name: 3-63 of a-z, 0-9 and single hyphens",
  );
});

test("stopping a worker that is stuck on its registry ends Stopped", async (t) => {
  // A "registry" on 127.0.0.1 that accepts connections and never answers: the worker waits on it until stopped.
  const sockets = new Set<Socket>();
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));
  const registry: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    connected();
  });
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => registry.close(() => resolve()));
  });
  const { port } = registry.address() as { port: number };

  const { name } = await runner.startExecution({
    ARCHIVE_REQUEST: JSON.stringify({ image: `127.0.0.1:${port}/stuck/app:1.0`, blobContainer: "images" }),
  });
  await firstConnection; // the worker is running and waiting for the registry
  assert.equal((await runner.getExecution(name)).status, "Running");

  await runner.stopExecution(name);
  const ended = await runner.getExecution(name);
  assert.equal(ended.status, "Stopped");
  assert.ok(ended.endTime);
  assert.equal(ended.error, "acr-cold-archive worker: ABORTED: the request was aborted");
  // Stopping again is a no-op.
  await runner.stopExecution(name);
  assert.equal((await runner.getExecution(name)).status, "Stopped");
});

test("a secret env name is refused and no process is started", async () => {
  await assert.rejects(
    runner.startExecution({ ARCHIVE_REQUEST: "{}", ACR_PASSWORD: "hunter2" }),
    (error: Error) =>
      error instanceof TypeError && /ACR_PASSWORD/.test(error.message) && !error.message.includes("hunter2"),
  );
});

test("an unknown execution name is a non-retryable JOB_FAILED", async () => {
  await assert.rejects(
    runner.getExecution("test-999-00000000"),
    (error: unknown) =>
      isArchiveError(error) && error.code === "JOB_FAILED" && error.retryable === false && error.statusCode === 404,
  );
});

test("a missing worker file fails the start with a message that says how to fix it", async () => {
  const missing = new LocalJobRunner({ workerPath: fileURLToPath(new URL("./no-such-worker.js", import.meta.url)) });
  await assert.rejects(
    missing.startExecution({ ARCHIVE_REQUEST: "{}" }),
    (error: unknown) =>
      isArchiveError(error) &&
      error.code === "CONFIG_INVALID" &&
      /worker not found at .*no-such-worker\.js \(build first/.test(error.message),
  );
});
