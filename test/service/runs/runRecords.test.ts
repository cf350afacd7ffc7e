// The runs as records (src/runs/runRecords.ts: GET /api/runs and GET /api/runs/{id}) against real Azurite: run
// summaries written as the runs write them (JsonArrayBlobWriter, summary head first), run prefixes without a summary,
// and a task hub given as RunInstances (canned instances: the Durable client is an interface here). Newest first
// across kinds, paged without gaps or repeats; filters; tokens bound to their container, filters and run; a registry
// filter never answers another registry whose id slug is the same; the images failures first, paged.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import {
  listRuns,
  MAX_RUNS_SCANNED,
  parseRunImagesQuery,
  parseRunsQuery,
  readRunImages,
  readRunRecord,
  type RunInstance,
  type RunInstances,
  type RunRecordsDependencies,
} from "../../../src/runs/runRecords.js";
import { listingPageBlobName, summaryBlobName } from "../../../src/storage/blobNames.js";
import { JsonArrayBlobWriter } from "../../../src/storage/jsonArrayBlob.js";
import { writeJsonBlob } from "../../../src/storage/jsonBlob.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

async function newContainer(): Promise<ContainerClient> {
  const container = service.getContainerClient(`records-${++counter}`);
  await container.create();
  return container;
}

const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 2, minute, 0, 0));
const hex = (n: number) => (0xa00000 + n).toString(16);

/** A summary as the runs write it: the head (totals last of it), then `images`. */
async function writeSummary(
  container: ContainerClient,
  runId: string,
  head: Record<string, unknown>,
  images: Record<string, unknown>[] = [],
): Promise<void> {
  const writer = new JsonArrayBlobWriter(container, summaryBlobName(runId), "images", { pretty: true });
  for (const image of images) await writer.append(image);
  await writer.commit({ schemaVersion: 1, runId, ...head });
}

function image(n: number, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    repository: `team/app-${n}`,
    digest: `sha256:${String(n).padStart(64, "0")}`,
    tags: [String(n)],
    status,
    attempts: 1,
    durationSeconds: 1,
    ...extra,
  };
}

/** A task hub that knows these instances; `asked` logs the ids whose instance was read. */
function instancesOf(list: RunInstance[]): RunInstances & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    listActive: async () =>
      list
        .filter((i) => ["Pending", "Running", "ContinuedAsNew"].includes(i.runtimeStatus))
        // The listing shows no inputs.
        .map((i) => ({ ...i, input: undefined })),
    get: async (id) => {
      asked.push(id);
      return list.find((i) => i.instanceId === id);
    },
  };
}

function deps(container: ContainerClient, instances: RunInstances): RunRecordsDependencies {
  return { container, instances, statusUrl: (kind, id) => `https://app.example/api/${kind}/${id}` };
}

const query = (container: ContainerClient, params: Record<string, string> = {}) =>
  parseRunsQuery(new URLSearchParams(params), { container: container.containerName });

describe("GET /api/runs", () => {
  const A = "a.example.io";
  const B = "b.example.io";
  const TARGET = "target.example.io";
  let container: ContainerClient;
  let instances: RunInstances & { asked: string[] };
  const ids = {
    archiveA1: runInstanceId(A, at(1), hex(1)),
    restore2: runInstanceId(TARGET, at(2), hex(2), "restore"),
    archiveB3: runInstanceId(B, at(3), hex(3)),
    failedA4: runInstanceId(A, at(4), hex(4)),
    runningA5: runInstanceId(A, at(5), hex(5)),
    pendingB6: runInstanceId(B, at(6), hex(6)),
  };

  before(async () => {
    container = await newContainer();
    await writeSummary(container, ids.archiveA1, {
      registry: A,
      dryRun: false,
      startedAtUtc: at(1).toISOString(),
      endedAtUtc: at(2).toISOString(),
      totals: { total: 3, archived: 2, alreadyArchived: 0, failed: 1, bytesArchived: 2048, jobExecutions: 2 },
      cost: { archiveMonthlyUsd: 0.01, estimate: true },
    });
    await writeSummary(container, ids.restore2, {
      kind: "restore",
      registry: A,
      target: { registry: TARGET, repositoryPrefix: "restored/" },
      dryRun: false,
      startedAtUtc: at(2).toISOString(),
      endedAtUtc: at(3).toISOString(),
      totals: { total: 1, restored: 1, alreadyPresent: 0, failed: 0, bytes: 10, jobExecutions: 1 },
    });
    await writeSummary(container, ids.archiveB3, {
      registry: B,
      dryRun: true,
      startedAtUtc: at(3).toISOString(),
      endedAtUtc: at(3).toISOString(),
      totals: { total: 5, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0, jobExecutions: 0 },
    });
    // A run that failed before its summary: its listing only.
    await writeJsonBlob(container, listingPageBlobName(ids.failedA4, 0), { images: [] });
    await writeJsonBlob(container, listingPageBlobName(ids.runningA5, 0), { images: [] });
    // Not runs: the lock and the cursors live under runs/ too.
    await writeJsonBlob(container, "runs/locks/a.example.io", {});
    await writeJsonBlob(container, "runs/cursors/referrers_a.example.io.json", {});
    instances = instancesOf([
      {
        instanceId: ids.failedA4,
        runtimeStatus: "Failed",
        createdTime: at(4).toISOString(),
        lastUpdatedTime: at(4).toISOString(),
        input: { registry: A, dryRun: false },
        output: "Orchestrator function 'archiveRun' failed: listing page 0 kept failing\n  at stack",
      },
      {
        instanceId: ids.runningA5,
        runtimeStatus: "ContinuedAsNew",
        createdTime: at(5).toISOString(),
        lastUpdatedTime: at(5).toISOString(),
        input: { registry: A, dryRun: false },
        customStatus: {
          total: 10,
          archived: 4,
          alreadyArchived: 1,
          failed: 0,
          bytesArchived: 99,
          running: 2,
          phase: "archiving",
        },
      },
      // Started, nothing in storage yet.
      {
        instanceId: ids.pendingB6,
        runtimeStatus: "Pending",
        createdTime: at(6).toISOString(),
        lastUpdatedTime: at(6).toISOString(),
        input: { registry: B, dryRun: false },
      },
    ]);
  });

  test("every run of every kind, newest first, from storage and the task hub, with what each record holds", async () => {
    const page = await listRuns(query(container), deps(container, instances));
    assert.deepEqual(
      page.runs.map((r) => r.id),
      [ids.pendingB6, ids.runningA5, ids.failedA4, ids.archiveB3, ids.restore2, ids.archiveA1],
    );
    assert.equal(page.continuationToken, undefined);
    const byId = new Map(page.runs.map((r) => [r.id, r]));
    assert.deepEqual(byId.get(ids.archiveA1), {
      id: ids.archiveA1,
      kind: "archive",
      registry: A,
      runtimeStatus: "Completed",
      dryRun: false,
      counts: { total: 3, archived: 2, alreadyArchived: 0, failed: 1, bytesArchived: 2048, jobExecutions: 2 },
      createdTime: at(1).toISOString(),
      endedTime: at(2).toISOString(),
      summary: {
        container: container.containerName,
        blob: summaryBlobName(ids.archiveA1),
        url: container.getBlobClient(summaryBlobName(ids.archiveA1)).url,
      },
      statusUrl: `https://app.example/api/archive/${ids.archiveA1}`,
      cost: { archiveMonthlyUsd: 0.01, estimate: true },
    });
    const restore = byId.get(ids.restore2)!;
    assert.equal(restore.kind, "restore");
    assert.equal(restore.registry, A);
    assert.deepEqual(restore.target, { registry: TARGET, repositoryPrefix: "restored/" });
    assert.equal(restore.statusUrl, `https://app.example/api/restore/${ids.restore2}`);
    const running = byId.get(ids.runningA5)!;
    assert.equal(running.runtimeStatus, "Running", "ContinuedAsNew is Running");
    assert.equal(running.phase, "archiving");
    assert.equal(running.registry, A, "from the instance's input");
    assert.deepEqual(running.counts, {
      total: 10,
      archived: 4,
      alreadyArchived: 1,
      failed: 0,
      bytesArchived: 99,
      running: 2,
    });
    assert.equal(running.summary, undefined);
    assert.equal(running.endedTime, undefined);
    const failed = byId.get(ids.failedA4)!;
    assert.equal(failed.runtimeStatus, "Failed");
    assert.equal(failed.error, "Orchestrator function 'archiveRun' failed: listing page 0 kept failing");
    assert.equal(failed.endedTime, at(4).toISOString());
    assert.equal(byId.get(ids.pendingB6)!.runtimeStatus, "Pending");
    assert.equal(byId.get(ids.archiveB3)!.dryRun, true);
  });

  test("filters: kind, registry (a restore's source or target), status (case-insensitive)", async () => {
    const list = async (params: Record<string, string>) =>
      (await listRuns(query(container, params), deps(container, instances))).runs.map((r) => r.id);
    assert.deepEqual(await list({ kind: "restore" }), [ids.restore2]);
    assert.deepEqual(await list({ kind: "archive", registry: B }), [ids.pendingB6, ids.archiveB3]);
    assert.deepEqual(await list({ registry: A }), [ids.runningA5, ids.failedA4, ids.restore2, ids.archiveA1]);
    assert.deepEqual(await list({ registry: TARGET }), [ids.restore2]);
    assert.deepEqual(await list({ registry: "A.EXAMPLE.IO", status: "completed" }), [ids.restore2, ids.archiveA1]);
    assert.deepEqual(await list({ status: "Running" }), [ids.runningA5]);
    assert.deepEqual(await list({ status: "Failed" }), [ids.failedA4]);
  });

  test("paged: every run once, in order, whatever the page size; a token only works with the filters it was issued for", async () => {
    for (const limit of [1, 2, 4]) {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const params: Record<string, string> = { limit: String(limit), ...(token && { continuationToken: token }) };
        const page = await listRuns(query(container, params), deps(container, instances));
        assert.ok(page.runs.length <= limit);
        seen.push(...page.runs.map((r) => r.id));
        token = page.continuationToken;
      } while (token);
      assert.deepEqual(seen, [ids.pendingB6, ids.runningA5, ids.failedA4, ids.archiveB3, ids.restore2, ids.archiveA1]);
    }
    const first = await listRuns(query(container, { limit: "1", registry: A }), deps(container, instances));
    const token = first.continuationToken!;
    assert.ok(token);
    assert.throws(
      () => query(container, { continuationToken: token, registry: B }),
      (e: Error & { code?: string }) =>
        e.code === "INVALID_ARGUMENT" && /^continuationToken: was issued for other filters/.test(e.message),
    );
    assert.throws(
      () => query(container, { continuationToken: token }),
      /continuationToken: was issued for other filters/,
    );
    assert.throws(
      () =>
        parseRunsQuery(new URLSearchParams({ continuationToken: token, registry: A }), {
          container: "other-container",
        }),
      /continuationToken: was issued for another container/,
    );
    // Edited: the same position for another container, or a path instead of a run id.
    const edited = (change: Record<string, unknown>) => {
      const value = JSON.parse(Buffer.from(token, "base64url").toString()) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...value, ...change })).toString("base64url");
    };
    assert.throws(
      () => query(container, { registry: A, continuationToken: edited({ container: "secrets" }) }),
      /continuationToken: was issued for another container/,
    );
    assert.throws(
      () => query(container, { registry: A, continuationToken: edited({ after: "../../secrets" }) }),
      /continuationToken: is not a token this API issued/,
    );
    assert.throws(
      () => query(container, { registry: A, continuationToken: edited({ extra: 1 }) }),
      /continuationToken: is not a token this API issued/,
    );
    assert.throws(() => query(container, { continuationToken: "not a token!" }), /continuationToken: is not a token/);
    assert.throws(() => query(container, { continuationToken: "e30" }), /continuationToken: is not a token/);
  });

  test("bad filters: a 400 naming each field", () => {
    assert.throws(
      () => query(container, { kind: "purge-all", registry: "not a registry/", status: "Done", limit: "0" }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "INVALID_ARGUMENT");
        assert.deepEqual(
          e.message.split("\n").map((line) => line.split(":")[0]),
          ["kind", "registry", "status", "limit"],
        );
        return true;
      },
    );
    assert.throws(() => query(container, { limit: "101" }), /limit: must be an integer from 1 to 100/);
    assert.throws(() => query(container, { limit: "2.5" }), /limit: must be an integer/);
    // The function key's `code` is not ours to refuse.
    assert.equal(query(container, { code: "xyz" }).limit, 25);
  });
});

test("a registry filter never answers another registry whose run ids carry the same slug (a.b:5000 and a-b:5000)", async () => {
  const container = await newContainer();
  const dotted = "a.b:5000";
  const dashed = "a-b:5000";
  const ofDotted = runInstanceId(dotted, at(1), hex(11));
  const ofDashed = runInstanceId(dashed, at(2), hex(12));
  assert.equal(ofDotted.split("-2026")[0], ofDashed.split("-2026")[0], "the same slug");
  const totals = { total: 1, archived: 1, alreadyArchived: 0, failed: 0, bytesArchived: 1, jobExecutions: 1 };
  await writeSummary(container, ofDotted, { registry: dotted, totals });
  await writeSummary(container, ofDashed, { registry: dashed, totals });
  const page = await listRuns(query(container, { registry: dotted }), deps(container, instancesOf([])));
  assert.deepEqual(
    page.runs.map((r) => r.id),
    [ofDotted],
  );
});

test(`a filter that keeps few runs: at most ${MAX_RUNS_SCANNED} runs are read for one page, and the token goes on from there`, async () => {
  const container = await newContainer();
  const totals = { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0, jobExecutions: 0 };
  const second = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i));
  // The oldest run failed before its summary; the MAX_RUNS_SCANNED + 4 after it completed.
  const failed = runInstanceId("c.example.io", second(0), hex(1000));
  await writeJsonBlob(container, listingPageBlobName(failed, 0), { images: [] });
  for (let i = 1; i <= MAX_RUNS_SCANNED + 4; i += 15)
    await Promise.all(
      Array.from({ length: Math.min(15, MAX_RUNS_SCANNED + 5 - i) }, (_, j) =>
        writeSummary(container, runInstanceId("c.example.io", second(i + j), hex(1000 + i + j)), {
          registry: "c.example.io",
          totals,
        }),
      ),
    );
  const instances = instancesOf([
    {
      instanceId: failed,
      runtimeStatus: "Failed",
      createdTime: second(0).toISOString(),
      lastUpdatedTime: second(0).toISOString(),
      input: { registry: "c.example.io" },
    },
  ]);
  const first = await listRuns(query(container, { status: "Failed" }), deps(container, instances));
  assert.deepEqual(first.runs, [], `the ${MAX_RUNS_SCANNED} newest runs read match nothing`);
  assert.ok(first.continuationToken, "and the token goes on after them");
  const next = await listRuns(
    query(container, { status: "Failed", continuationToken: first.continuationToken! }),
    deps(container, instances),
  );
  assert.deepEqual(
    next.runs.map((r) => r.id),
    [failed],
  );
  assert.equal(next.continuationToken, undefined);
});

describe("GET /api/runs/{id}", () => {
  let container: ContainerClient;
  const runId = runInstanceId("d.example.io", at(7), hex(7));
  const running = runInstanceId("d.example.io", at(8), hex(8));
  const images = [
    image(1, "archived", { bytes: 100 }),
    image(2, "failed", { error: { code: "DIGEST_MISMATCH", message: "layer 1 <img src=x onerror=alert(1)>" } }),
    image(3, "already-archived", { bytes: 7 }),
    image(4, "failed", { error: { code: "JOB_FAILED", message: "exit 1" } }),
    image(5, "archived", { bytes: 5 }),
    image(6, "failed", { error: { code: "JOB_FAILED", message: "exit 2" } }),
  ];
  let instances: RunInstances;

  before(async () => {
    container = await newContainer();
    await writeSummary(
      container,
      runId,
      {
        registry: "d.example.io",
        totals: { total: 6, archived: 2, alreadyArchived: 1, failed: 3, bytesArchived: 105, jobExecutions: 5 },
      },
      images,
    );
    instances = instancesOf([
      {
        instanceId: running,
        runtimeStatus: "Running",
        createdTime: at(8).toISOString(),
        lastUpdatedTime: at(8).toISOString(),
        input: { registry: "d.example.io" },
        customStatus: { total: 3, archived: 1, phase: "archiving" },
      },
    ]);
  });

  const page = (id: string, params: Record<string, string> = {}) =>
    readRunImages(
      id,
      parseRunImagesQuery(id, new URLSearchParams(params), { container: container.containerName }),
      deps(container, instances),
    );

  test("failures first, then the rest, each in the summary's order; paged across the two without gaps or repeats", async () => {
    const expected = [2, 4, 6, 1, 3, 5].map((n) => `team/app-${n}`);
    const whole = await page(runId);
    assert.deepEqual(
      whole?.images.map((i) => i.repository),
      expected,
    );
    assert.equal(whole?.continuationToken, undefined);
    assert.equal(whole?.run.counts.failed, 3);
    assert.deepEqual(whole?.images[0], images[1], "as stored");
    for (const limit of [1, 2, 3, 4, 5]) {
      const seen: unknown[] = [];
      let token: string | undefined;
      do {
        const next = await page(runId, { limit: String(limit), ...(token && { continuationToken: token }) });
        assert.ok(next!.images.length <= limit);
        seen.push(...next!.images.map((i) => i.repository));
        token = next!.continuationToken;
      } while (token);
      assert.deepEqual(seen, expected, `limit ${limit}`);
    }
  });

  test("a run going: its record, no images yet; an unknown run, or an id that is no run's: undefined", async () => {
    const going = await page(running);
    assert.equal(going?.run.runtimeStatus, "Running");
    assert.deepEqual(going?.images, []);
    assert.equal(await page(runInstanceId("d.example.io", at(9), hex(9))), undefined);
    assert.equal(await readRunRecord("runs/../secrets", deps(container, instances)), undefined);
  });

  test("a token of another run or another container: 400 naming continuationToken", async () => {
    const first = await page(runId, { limit: "1" });
    const token = first!.continuationToken!;
    assert.throws(
      () =>
        parseRunImagesQuery(running, new URLSearchParams({ continuationToken: token }), {
          container: container.containerName,
        }),
      /continuationToken: was issued for another run/,
    );
    assert.throws(
      () => parseRunImagesQuery(runId, new URLSearchParams({ continuationToken: token }), { container: "elsewhere" }),
      /continuationToken: was issued for another container/,
    );
    assert.throws(
      () => parseRunImagesQuery(runId, new URLSearchParams({ limit: "1001" }), { container: container.containerName }),
      /limit: must be an integer from 1 to 1000/,
    );
  });
});
