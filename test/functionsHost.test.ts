// The local Functions host, as a real child process on 127.0.0.1 and a free port, driven over HTTP with a fixture
// app that uses the real @azure/functions and durable-functions: keys, the durable starter and its management URLs,
// retries, sub-orchestrations, timers (scaled, long, scheduled), events, the determinism and custom status checks.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const HOST_MAIN = fileURLToPath(new URL("../tools/functions-host/main.js", import.meta.url));
const FIXTURE_APP = join(repoRoot(), "test", "fixtures", "host-app");
const KEY = `k${randomBytes(12).toString("hex")}`;
const DEADLINE_MS = 90_000;

interface OrchestrationStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: { EventType: string; FunctionName?: string }[];
}

interface ManagementPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
}

interface HostProcess {
  origin: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** The repository root: the nearest folder up from this (compiled) file whose package.json is this project's. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "acr-cold-archive") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository root above the test file");
    dir = parent;
  }
}

/** Starts the host and resolves once it prints its ready line (or fails with its output if it exits first). */
async function startHost(args: string[], env: Record<string, string> = {}): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_MAIN, "--app", FIXTURE_APP, "--port", "0", "--key", KEY, ...args], {
    env: { ...process.env, FIXTURE_TASKHUB: "FixtureHub", FIXTURE_SCHEDULE: "0 0 3 * * *", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-50_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const output = (): string => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill("SIGTERM");
    const result = await Promise.race([exited, sleep(15_000, "timeout" as const, { ref: false })]);
    if (result !== "timeout") return result;
    child.kill("SIGKILL");
    return exited;
  };
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const ready = /^functions-host listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
    if (ready) return { origin: ready[1], child, output, stop };
    if (child.exitCode !== null) throw new Error(`the host exited (${child.exitCode}) before it was ready\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the host was not ready within ${DEADLINE_MS} ms\n${output()}`);
    }
    await sleep(50);
  }
}

async function request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Polls a status URL until the instance reaches one of `statuses`; fails with the host's output otherwise. */
async function waitForStatus(host: HostProcess, statusUrl: string, statuses: string[]): Promise<OrchestrationStatus> {
  const deadline = Date.now() + DEADLINE_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    const response = await request("GET", statusUrl);
    last = response.json ?? response.status;
    const status = response.json as OrchestrationStatus | undefined;
    if (status && statuses.includes(status.runtimeStatus)) {
      assert.equal(response.status, status.runtimeStatus === "Running" || status.runtimeStatus === "Pending" ? 202 : 200);
      return status;
    }
    await sleep(50);
  }
  throw new Error(`${statusUrl} did not reach ${statuses.join("/")} within ${DEADLINE_MS} ms; last: ${JSON.stringify(last)}\n${host.output()}`);
}

let host: HostProcess;
let second: HostProcess | undefined;

before(async () => {
  host = await startHost(["--time-scale", "0.01"]);
});

after(async () => {
  await Promise.all([host?.stop(), second?.stop()]);
});

function statusUrl(h: HostProcess, instanceId: string, query = ""): string {
  return `${h.origin}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?code=${KEY}${query}`;
}

async function start(name: string, input: unknown, instanceId = ""): Promise<ManagementPayload> {
  const response = await request("POST", `${host.origin}/api/orchestrators/${name}/${instanceId}`, input, { "x-functions-key": KEY });
  assert.equal(response.status, 202, response.text);
  return response.json as ManagementPayload;
}

test("function-level routes, the Durable webhooks and the admin API need the key; anonymous routes do not", async () => {
  assert.equal((await request("POST", `${host.origin}/api/orchestrators/pipeline`, { name: "x", failures: 0 })).status, 401);
  assert.equal((await request("POST", `${host.origin}/api/orchestrators/pipeline?code=wrong`, { name: "x", failures: 0 })).status, 401);
  assert.equal((await request("GET", `${host.origin}/api/status/anything`, undefined, { "x-functions-key": "wrong" })).status, 401);
  assert.equal((await request("GET", `${host.origin}/runtime/webhooks/durabletask/instances/anything`)).status, 401);
  assert.equal((await request("POST", `${host.origin}/admin/functions/nightlyStart`, { input: "" })).status, 401);
  assert.equal((await request("GET", `${host.origin}/admin/host/stats`)).status, 401);

  const ping = await request("GET", `${host.origin}/api/ping`);
  assert.equal(ping.status, 200);
  const body = ping.json as { pong: boolean; appStarted: boolean; preInvocations: number };
  assert.equal(body.pong, true);
  assert.equal(body.appStarted, true, "the appStart hook ran");
  assert.ok(body.preInvocations >= 1, "preInvocation hooks run around invocations");
  assert.equal((await request("GET", `${host.origin}/api/no-such-route?code=${KEY}`)).status, 404);
  assert.equal((await request("GET", statusUrl(host, "no-such-instance"))).status, 404);
});

let pipelineId = "";

test("the HTTP starter answers 202 with management URLs on this host, and the orchestration completes", async () => {
  const response = await request("POST", `${host.origin}/api/orchestrators/pipeline?code=${KEY}`, { name: "Tokyo", failures: 2 });
  assert.equal(response.status, 202, response.text);
  const payload = response.json as ManagementPayload;
  const location = response.headers.get("location") ?? "";
  assert.ok(location.startsWith(`${host.origin}/runtime/webhooks/durabletask/instances/${payload.id}?`), location);
  assert.equal(payload.statusQueryGetUri, location);
  assert.match(location, /taskHub=FixtureHub/);
  assert.equal(response.headers.get("retry-after"), "10");
  pipelineId = payload.id;

  const status = await waitForStatus(host, location, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  assert.equal(status.name, "pipeline");
  assert.deepEqual(status.input, { name: "Tokyo", failures: 2 });
  assert.deepEqual(status.customStatus, { stage: "done", squares: 4 });
  const output = status.output as { child: { instanceId: string; parentInstanceId: string; sum: number } };
  assert.deepEqual(output, {
    hello: "Hello Tokyo!",
    flaky: { attempts: 3 },
    child: { sum: 14, instanceId: output.child.instanceId, parentInstanceId: payload.id },
    squares: [1, 4, 9, 16],
    waitedAtLeastOneMinute: true,
  });

  // The same status through the app's own HTTP function (the real DurableClient over rpcBaseUrl).
  const viaClient = await request("GET", `${host.origin}/api/status/${payload.id}?code=${KEY}`);
  assert.equal(viaClient.status, 200, viaClient.text);
  assert.equal((viaClient.json as OrchestrationStatus).runtimeStatus, "Completed");
  assert.deepEqual((viaClient.json as OrchestrationStatus).output, status.output);
  const missing = await request("GET", `${host.origin}/api/status/does-not-exist?code=${KEY}`);
  assert.equal(missing.status, 404);
  assert.match(missing.text, /404/);

  const history = (await request("GET", statusUrl(host, payload.id, "&showHistory=true"))).json as OrchestrationStatus;
  const types = (history.historyEvents ?? []).map((e) => e.EventType);
  assert.equal(types[0], "ExecutionStarted");
  assert.equal(types.at(-1), "ExecutionCompleted");
  assert.ok(types.includes("SubOrchestrationInstanceCompleted"), types.join());
  assert.equal(types.filter((t) => t === "TaskFailed").length, 2, "two failed attempts of the flaky activity");
  assert.equal(types.filter((t) => t === "TimerFired").length, 3, "two retry timers and the createTimer");
});

test("a sub-orchestration runs as its own instance, with a derived id and the parent's id", async () => {
  const parent = (await request("GET", statusUrl(host, pipelineId))).json as OrchestrationStatus;
  const childId = (parent.output as { child: { instanceId: string } }).child.instanceId;
  assert.ok(childId.startsWith(`${pipelineId}:`), childId);
  const child = await waitForStatus(host, statusUrl(host, childId), ["Completed"]);
  assert.equal(child.name, "child");
  assert.deepEqual(child.input, { values: [1, 2, 3] });
  assert.deepEqual(child.output, { sum: 14, instanceId: childId, parentInstanceId: pipelineId });
});

test("callActivityWithRetry retries until success, and surfaces the last failure after the last attempt", async () => {
  const recovered = await start("retryProbe", { failures: 2, maxAttempts: 3 });
  const exhausted = await start("retryProbe", { failures: 9, maxAttempts: 3 });
  const ok = await waitForStatus(host, recovered.statusQueryGetUri, ["Completed", "Failed"]);
  assert.deepEqual(ok.output, { ok: { attempts: 3 } });
  const failed = await waitForStatus(host, exhausted.statusQueryGetUri, ["Completed", "Failed"]);
  const output = failed.output as { failed: string; attempts: number };
  assert.equal(output.attempts, 3, "exactly maxAttempts attempts");
  assert.match(output.failed, /Activity function 'flaky' failed: flaky attempt 3 failed on purpose/);
  const history = (await request("GET", `${exhausted.statusQueryGetUri}&showHistory=true`)).json as OrchestrationStatus;
  const timers = (history.historyEvents ?? []).filter((e) => e.EventType === "TimerFired").length;
  assert.equal(timers, 3, "a retry timer after every failed attempt, the last one included");
});

test("a fan-out of retried activities and sub-orchestrations keeps the task ids of every batch in step", async () => {
  const runs = await Promise.all([1, 2, 3].map(() => start("fanOutRetries", undefined)));
  for (const run of runs) {
    const status = await waitForStatus(host, run.statusQueryGetUri, ["Completed", "Failed"]);
    assert.deepEqual(status.output, {
      first: [{ attempts: 1 }, 0, { attempts: 2 }, 1, { attempts: 3 }, 4, { attempts: 4 }, 9, { attempts: 1 }, 16, { attempts: 2 }, 25],
      sums: [0, 1, 4],
    });
  }
  // New tasks scheduled in the same episode as a retry timer (a failed attempt racing a completed activity).
  const races = await Promise.all([1, 2, 3].map(() => start("raceRetry", undefined)));
  for (const race of races) {
    const status = await waitForStatus(host, race.statusQueryGetUri, ["Completed", "Failed"]);
    const output = status.output as { winner: string };
    assert.ok(["fast", "slow"].includes(output.winner), JSON.stringify(output));
    assert.deepEqual(status.output, { winner: output.winner, fast: 9, after: [16, 25], slow: { attempts: 4 } });
  }
});

test("external events, termination and continue-as-new", async () => {
  const approved = await start("approval", undefined);
  const rejected = await start("approval", undefined);
  await waitForStatus(host, approved.statusQueryGetUri, ["Running"]);
  const raised = await request("POST", approved.sendEventPostUri.replace("{eventName}", "approval"), "yes");
  assert.equal(raised.status, 202, raised.text);
  const done = await waitForStatus(host, approved.statusQueryGetUri, ["Completed"]);
  assert.deepEqual(done.output, { approved: "yes" });
  assert.equal((await request("POST", approved.sendEventPostUri.replace("{eventName}", "approval"), "again")).status, 410);

  const terminated = await request("POST", `${host.origin}/api/instances/${rejected.id}/terminate?code=${KEY}&reason=not%20needed`);
  assert.equal(terminated.status, 202, terminated.text);
  const stopped = await waitForStatus(host, rejected.statusQueryGetUri, ["Terminated"]);
  assert.equal(stopped.output, "not needed");

  const counter = await start("counter", 0, "counter-1");
  assert.equal(counter.id, "counter-1");
  const counted = await waitForStatus(host, counter.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(counted.output, 3);
  assert.equal(counted.input, 3, "the last execution's input");
  const duplicate = await request("POST", `${host.origin}/api/orchestrators/approval/${approved.id}?code=${KEY}`);
  assert.equal(duplicate.status, 202, "a finished instance id can be reused");
});

test("a non-deterministic replay fails the orchestration with a clear error", async () => {
  const started = await start("nonDeterministic", undefined);
  const status = await waitForStatus(host, started.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Failed", JSON.stringify(status.output));
  assert.match(String(status.output), /non-deterministic/i);
});

test("a custom status over 16 KB of UTF-16 JSON fails the orchestration", async () => {
  const started = await start("bigCustomStatus", undefined);
  const status = await waitForStatus(host, started.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Failed");
  assert.match(String(status.output), /custom status must not exceed 16 KB/);
});

test("the admin API runs a timer trigger now, and it starts an orchestration", async () => {
  const fired = await request("POST", `${host.origin}/admin/functions/nightlyStart`, { input: "" }, { "x-functions-key": KEY });
  assert.equal(fired.status, 202, fired.text);
  assert.equal((await request("POST", `${host.origin}/admin/functions/noSuchFunction?code=${KEY}`, { input: "" })).status, 404);
  assert.equal((await request("POST", `${host.origin}/admin/functions/pipeline?code=${KEY}`, { input: "" })).status, 400);

  const deadline = Date.now() + DEADLINE_MS;
  let nightly: { instanceId: string; name: string; runtimeStatus: string } | undefined;
  while (!nightly && Date.now() < deadline) {
    const listed = await request("GET", `${host.origin}/api/instances?code=${KEY}&status=Completed`);
    assert.equal(listed.status, 200, listed.text);
    nightly = (listed.json as { instanceId: string; name: string; runtimeStatus: string }[]).find((i) => i.instanceId.startsWith("nightly-"));
    if (!nightly) await sleep(50);
  }
  assert.ok(nightly, `no completed nightly- instance\n${host.output()}`);
  assert.equal(nightly.name, "echo");
  const status = (await request("GET", statusUrl(host, nightly.instanceId))).json as OrchestrationStatus;
  assert.deepEqual(status.output, { source: "timer", isPastDue: false });
});

test("the instance listing filters by status and pages with a continuation token", async () => {
  const base = `${host.origin}/runtime/webhooks/durabletask/instances?code=${KEY}&runtimeStatus=Completed,Failed`;
  const all = await request("GET", base);
  const everything = all.json as OrchestrationStatus[];
  assert.ok(everything.length >= 5);
  assert.ok(everything.every((s) => s.runtimeStatus === "Completed" || s.runtimeStatus === "Failed"));
  const firstPage = await request("GET", `${base}&top=2`);
  assert.equal((firstPage.json as unknown[]).length, 2);
  const token = firstPage.headers.get("x-ms-continuation-token");
  assert.ok(token, "a continuation token when more results exist");
  const nextPage = await fetch(`${base}&top=2`, { headers: { "x-ms-continuation-token": token } });
  const next = (await nextPage.json()) as OrchestrationStatus[];
  assert.deepEqual(next.map((s) => s.instanceId), everything.slice(2, 4).map((s) => s.instanceId));

  const purged = await request("DELETE", `${host.origin}/api/instances/counter-1/purge?code=${KEY}`);
  assert.equal(purged.status, 200, purged.text);
  assert.deepEqual(purged.json, { instancesDeleted: 1 });
  assert.equal((await request("GET", statusUrl(host, "counter-1"))).status, 404);
});

test("the stats endpoint reports replays, orchestrator CPU time and the largest history", async () => {
  const response = await request("GET", `${host.origin}/admin/host/stats?code=${KEY}`);
  assert.equal(response.status, 200);
  const stats = response.json as Record<string, unknown>;
  assert.deepEqual(Object.keys(stats).sort(), [
    "activitiesRun",
    "instances",
    "maxHistoryEvents",
    "maxHistoryInstanceId",
    "nonDeterminismErrors",
    "orchestratorCpuMs",
    "replays",
  ]);
  assert.ok((stats.replays as number) > 0);
  assert.ok((stats.maxHistoryEvents as number) > 10);
  assert.equal(typeof stats.maxHistoryInstanceId, "string");
  assert.ok((stats.activitiesRun as number) > 10);
  assert.ok((stats.instances as number) >= 10);
  assert.ok((stats.nonDeterminismErrors as number) >= 1);
  assert.equal(typeof stats.orchestratorCpuMs, "number");
});

test("a second host: timers longer than 6 days run in segments, and --enable-timers fires NCRONTAB schedules", async () => {
  second = await startHost(["--time-scale", "0.000001", "--enable-timers"], { FIXTURE_SCHEDULE: "*/1 * * * * *" });
  const response = await request("POST", `${second.origin}/api/orchestrators/longTimer?code=${KEY}`);
  assert.equal(response.status, 202, response.text);
  const payload = response.json as ManagementPayload;
  const status = await waitForStatus(second, payload.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
  const output = status.output as { startedAt: string; waitedDays: number };
  assert.ok(output.waitedDays >= 7, JSON.stringify(output));
  const history = (await request("GET", `${payload.statusQueryGetUri}&showHistory=true`)).json as OrchestrationStatus;
  const events = (history.historyEvents ?? []) as { EventType: string; FireAt?: string }[];
  const created = events.filter((e) => e.EventType === "TimerCreated");
  // The first segment ends after longRunningTimerIntervalDuration (3 days); later ones depend on when it fired.
  assert.equal(created[0]?.FireAt, new Date(Date.parse(output.startedAt) + 3 * 24 * 3600_000).toISOString());
  assert.equal(events.filter((e) => e.EventType === "TimerFired").length, created.length, "every segment fired");

  const deadline = Date.now() + DEADLINE_MS;
  let started = 0;
  while (started === 0 && Date.now() < deadline) {
    const listed = await request("GET", `${second.origin}/runtime/webhooks/durabletask/instances?code=${KEY}&instanceIdPrefix=nightly-`);
    started = (listed.json as unknown[]).length;
    if (started === 0) await sleep(100);
  }
  assert.ok(started > 0, `the every-second schedule never fired\n${second.output()}`);
  assert.equal(await second.stop(), 0);
});

test("SIGTERM stops the host cleanly", async () => {
  assert.equal(await host.stop(), 0, host.output());
});
