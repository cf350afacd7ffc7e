// startRestoreRun with a fake run client and lock (no host, no storage): RESTORE_TARGET_REGISTRIES empty by default
// (every restore refused), the default target (the source itself), the one input schema the orchestrators check, the
// settings' limits per priority, one restore per target (409), and a runId that names no archive run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readAppConfig } from "../../../src/config.js";
import { isArchiveError } from "../../../src/errors.js";
import { isRestoreRunInstanceId } from "../../../src/runs/instanceIds.js";
import { restoreRunInputSchema, type RestoreRunInput } from "../../../src/runs/restoreRun.js";
import {
  parseStartRestoreRun,
  startRestoreRun,
  type StartRestoreRunDependencies,
} from "../../../src/runs/startRestoreRun.js";
import type { RunningRun } from "../../../src/runs/engine/startRun.js";

const BASE = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true", JOB_RUNNER: "local" };

function deps(env: Record<string, string>, running: RunningRun[] = [], archiveRuns: Record<string, string> = {}) {
  const started: { instanceId: string; input: RestoreRunInput }[] = [];
  const locked: string[] = [];
  const d: StartRestoreRunDependencies = {
    client: {
      listRunningRuns: async () => running,
      startNew: async (instanceId, input) => void started.push({ instanceId, input }),
    },
    config: readAppConfig({ ...BASE, ...env }),
    resolveRegistry: async (r) => r,
    lock: (name, work) => {
      locked.push(name);
      return work();
    },
    archiveRunRegistry: async (runId) => archiveRuns[runId],
    now: new Date("2026-12-01T21:00:00.000Z"),
  };
  return { deps: d, started, locked };
}

const problemsOf = async (promise: Promise<unknown>): Promise<string[]> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(isArchiveError(error) && error.code === "INVALID_ARGUMENT", String(error));
    return error.message.split("\n");
  }
  return assert.fail("expected INVALID_ARGUMENT");
};

test("RESTORE_TARGET_REGISTRIES is empty by default: every restore is refused, nothing started", async () => {
  const { deps: d, started } = deps({});
  assert.deepEqual(d.config.restoreTargetRegistries, []);
  const problems = await problemsOf(
    startRestoreRun(parseStartRestoreRun({ registry: "src.azurecr.io", images: ["a:1"] }), d),
  );
  assert.deepEqual(problems, [
    "target.registry: src.azurecr.io is not in RESTORE_TARGET_REGISTRIES (none: set RESTORE_TARGET_REGISTRIES)",
  ]);
  assert.equal(started.length, 0);
});

test("the target defaults to the source; the input passes the orchestrators' schema with the settings' limits", async () => {
  const {
    deps: d,
    started,
    locked,
  } = deps({
    RESTORE_TARGET_REGISTRIES: "src.azurecr.io",
    REHYDRATION_TIMEOUT_MINUTES_HIGH: "90",
    REHYDRATION_POLL_MAX_SECONDS: "600",
  });
  const result = await startRestoreRun(
    parseStartRestoreRun({ registry: "src.azurecr.io", repositories: ["team/**"], rehydratePriority: "High" }),
    d,
  );
  assert.equal(result.kind, "started");
  assert.ok(isRestoreRunInstanceId(result.instanceId), result.instanceId);
  assert.deepEqual(locked, ["restore:src.azurecr.io"]);
  const { input } = started[0]!;
  assert.deepEqual(restoreRunInputSchema.parse(input), input);
  assert.deepEqual(input.target, { registry: "src.azurecr.io" });
  assert.deepEqual(input.selection, { repositories: ["team/**"] });
  assert.equal(input.rehydrationTimeoutMinutes, 90);
  assert.equal(input.rehydrationPollMaxSeconds, 600);
  assert.equal(input.kind, "restore");
});

test("a restore into a target that has one running is a conflict, and starts nothing", async () => {
  const running = [{ instanceId: "restore-dst-azurecr-io-20261201T200000000Z-abcdef", subject: "dst.azurecr.io" }];
  const { deps: d, started } = deps({ RESTORE_TARGET_REGISTRIES: "dst.azurecr.io" }, running);
  const body = {
    registry: "src.azurecr.io",
    images: ["a@sha256:" + "a".repeat(64)],
    target: { registry: "dst.azurecr.io" },
  };
  const result = await startRestoreRun(parseStartRestoreRun(body), d);
  assert.deepEqual(result, { kind: "conflict", instanceId: running[0]!.instanceId, target: "dst.azurecr.io" });
  assert.equal(started.length, 0);
});

test("a runId must name an archive run of the same source registry", async () => {
  const { deps: d } = deps({ RESTORE_TARGET_REGISTRIES: "*.azurecr.io" }, [], { "archive-x": "other.azurecr.io" });
  assert.deepEqual(
    await problemsOf(startRestoreRun(parseStartRestoreRun({ registry: "src.azurecr.io", runId: "archive-y" }), d)),
    ["runId: no summary of an archive run archive-y in this container"],
  );
  assert.deepEqual(
    await problemsOf(startRestoreRun(parseStartRestoreRun({ registry: "src.azurecr.io", runId: "archive-x" }), d)),
    ["runId: archive-x archived other.azurecr.io, not src.azurecr.io"],
  );
});

test("the body schema names every problem and wants exactly one selection", () => {
  assert.throws(
    () =>
      parseStartRestoreRun({ registry: "r.azurecr.io", images: ["a:1"], tags: ["v*"], maxParallel: 0, dryRun: "yes" }),
    (error: unknown) => {
      const lines = (error as Error).message.split("\n");
      assert.ok(
        lines.some((l) => l.startsWith("maxParallel: must be ≥ 1")),
        lines.join("\n"),
      );
      assert.ok(
        lines.some((l) => l.startsWith("dryRun:")),
        lines.join("\n"),
      );
      return true;
    },
  );
  assert.throws(
    () => parseStartRestoreRun({ registry: "r.azurecr.io", images: ["a:1"], tags: ["v*"] }),
    /exactly one way/,
  );
});

test("the body's image selectors are parsed once, at the edge, and the run's input carries them parsed (guards issue 22.4)", async () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const body = parseStartRestoreRun({ registry: "src.azurecr.io", images: ["team/api:1.0", `team/web@${digest}`] });
  const parsed = [
    { repository: "team/api", tag: "1.0" },
    { repository: "team/web", digest },
  ];
  assert.deepEqual(body.images, parsed);
  const { deps: d, started } = deps({ RESTORE_TARGET_REGISTRIES: "src.azurecr.io" });
  await startRestoreRun(body, d);
  const { input } = started[0]!;
  assert.deepEqual(input.selection, { images: parsed });
  assert.deepEqual(restoreRunInputSchema.parse(input), input);
});

test("a run's input takes parsed selectors only: a string, a selector with both a tag and a digest, or a bad value is refused (guards issue 22.4)", () => {
  const valid = {
    kind: "restore",
    runId: "restore-src-azurecr-io-20261201T210000000Z-abcdef",
    registry: "src.azurecr.io",
    container: "images",
    dryRun: false,
    maxParallel: 1,
    maxAttempts: 1,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 50,
    requestedAtUtc: "2026-12-01T21:00:00.000Z",
    selection: { images: [{ repository: "team/api", tag: "1.0" }] },
    target: { registry: "src.azurecr.io" },
    rehydratePriority: "Standard",
    rehydrationTimeoutMinutes: 60,
    rehydrationPollMaxSeconds: 60,
  };
  assert.ok(restoreRunInputSchema.safeParse(valid).success);
  for (const images of [
    ["team/api:1.0"],
    [{ repository: "team/api", tag: "1.0", digest: `sha256:${"a".repeat(64)}` }],
    [{ repository: "UPPER", tag: "1.0" }],
    [{ repository: "team/api", tag: "-bad" }],
    [{ repository: "team/api", digest: "sha256:short" }],
    [{ repository: "team/api" }],
  ])
    assert.ok(!restoreRunInputSchema.safeParse({ ...valid, selection: { images } }).success, JSON.stringify(images));
});
