// startArchiveRun with a fake run client and lock (no host, no storage): the allow-list and its default, the one
// schema every orchestration input passes, and the conflict answer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readAppConfig } from "../src/config.js";
import { archiveRunInputSchema, type ArchiveRunInput } from "../src/runs/archiveRun.js";
import { parseStartArchiveRun, startArchiveRun, type ArchiveRunClient, type StartArchiveRunDependencies } from "../src/runs/startArchiveRun.js";

const BASE = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true", JOB_RUNNER: "local" };

function deps(env: Record<string, string>, running: { instanceId: string; registry: string }[] = []) {
  const started: { instanceId: string; input: ArchiveRunInput }[] = [];
  const client: ArchiveRunClient = {
    listRunningRuns: async () => running,
    startNew: async (instanceId, input) => void started.push({ instanceId, input }),
  };
  const d: StartArchiveRunDependencies = {
    client,
    config: readAppConfig({ ...BASE, ...env }),
    resolveRegistry: async (r) => r,
    lock: (_registry, work) => work(),
    now: new Date("2026-12-01T02:00:00.000Z"),
    requestedBy: "http",
  };
  return { deps: d, started };
}

test("ALLOWED_REGISTRIES is empty by default: no wildcard admits any tenant's ACR (guards issue 8.4)", async () => {
  const { deps: d, started } = deps({});
  assert.deepEqual(d.config.allowedRegistries, []);
  await assert.rejects(startArchiveRun(parseStartArchiveRun({ registry: "someone-else.azurecr.io" }), d), /registry: someone-else\.azurecr\.io is not in ALLOWED_REGISTRIES \(none: set ALLOWED_REGISTRIES\)/);
  assert.equal(started.length, 0);
});

test("NIGHTLY_REGISTRIES' login servers and ACR_LOGIN_SERVER are allowed without ALLOWED_REGISTRIES", async () => {
  const config = readAppConfig({ ...BASE, NIGHTLY_REGISTRIES: "nightly.azurecr.io, myacr", ACR_USERNAME: "u", ACR_PASSWORD: "p", ACR_LOGIN_SERVER: "pw.example.com" });
  assert.deepEqual(config.allowedRegistries, ["nightly.azurecr.io", "pw.example.com"]);
  const { deps: d, started } = deps({ NIGHTLY_REGISTRIES: "nightly.azurecr.io" });
  const result = await startArchiveRun(parseStartArchiveRun({ registry: "nightly.azurecr.io" }), d);
  assert.equal(result.kind, "started");
  assert.equal(started.length, 1);
});

test("the input a run starts with passes the schema each orchestrator checks it with", async () => {
  const { deps: d, started } = deps({ ALLOWED_REGISTRIES: "*.azurecr.io" });
  await startArchiveRun(parseStartArchiveRun({ registry: "myacr.azurecr.io", tags: ["v*"], maxParallel: 7 }), d);
  const input = started[0]!.input;
  assert.deepEqual(archiveRunInputSchema.parse(input), input);
  assert.equal(input.maxParallel, 7);
  assert.equal(input.batchSize, 50);
  assert.match(started[0]!.instanceId, /^archive-myacr-azurecr-io-20261201T020000000Z-[0-9a-f]{6}$/);
});

test("a run of a registry already running answers conflict and starts nothing", async () => {
  const { deps: d, started } = deps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, [{ instanceId: "archive-myacr-azurecr-io-x", registry: "myacr.azurecr.io" }]);
  const result = await startArchiveRun(parseStartArchiveRun({ registry: "myacr.azurecr.io" }), d);
  assert.deepEqual(result, { kind: "conflict", instanceId: "archive-myacr-azurecr-io-x", registry: "myacr.azurecr.io" });
  assert.equal(started.length, 0);
});
