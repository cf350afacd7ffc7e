// startArchiveRun with a fake run client and lock (no host, no storage): the allow-list and its default, the one
// schema every orchestration input passes, the conflict answer, the lock around check-and-start, and the registry
// resolved before the allow-list sees it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readAppConfig } from "../../../src/config.js";
import { ArchiveError, isArchiveError } from "../../../src/errors.js";
import { archiveRunInputSchema, type ArchiveRunInput } from "../../../src/runs/archiveRun.js";
import {
  parseStartArchiveRun,
  startArchiveRun,
  type ArchiveRunClient,
  type StartArchiveRunDependencies,
} from "../../../src/runs/startArchiveRun.js";
import type { RunningRun } from "../../../src/runs/engine/startRun.js";

const BASE = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true", JOB_RUNNER: "local" };

function deps(env: Record<string, string>, running: RunningRun[] = []) {
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
  await assert.rejects(
    startArchiveRun(parseStartArchiveRun({ registry: "someone-else.azurecr.io" }), d),
    /registry: someone-else\.azurecr\.io is not in ALLOWED_REGISTRIES \(none: set ALLOWED_REGISTRIES\)/,
  );
  assert.equal(started.length, 0);
});

test("NIGHTLY_REGISTRIES' login servers and ACR_LOGIN_SERVER are allowed without ALLOWED_REGISTRIES", async () => {
  const config = readAppConfig({
    ...BASE,
    NIGHTLY_REGISTRIES: "nightly.azurecr.io, myacr",
    ACR_USERNAME: "u",
    ACR_PASSWORD: "p",
    ACR_LOGIN_SERVER: "pw.example.com",
  });
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
  const { deps: d, started } = deps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, [
    { instanceId: "archive-myacr-azurecr-io-x", subject: "myacr.azurecr.io" },
  ]);
  const result = await startArchiveRun(parseStartArchiveRun({ registry: "myacr.azurecr.io" }), d);
  assert.deepEqual(result, {
    kind: "conflict",
    instanceId: "archive-myacr-azurecr-io-x",
    registry: "myacr.azurecr.io",
  });
  assert.equal(started.length, 0);
});

/** Deps whose resolver, lock and client log what they are asked, in order; the lock can refuse. */
function recordingDeps(
  env: Record<string, string>,
  options: { running?: RunningRun[]; resolve?: (r: string) => string; lockRefuses?: boolean } = {},
) {
  const events: string[] = [];
  const { deps: d, started } = deps(env);
  d.resolveRegistry = async (registry) => {
    events.push(`resolve ${registry}`);
    return options.resolve?.(registry) ?? registry;
  };
  d.lock = async (registry, work) => {
    events.push(`lock ${registry}`);
    if (options.lockRefuses)
      throw new ArchiveError("STORAGE_ERROR", `cannot lock ${registry} to start a run: LeaseAlreadyPresent`);
    try {
      return await work();
    } finally {
      events.push(`unlock ${registry}`);
    }
  };
  d.client = {
    listRunningRuns: async () => {
      events.push("listRunningRuns");
      return options.running ?? [];
    },
    startNew: async (instanceId, input) => {
      events.push("startNew");
      started.push({ instanceId, input });
    },
  };
  return { deps: d, started, events };
}

test("the running-run check and the start happen inside the lock of the resolved registry; a refused lock starts nothing", async () => {
  const resolve = () => "MyAcr.AzureCR.io";
  const fresh = recordingDeps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, { resolve });
  assert.equal((await startArchiveRun(parseStartArchiveRun({ registry: "myacr" }), fresh.deps)).kind, "started");
  assert.deepEqual(fresh.events, [
    "resolve myacr",
    "lock myacr.azurecr.io",
    "listRunningRuns",
    "startNew",
    "unlock myacr.azurecr.io",
  ]);

  const running = [{ instanceId: "archive-myacr-azurecr-io-x", subject: "myacr.azurecr.io" }];
  const busy = recordingDeps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, { resolve, running });
  assert.equal((await startArchiveRun(parseStartArchiveRun({ registry: "myacr" }), busy.deps)).kind, "conflict");
  assert.deepEqual(busy.events, [
    "resolve myacr",
    "lock myacr.azurecr.io",
    "listRunningRuns",
    "unlock myacr.azurecr.io",
  ]);

  const locked = recordingDeps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, { resolve, lockRefuses: true });
  const refused = startArchiveRun(parseStartArchiveRun({ registry: "myacr" }), locked.deps);
  await assert.rejects(refused, (e: unknown) => isArchiveError(e) && e.code === "STORAGE_ERROR");
  assert.deepEqual(
    locked.events,
    ["resolve myacr", "lock myacr.azurecr.io"],
    "nothing is checked or started without the lock",
  );
  assert.equal(locked.started.length, 0);
});

test("the allow-list judges the resolved login server, not the value asked for, and before the lock is taken", async () => {
  // A bare ACR name the allow-list does not name is admitted through the login server it resolves to.
  const byName = recordingDeps({ ALLOWED_REGISTRIES: "myacr.azurecr.io" }, { resolve: () => "MyAcr.AzureCR.io" });
  const result = await startArchiveRun(parseStartArchiveRun({ registry: "myacr" }), byName.deps);
  assert.equal(result.kind, "started");
  assert.equal(byName.started[0]?.input.registry, "myacr.azurecr.io");
  assert.match(byName.started[0]?.instanceId ?? "", /^archive-myacr-azurecr-io-/);
  // A value the allow-list admits as written, which resolves elsewhere, is refused: no lock, no query, no start.
  const elsewhere = recordingDeps({ ALLOWED_REGISTRIES: "*.azurecr.io" }, { resolve: () => "evil.example.com" });
  const refused = startArchiveRun(parseStartArchiveRun({ registry: "prod.azurecr.io" }), elsewhere.deps);
  await assert.rejects(refused, /registry: evil\.example\.com is not in ALLOWED_REGISTRIES/);
  assert.deepEqual(elsewhere.events, ["resolve prod.azurecr.io"]);
  assert.equal(elsewhere.started.length, 0);
});
