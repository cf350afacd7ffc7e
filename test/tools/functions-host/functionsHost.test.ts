// The local Functions host, as a real child process on 127.0.0.1 and a free port, driven over HTTP with a fixture
// app that uses the real @azure/functions and durable-functions: keys, the durable starter, the webhook start route
// and the management URLs, retries, sub-orchestrations, scaled timers, continue-as-new, and the checks the host
// makes (determinism, custom status size, timers beyond the 6-day maximum).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { repoRoot } from "../../support/repoRoot.js";

const HOST_MAIN = fileURLToPath(new URL("../../../tools/functions-host/main.js", import.meta.url));
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
  purgeHistoryDeleteUri: string;
}

interface HostProcess {
  origin: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** Starts the host and resolves once it prints its ready line (or fails with its output if it exits first). */
async function startHost(args: string[]): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_MAIN, "--app", FIXTURE_APP, "--port", "0", "--key", KEY, ...args], {
    env: { ...process.env, FIXTURE_TASKHUB: "FixtureHub" },
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
    if (child.exitCode !== null)
      throw new Error(`the host exited (${child.exitCode}) before it was ready\n${output()}`);
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
      assert.equal(
        response.status,
        status.runtimeStatus === "Running" || status.runtimeStatus === "Pending" ? 202 : 200,
      );
      return status;
    }
    await sleep(50);
  }
  throw new Error(
    `${statusUrl} did not reach ${statuses.join("/")} within ${DEADLINE_MS} ms; last: ${JSON.stringify(last)}\n${host.output()}`,
  );
}

let host: HostProcess;

before(async () => {
  host = await startHost(["--time-scale", "0.01"]);
});

after(async () => {
  await host?.stop();
});

function statusUrl(h: HostProcess, instanceId: string, query = ""): string {
  return `${h.origin}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?code=${KEY}${query}`;
}

async function start(name: string, input: unknown, instanceId = ""): Promise<ManagementPayload> {
  const response = await request("POST", `${host.origin}/api/orchestrators/${name}/${instanceId}`, input, {
    "x-functions-key": KEY,
  });
  assert.equal(response.status, 202, response.text);
  return response.json as ManagementPayload;
}

test("function-level routes, the Durable webhooks and the admin API need the key; anonymous routes do not", async () => {
  assert.equal(
    (await request("POST", `${host.origin}/api/orchestrators/pipeline`, { name: "x", failures: 0 })).status,
    401,
  );
  assert.equal(
    (await request("POST", `${host.origin}/api/orchestrators/pipeline?code=wrong`, { name: "x", failures: 0 })).status,
    401,
  );
  assert.equal(
    (await request("GET", `${host.origin}/api/status/anything`, undefined, { "x-functions-key": "wrong" })).status,
    401,
  );
  assert.equal((await request("GET", `${host.origin}/runtime/webhooks/durabletask/instances/anything`)).status, 401);
  assert.equal((await request("POST", `${host.origin}/admin/functions/nightlyStart`, { input: "" })).status, 401);
  assert.equal((await request("GET", `${host.origin}/admin/host/stats`)).status, 401);

  const ping = await request("GET", `${host.origin}/api/ping`);
  assert.equal(ping.status, 200);
  assert.deepEqual(ping.json, { pong: true });
  assert.equal((await request("GET", `${host.origin}/api/no-such-route?code=${KEY}`)).status, 404);
  assert.equal((await request("GET", statusUrl(host, "no-such-instance"))).status, 404);
});

let pipelineId = "";

test("the HTTP starter answers 202 with management URLs on this host, and the orchestration completes", async () => {
  const response = await request("POST", `${host.origin}/api/orchestrators/pipeline?code=${KEY}`, {
    name: "Tokyo",
    failures: 2,
  });
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
      first: [
        { attempts: 1 },
        0,
        { attempts: 2 },
        1,
        { attempts: 3 },
        4,
        { attempts: 4 },
        9,
        { attempts: 1 },
        16,
        { attempts: 2 },
        25,
      ],
      sums: [0, 1, 4],
    });
  }
});

test("continue-as-new runs the next execution with the new input, and a finished instance id can be reused", async () => {
  const counter = await start("counter", 0, "counter-1");
  assert.equal(counter.id, "counter-1");
  const counted = await waitForStatus(host, counter.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(counted.output, 3);
  assert.equal(counted.input, 3, "the last execution's input");
  const duplicate = await request("POST", `${host.origin}/api/orchestrators/echo/counter-1?code=${KEY}`, "again");
  assert.equal(duplicate.status, 202, "a finished instance id can be reused");
  const reused = await waitForStatus(host, statusUrl(host, "counter-1"), ["Completed", "Failed"]);
  assert.deepEqual([reused.name, reused.output], ["echo", "again"]);
});

test("the webhook start route takes any input with the system key, and refuses a running instance id", async () => {
  const route = `${host.origin}/runtime/webhooks/durabletask/orchestrators/echo/webhook-1`;
  const forged = { registry: "forged.example.com", state: { nextBatch: 99 } };
  assert.equal((await request("POST", route, forged)).status, 401, "no key");
  assert.equal((await request("POST", `${route}?code=wrong`, forged)).status, 401, "a wrong key");
  const started = await request("POST", `${route}?code=${KEY}`, forged);
  assert.equal(started.status, 202, started.text);
  const payload = started.json as ManagementPayload;
  assert.equal(payload.id, "webhook-1");
  assert.equal(started.headers.get("location"), payload.statusQueryGetUri);
  for (const uri of [
    payload.statusQueryGetUri,
    payload.sendEventPostUri,
    payload.terminatePostUri,
    payload.purgeHistoryDeleteUri,
  ]) {
    assert.ok(uri.startsWith(`${host.origin}/runtime/webhooks/durabletask/instances/webhook-1`), uri);
    assert.match(uri, new RegExp(`[?&]taskHub=FixtureHub&connection=Storage&code=${KEY}$`));
  }
  const done = await waitForStatus(host, payload.statusQueryGetUri, ["Completed", "Failed"]);
  assert.deepEqual([done.input, done.output], [forged, forged]);

  const slow = await request(
    "POST",
    `${host.origin}/runtime/webhooks/durabletask/orchestrators/sleeper/webhook-2?code=${KEY}`,
  );
  assert.equal(slow.status, 202, slow.text);
  await waitForStatus(host, (slow.json as ManagementPayload).statusQueryGetUri, ["Running"]);
  const again = await request(
    "POST",
    `${host.origin}/runtime/webhooks/durabletask/orchestrators/echo/webhook-2?code=${KEY}`,
    {},
  );
  assert.equal(again.status, 409, again.text);
  assert.equal(
    (
      await request(
        "POST",
        `${host.origin}/runtime/webhooks/durabletask/orchestrators/noSuchOrchestrator?code=${KEY}`,
        {},
      )
    ).status,
    400,
  );
  const terminate = await request("POST", (slow.json as ManagementPayload).terminatePostUri.replace("{text}", "x"));
  assert.equal(terminate.status, 501, "operations the host does not emulate say so");
});

test("an orchestrator that throws fails with its own error message", async () => {
  const started = await start("throws", undefined);
  const status = await waitForStatus(host, started.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Failed");
  assert.match(String(status.output), /^Orchestrator function 'throws' failed: thrown on purpose/);
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
  const fired = await request(
    "POST",
    `${host.origin}/admin/functions/nightlyStart`,
    { input: "" },
    { "x-functions-key": KEY },
  );
  assert.equal(fired.status, 202, fired.text);
  assert.equal(
    (await request("POST", `${host.origin}/admin/functions/noSuchFunction?code=${KEY}`, { input: "" })).status,
    404,
  );
  assert.equal(
    (await request("POST", `${host.origin}/admin/functions/pipeline?code=${KEY}`, { input: "" })).status,
    400,
  );

  const deadline = Date.now() + DEADLINE_MS;
  let nightly: { instanceId: string; name: string; runtimeStatus: string } | undefined;
  while (!nightly && Date.now() < deadline) {
    const listed = await request("GET", `${host.origin}/api/instances?code=${KEY}&status=Completed`);
    assert.equal(listed.status, 200, listed.text);
    nightly = (listed.json as { instanceId: string; name: string; runtimeStatus: string }[]).find((i) =>
      i.instanceId.startsWith("nightly-"),
    );
    if (!nightly) await sleep(50);
  }
  assert.ok(nightly, `no completed nightly- instance\n${host.output()}`);
  assert.equal(nightly.name, "echo");
  const status = (await request("GET", statusUrl(host, nightly.instanceId))).json as OrchestrationStatus;
  assert.deepEqual(status.output, { source: "timer", isPastDue: false });
});

test("the instance listing filters by status", async () => {
  const base = `${host.origin}/runtime/webhooks/durabletask/instances?code=${KEY}&runtimeStatus=Completed,Failed`;
  const all = await request("GET", base);
  const everything = all.json as OrchestrationStatus[];
  assert.ok(everything.length >= 5);
  assert.ok(everything.every((s) => s.runtimeStatus === "Completed" || s.runtimeStatus === "Failed"));
  const created = everything.map((s) => s.createdTime);
  assert.deepEqual(created, [...created].sort(), "oldest first");
  assert.equal(
    (await request("GET", `${base}&top=2`)).status,
    501,
    "filters the host does not have are refused, not ignored",
  );
});

test("the stats endpoint reports replays, orchestrator CPU time, the largest history, the longest activity and peak RSS", async () => {
  const response = await request("GET", `${host.origin}/admin/host/stats?code=${KEY}`);
  assert.equal(response.status, 200);
  const stats = response.json as Record<string, unknown>;
  assert.deepEqual(Object.keys(stats).sort(), [
    "activitiesRun",
    "instances",
    "maxActivityMs",
    "maxActivityName",
    "maxHistoryEvents",
    "maxHistoryInstanceId",
    "nonDeterminismErrors",
    "orchestratorCpuMs",
    "peakRssMiB",
    "replays",
  ]);
  assert.equal(typeof stats.maxActivityName, "string");
  assert.ok((stats.peakRssMiB as number) > 0);
  assert.ok((stats.replays as number) > 0);
  assert.ok((stats.maxHistoryEvents as number) > 10);
  assert.equal(typeof stats.maxHistoryInstanceId, "string");
  assert.ok((stats.activitiesRun as number) > 10);
  assert.ok((stats.instances as number) >= 10);
  assert.ok((stats.nonDeterminismErrors as number) >= 1);
  assert.equal(typeof stats.orchestratorCpuMs, "number");
});

test("a timer more than 6 days away fails the orchestration: the host does not emulate long timers", async () => {
  const started = await start("longTimer", undefined);
  const status = await waitForStatus(host, started.statusQueryGetUri, ["Completed", "Failed"]);
  assert.equal(status.runtimeStatus, "Failed");
  assert.match(
    String(status.output),
    /more than 6\.00:00:00 \(maximumShortTimerDuration\) away; functions-host does not emulate the long timers/,
  );
});

test("SIGTERM stops the host cleanly", async () => {
  assert.equal(await host.stop(), 0, host.output());
});
