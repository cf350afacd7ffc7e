// What the worker job may touch comes from its own env, not from its request (which rides on an orchestration input,
// and those can be forged): the registry allow-list, the archive container, and a password bound to one host. The real
// worker process against a recording registry; the pure parts: test/unit/config.test.ts, unit/registry/createRegistryClient.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, beforeEach, test } from "node:test";
import { childEnv, runNode, WORKER_MAIN } from "../support/worker.js";

// A registry that records who asked and with which credentials, and demands Basic auth of everyone.
let foreign: Server;
let foreignHost = "";
const seen: { url: string; authorization?: string }[] = [];

before(async () => {
  foreign = createServer((req, res) => {
    seen.push({ url: req.url ?? "", ...(req.headers.authorization && { authorization: req.headers.authorization }) });
    res.writeHead(401, { "www-authenticate": 'Basic realm="foreign"' }).end();
  });
  await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", () => resolve()));
  foreignHost = `127.0.0.1:${(foreign.address() as { port: number }).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => foreign.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

// Storage is configured but never reached: every case ends before (a closed port, so a write would fail loudly).
const STORAGE =
  "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1";
const request = (registry: string, container = "images") =>
  JSON.stringify({ image: `${registry}/loot/app:1`, blobContainer: container, runId: "run-1" });
const worker = (env: Record<string, string>) =>
  runNode(WORKER_MAIN, [], childEnv({ AZURE_STORAGE_CONNECTION_STRING: STORAGE, ARCHIVE_CONTAINER: "images", ...env }));

test("the worker job refuses to run without ALLOWED_REGISTRIES, with one line naming it (guards issue 8.1)", async () => {
  const run = await worker({ ARCHIVE_REQUEST: request(foreignHost) });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^acr-cold-archive worker: CONFIG_INVALID: ALLOWED_REGISTRIES: is required for the worker job/,
  );
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.deepEqual(seen, []);
});

test("the worker job refuses to run without ARCHIVE_CONTAINER, the one container it may write (guards issue 8.1)", async () => {
  const run = await runNode(
    WORKER_MAIN,
    [],
    childEnv({
      AZURE_STORAGE_CONNECTION_STRING: STORAGE,
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      ARCHIVE_REQUEST: request(foreignHost),
    }),
  );
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^acr-cold-archive worker: CONFIG_INVALID: ARCHIVE_CONTAINER: is required for the worker job/,
  );
  assert.deepEqual(seen, []);
});

test("a request for a registry outside the worker's ALLOWED_REGISTRIES is refused before any request (guards issue 8.1)", async () => {
  const run = await worker({
    ARCHIVE_REQUEST: request(foreignHost),
    ALLOWED_REGISTRIES: "myacr.azurecr.io",
    ACR_USERNAME: "alice",
    ACR_PASSWORD: "s3cret-pw",
    ACR_LOGIN_SERVER: "myacr.azurecr.io",
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    new RegExp(`INVALID_ARGUMENT: registry: ${foreignHost} is not in ALLOWED_REGISTRIES \\(myacr\\.azurecr\\.io\\)`),
  );
  assert.deepEqual(seen, [], "the foreign registry was never contacted");
  assert.ok(!run.stderr.includes("s3cret-pw") && !run.stdout.includes("s3cret-pw"));
});

test("a request for another container than the worker's ARCHIVE_CONTAINER is refused (guards issue 8.1)", async () => {
  const run = await worker({
    ARCHIVE_REQUEST: request(foreignHost, "loot"),
    ALLOWED_REGISTRIES: "127.0.0.1:*",
    ARCHIVE_CONTAINER: "images",
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /INVALID_ARGUMENT: blobContainer: loot is not this worker's container \(ARCHIVE_CONTAINER: images\)/,
  );
  assert.deepEqual(seen, []);
});

test("a password is offered only to ACR_LOGIN_SERVER: an allowed registry that asks for it gets none (guards issue 8.1c)", async () => {
  const run = await worker({
    ARCHIVE_REQUEST: request(foreignHost),
    ALLOWED_REGISTRIES: "127.0.0.1:*",
    ACR_USERNAME: "alice",
    ACR_PASSWORD: "s3cret-pw",
    ACR_LOGIN_SERVER: "127.0.0.1:1",
  });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /REGISTRY_AUTH_FAILED/);
  assert.ok(seen.length > 0, "the allowed registry was asked");
  assert.deepEqual(
    seen.filter((r) => r.authorization),
    [],
    "and received no credentials",
  );
});
