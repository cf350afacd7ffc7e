// The orchestrated run over HTTP: the app's real registrations in the local Functions host, a real registry,
// real Azurite and real worker processes (JOB_RUNNER=local). Durable timers run 50× faster (--time-scale 0.02).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import {
  runNightlyArchive,
  startFunctionsHost,
  waitForRun,
  type LocalFunctionsHost,
} from "../../tools/localenv/functionsHost.js";
import { registryBlobPath, startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { SAMPLE_IMAGES } from "../../tools/localenv/samples.js";
import { podmanLoad, removeDir, restoreArchive } from "../support/verify.js";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { isRunInstanceId } from "../../src/runs/instanceIds.js";
import { startRequestLog } from "../support/loopback.js";
import { batchBlobName, listingPageBlobName } from "../../src/storage/blobNames.js";

let registry: TestRegistry; // the main flow
let filtersRegistry: TestRegistry; // dry runs only
let secured: TestRegistry; // basic auth: its password is in the host's settings and must appear nowhere else
let azurite: AzuriteInstance;
let host: LocalFunctionsHost;
let blobService: BlobServiceClient;

interface Summary {
  runId: string;
  registry: string;
  dryRun: boolean;
  requestedBy: string;
  registryRequests: { listing: number; workers: number };
  totals: {
    total: number;
    archived: number;
    alreadyArchived: number;
    failed: number;
    bytesArchived: number;
    jobExecutions: number;
  };
  images: {
    repository: string;
    digest: string;
    tags: string[];
    status: string;
    archiveBlob: string;
    sidecarBlob: string;
    bytes?: number;
    sha256?: string;
    attempts: number;
    registryRequests?: number;
    error?: { code: string; message: string };
  }[];
}

before(async () => {
  [registry, filtersRegistry, secured, azurite] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ auth: "basic" }),
    startAzurite(),
  ]);
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  host = await startFunctionsHost({
    timeScale: 0.02,
    env: {
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      JOB_RUNNER: "local",
      ARCHIVE_CONTAINER: "images",
      TASKHUB_NAME: "testhub",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      NIGHTLY_REGISTRIES: registry.host,
      MAX_ATTEMPTS: "2",
      DEFAULT_MAX_PARALLEL: "3",
      // Listing pages of two repositories: every run here lists page by page, each page its own activity.
      LISTING_PAGE_REPOSITORIES: "2",
      LISTING_CONCURRENCY: "2",
      // Workers inherit these: 1 MiB blocks one at a time keep the 64 MiB slow/app upload in flight long enough
      // for the test to kill it, however fast the machine.
      UPLOAD_BLOCK_SIZE_MIB: "1",
      UPLOAD_CONCURRENCY: "1",
      ACR_USERNAME: secured.username!,
      ACR_PASSWORD: secured.password!,
      ACR_LOGIN_SERVER: secured.host,
    },
  });
});
after(async () => {
  await host?.stop();
  await Promise.all([registry?.stop(), filtersRegistry?.stop(), secured?.stop(), azurite?.stop()]);
});

async function post(body: unknown): Promise<Response> {
  return host.request("/api/archive", {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

async function startRun(body: unknown): Promise<string> {
  const response = await post(body);
  const payload = (await response.json()) as { id: string; statusUrl: string };
  assert.equal(response.status, 202, JSON.stringify(payload));
  assert.ok(
    response.headers.get("location")?.startsWith(host.baseUrl),
    `Location points at the host: ${response.headers.get("location")}`,
  );
  return payload.id;
}

async function readSummary(status: Record<string, unknown>): Promise<Summary> {
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const blob = blobService.getContainerClient(String(status.container)).getBlockBlobClient(String(status.summaryBlob));
  return JSON.parse((await blob.downloadToBuffer()).toString()) as Summary;
}

async function countArchives(prefix: string): Promise<number> {
  let n = 0;
  for await (const item of blobService.getContainerClient("images").listBlobsFlat({ prefix }))
    if (item.name.endsWith(".tar.gz")) n++;
  return n;
}

describe("a run over HTTP", () => {
  let corruptDigest = "";
  let killableDigest = "";

  before(async () => {
    for (const sample of SAMPLE_IMAGES) await pushImage(registry.host, sample.repositoryAndTag, sample.image);
    const corrupt = await pushImage(registry.host, "broken/app:1", { layers: [{ textBytes: 100_000 }] });
    corruptDigest = corrupt.digest;
    const manifest = JSON.parse(
      await (
        await fetch(`http://${registry.host}/v2/broken/app/manifests/1`, {
          headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        })
      ).text(),
    );
    const path = registryBlobPath(registry, manifest.layers[0].digest);
    const bytes = await readFile(path);
    bytes[100] ^= 0xff;
    await writeFile(path, bytes);
    killableDigest = (
      await pushImage(registry.host, "slow/app:1", {
        layers: [{ randomBytes: 64 * 1024 * 1024, compression: "gzip-stored" }],
      })
    ).digest;
  });

  test("POST → 202 → progress → Completed; the summary matches the registry; a corrupt image fails alone; a killed worker is retried", async () => {
    const instanceId = await startRun({ registry: registry.host });
    // Kill the first worker that archives slow/app, once, mid-stream.
    let killed = false;
    const killer = setInterval(() => {
      if (killed) return;
      for (const pid of workerPidsFor("slow/app")) {
        process.kill(pid, "SIGKILL");
        killed = true;
      }
    }, 50);
    const seen: Record<string, unknown>[] = [];
    const status = await waitForRun(host, instanceId, { onProgress: (s) => seen.push(s) });
    clearInterval(killer);
    assert.ok(killed, "a slow/app worker was killed mid-run");
    type Progress = { phase: string; running: number; archived: number; alreadyArchived: number; failed: number };
    const progress = seen.map((s) => s.progress as Progress);
    assert.ok(
      progress.some((p) => p.phase === "archiving"),
      "progress was reported while archiving",
    );
    // Image by image, not wave by wave: waves are 3 images here, and a wave with only its slow image left shows 1.
    assert.ok(
      progress.some((p) => p.phase === "archiving" && p.running === 1),
      `a partly finished wave was visible: ${JSON.stringify(progress.map((p) => p.running))}`,
    );
    const done = progress.map((p) => p.archived + p.alreadyArchived + p.failed);
    assert.ok(
      done.every((d, i) => i === 0 || d >= done[i - 1]!),
      `done never goes backwards: ${JSON.stringify(done)}`,
    );

    const summary = await readSummary(status);
    const expected = new Map<string, string>(); // repository → status
    for (const s of SAMPLE_IMAGES) expected.set(s.repositoryAndTag.split(":")[0]!, "archived");
    expected.set("broken/app", "failed");
    expected.set("slow/app", "archived");
    assert.deepEqual(new Map(summary.images.map((i) => [i.repository, i.status])), expected);
    assert.equal(summary.totals.total, expected.size, "samples/hello:1.0 and :latest are one digest, one image");
    assert.deepEqual(summary.images.find((i) => i.repository === "samples/hello")!.tags, ["1.0", "latest"]);
    const broken = summary.images.find((i) => i.repository === "broken/app")!;
    assert.equal(broken.digest, corruptDigest);
    assert.equal(broken.error?.code, "DIGEST_MISMATCH");
    assert.equal(broken.attempts, 2, "a failing image is retried up to MAX_ATTEMPTS");
    const slow = summary.images.find((i) => i.repository === "slow/app")!;
    assert.equal(slow.digest, killableDigest);
    assert.equal(slow.attempts, 2, "the killed execution was retried");
    assert.equal(summary.totals.failed, 1);
    assert.equal(summary.totals.archived, expected.size - 1);
    // Listed in pages of two repositories, every image once; the listing's registry requests are reported.
    const pages: string[] = [];
    for await (const blob of blobService
      .getContainerClient("images")
      .listBlobsFlat({ prefix: `runs/${instanceId}/listing/` }))
      pages.push(blob.name);
    assert.equal(pages.length, Math.ceil(expected.size / 2), JSON.stringify(pages));
    assert.equal(new Set(summary.images.map((i) => `${i.repository}@${i.digest}`)).size, summary.images.length);
    assert.ok(summary.registryRequests.listing >= pages.length, JSON.stringify(summary.registryRequests));
    // The workers' requests: each image's, as its results reported them, summed over its attempts.
    const perImage = summary.images.map((i) => i.registryRequests ?? 0);
    assert.ok(
      summary.images.every((i) => i.registryRequests! >= 2),
      `every worker read a manifest and a blob at least: ${JSON.stringify(perImage)}`,
    );
    assert.equal(
      summary.registryRequests.workers,
      perImage.reduce((a, b) => a + b, 0),
    );

    for (const image of summary.images.filter((i) => i.status === "archived" && i.repository !== "slow/app")) {
      const restored = await restoreArchive(azurite.connectionString, "images", image.archiveBlob);
      try {
        assert.match(await podmanLoad(restored.path), /Loaded image/, image.repository);
      } finally {
        await removeDir(restored.dir);
      }
    }
    const final = status.progress as Record<string, number>;
    assert.equal(final.archived, summary.totals.archived);
    assert.equal(final.failed, 1);
  });

  test("a re-run is all already-archived (but the corrupt image), starts no job, and marks a tag added since", async () => {
    const before = await countArchives(`${registry.host}/`);
    // A new tag on a digest that is already archived: no new archive, but its tag marker must appear.
    const retagged = await pushImage(registry.host, "samples/hello:stable", smallImage("hello"));
    const marker = `${registry.host}/samples/hello:stable@${retagged.digest.replace(":", "-")}`;
    assert.equal(await blobService.getContainerClient("images").getBlockBlobClient(marker).exists(), false);
    const summary = await readSummary(
      await waitForRun(host, await startRun({ registry: registry.host, excludeRepositories: ["broken/**"] })),
    );
    assert.ok(summary.images.length > 0);
    assert.ok(
      summary.images.every((i) => i.status === "already-archived"),
      JSON.stringify(summary.images.map((i) => i.status)),
    );
    assert.deepEqual(summary.images.find((i) => i.repository === "samples/hello")!.tags, ["1.0", "latest", "stable"]);
    assert.equal(summary.totals.jobExecutions, 0);
    assert.equal(await countArchives(`${registry.host}/`), before);
    assert.equal(
      await blobService.getContainerClient("images").getBlockBlobClient(marker).exists(),
      true,
      "the new tag is findable by prefix",
    );
  });

  test("the nightly timer starts a run of each configured registry", async () => {
    const summary = (await runNightlyArchive(host, blobService.getContainerClient("images"))) as unknown as Summary;
    assert.equal(summary.registry, registry.host);
  });
});

describe("secrets", () => {
  test("the registry password reaches no orchestration input, output or history, no summary, blob or log", async () => {
    await pushImage(secured.host, "private/app:1", smallImage("private"), {
      username: secured.username!,
      password: secured.password!,
    });
    const instanceId = await startRun({ registry: secured.host });
    const summary = await readSummary(await waitForRun(host, instanceId));
    assert.equal(summary.totals.archived, 1, JSON.stringify(summary.images));
    const password = secured.password!;
    const list = (await (await host.request("/runtime/webhooks/durabletask/instances?showInput=true")).json()) as {
      instanceId: string;
    }[];
    const ours = list.filter((i) => i.instanceId.startsWith(instanceId));
    assert.ok(ours.length >= 3, "the run, its batch and its image");
    for (const { instanceId: id } of ours) {
      const detail = await (
        await host.request(
          `/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}?showHistory=true&showHistoryOutput=true&showInput=true`,
        )
      ).text();
      assert.ok(detail.length > 100 && !detail.includes(password), `instance ${id}`);
    }
    for await (const item of blobService
      .getContainerClient("images")
      .listBlobsFlat({ prefix: `runs/${instanceId}/`, includeMetadata: true })) {
      const text = (
        await blobService.getContainerClient("images").getBlockBlobClient(item.name).downloadToBuffer()
      ).toString("latin1");
      assert.ok(!text.includes(password) && !JSON.stringify(item.metadata ?? {}).includes(password), item.name);
    }
    assert.ok(!host.output().includes(password), "host and worker logs");
  });
});

describe("a job execution that runs past JOB_TIMEOUT_MINUTES", () => {
  test("is stopped, and the image fails with that reason", async () => {
    const slowRegistry = await startRegistry();
    await pushImage(slowRegistry.host, "stuck/app:1", smallImage("stuck"));
    // A front door over the real registry that never answers blob reads: listing works, the worker waits forever.
    const front = await startRequestLog(slowRegistry.host, { hold: /\/blobs\// });
    const frontHost = front.host;
    const timeoutHost = await startFunctionsHost({
      timeScale: 0.02,
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        JOB_RUNNER: "local",
        TASKHUB_NAME: "timeouts",
        NIGHTLY_SCHEDULE: "0 0 2 * * *",
        ALLOWED_REGISTRIES: "127.0.0.1:*",
        JOB_TIMEOUT_MINUTES: "1",
        MAX_ATTEMPTS: "1",
      },
    });
    try {
      const response = await timeoutHost.request("/api/archive", {
        method: "POST",
        body: JSON.stringify({ registry: frontHost }),
      });
      const { id } = (await response.json()) as { id: string };
      assert.equal(response.status, 202);
      const status = await waitForRun(timeoutHost, id, { timeoutInMs: 120_000 });
      const summary = await readSummary(status);
      assert.equal(summary.images.length, 1);
      const [image] = summary.images;
      assert.equal(image!.status, "failed");
      assert.equal(image!.attempts, 1);
      assert.match(image!.error?.message ?? "", /ran longer than 1 min and was stopped/);
      assert.deepEqual(workerPidsFor(frontHost), [], "the stopped worker process is gone");
    } finally {
      await timeoutHost.stop();
      await front.close();
      await slowRegistry.stop();
    }
  });
});

describe("registry requests", () => {
  test("the summary's registryRequests (listing + workers) are exactly what the registry was asked; a re-run's workers ask nothing", async () => {
    const counted = await startRegistry();
    await pushImage(counted.host, "count/a:1", smallImage("a"));
    await pushImage(counted.host, "count/b:1", smallImage("b"));
    await pushImage(counted.host, "count/b:2", smallImage("b2"));
    // A front door that records every HTTP request it passes to the real registry.
    const front = await startRequestLog(counted.host);
    const frontHost = front.host;
    const countingHost = await startFunctionsHost({
      timeScale: 0.02,
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        JOB_RUNNER: "local",
        TASKHUB_NAME: "counting",
        NIGHTLY_SCHEDULE: "0 0 2 * * *",
        ALLOWED_REGISTRIES: "127.0.0.1:*",
      },
    });
    const run = async () => {
      const response = await countingHost.request("/api/archive", {
        method: "POST",
        body: JSON.stringify({ registry: frontHost }),
      });
      const { id } = (await response.json()) as { id: string };
      assert.equal(response.status, 202);
      return readSummary(await waitForRun(countingHost, id, { timeoutInMs: 120_000 }));
    };
    try {
      const first = await run();
      assert.equal(first.totals.archived, 3, JSON.stringify(first.images));
      const { listing, workers } = first.registryRequests;
      assert.ok(listing > 0 && workers > 0, JSON.stringify(first.registryRequests));
      assert.equal(listing + workers, front.requests.length, "every request the registry got is counted, once");
      assert.equal(
        workers,
        first.images.map((i) => i.registryRequests ?? 0).reduce((a, b) => a + b, 0),
      );
      const before = front.requests.length;
      const rerun = await run();
      assert.equal(rerun.totals.alreadyArchived, 3);
      assert.deepEqual(rerun.registryRequests, { listing: front.requests.length - before, workers: 0 });
    } finally {
      await countingHost.stop();
      await front.close();
      await counted.stop();
    }
  });
});

describe("requests", () => {
  test("bad requests get 400 naming each problem, and start nothing", async () => {
    const cases: [unknown, RegExp][] = [
      ["not json", /must be a JSON object/],
      [{}, /registry: is required/],
      [{ registry: "127.0.0.1:1", maxParallel: 0 }, /maxParallel: must be ≥ 1/],
      [{ registry: "127.0.0.1:1", maxParallel: 101 }, /maxParallel: must be ≤ 100/],
      [{ registry: "127.0.0.1:1", olderThanDays: -1 }, /olderThanDays: must be ≥ 0/],
      [{ registry: "127.0.0.1:1", tags: ["[unclosed"] }, /tags\.0: "\[unclosed" is not a valid glob/],
      [{ registry: "127.0.0.1:1", repositories: "team/*" }, /repositories: /],
      [{ registry: "127.0.0.1:1", dryRun: "yes" }, /dryRun: /],
      [{ registry: "127.0.0.1:1", color: "blue" }, /color: unknown field/],
      [{ registry: "not a registry!" }, /registry: /],
      // The app's registry credentials go only to allowed registries.
      [
        { registry: "evil.example.com" },
        /registry: evil\.example\.com is not in ALLOWED_REGISTRIES \(127\.0\.0\.1:\*, /,
      ],
    ];
    const before = await countRuns();
    for (const [body, problem] of cases) {
      const response = await post(body);
      const payload = (await response.json()) as { problems: string[] };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.ok(
        payload.problems.some((p) => problem.test(p)),
        `${JSON.stringify(body)} → ${JSON.stringify(payload)}`,
      );
      assert.ok(!JSON.stringify(payload).includes("    at "), "no stack trace");
    }
    assert.equal(await countRuns(), before, "nothing started");
  });

  test("DURABLE_STATUS_URLS=false: the 202 carries this app's status URL only, no Durable URL with the system key (issue 8.1d)", async () => {
    const quiet = await startFunctionsHost({
      timeScale: 0.02,
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        JOB_RUNNER: "local",
        TASKHUB_NAME: "quiet",
        NIGHTLY_SCHEDULE: "0 0 2 * * *",
        ALLOWED_REGISTRIES: "127.0.0.1:*",
        DURABLE_STATUS_URLS: "false",
      },
    });
    try {
      const response = await quiet.request("/api/archive", {
        method: "POST",
        body: JSON.stringify({ registry: filtersRegistry.host, dryRun: true }),
      });
      const text = await response.text();
      assert.equal(response.status, 202, text);
      const body = JSON.parse(text) as { id: string; statusUrl: string };
      assert.deepEqual(Object.keys(body).sort(), ["dryRun", "id", "registry", "statusUrl"]);
      assert.ok(!text.includes("code=") && !text.includes("/runtime/webhooks/"), text);
      assert.equal(response.headers.get("location"), body.statusUrl);
      assert.match(body.statusUrl, new RegExp(`/api/archive/${body.id}$`));
      assert.equal((await waitForRun(quiet, body.id)).runtimeStatus, "Completed");
    } finally {
      await quiet.stop();
    }
  });

  test("without the function key: 401", async () => {
    const response = await fetch(`${host.baseUrl}/api/archive`, { method: "POST", body: "{}" });
    assert.equal(response.status, 401);
  });

  test("concurrent POSTs for one registry: one run starts, the others get 409 with the running instance", async () => {
    const busy = await startRegistry();
    try {
      await pushImage(busy.host, "big/app:1", {
        layers: [{ randomBytes: 32 * 1024 * 1024, compression: "gzip-stored" }],
      });
      // Three POSTs at the same moment: exactly one starts a run, the others are told which one is running.
      const responses = await Promise.all([1, 2, 3].map(() => post({ registry: busy.host })));
      const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
        id?: string;
        instanceId?: string;
        statusUrl?: string;
      }[];
      const accepted = responses.map((r, i) => [r.status, bodies[i]!] as const).filter(([status]) => status === 202);
      const conflicts = responses.map((r, i) => [r.status, bodies[i]!] as const).filter(([status]) => status === 409);
      assert.equal(accepted.length, 1, JSON.stringify(responses.map((r) => r.status)));
      assert.equal(conflicts.length, 2);
      const runId = accepted[0]![1].id!;
      for (const [, body] of conflicts) {
        assert.equal(body.instanceId, runId);
        assert.match(body.statusUrl!, new RegExp(`/api/archive/${runId}$`));
      }
      await waitForRun(host, runId);
    } finally {
      await busy.stop();
    }
  });

  test("GET of an unknown run is 404", async () => {
    const response = await host.request("/api/archive/archive-nope-20200101T000000000Z-abcdef");
    assert.equal(response.status, 404);
  });
});

describe("forged orchestration inputs: the 202's Durable URLs carry a key that starts any orchestration (guards issue 8.1)", () => {
  // A registry the app must never reach: it records every request and asks for Basic credentials, so a password
  // offered to it would show. `localhost:<port>` is outside ALLOWED_REGISTRIES (127.0.0.1:*) and is not
  // ACR_LOGIN_SERVER, though it is this machine.
  let foreign: import("node:http").Server;
  let foreignHost = "";
  const seen: { url: string; authorization?: string; body: string }[] = [];
  let systemKey = "";
  let finishedRun = "";

  before(async () => {
    foreign = createServer((req, res) => {
      let body = "";
      req.on("data", (b: Buffer) => (body += b.toString()));
      req.on("end", () => {
        seen.push({
          url: req.url ?? "",
          ...(req.headers.authorization && { authorization: req.headers.authorization }),
          body,
        });
        res.writeHead(401, { "www-authenticate": 'Basic realm="foreign"' }).end();
      });
    });
    await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", () => resolve()));
    foreignHost = `localhost:${(foreign.address() as { port: number }).port}`;
    // The attacker's key: the `code` of the statusQueryGetUri any 202 hands out.
    const response = await post({ registry: filtersRegistry.host, dryRun: true });
    const payload = (await response.json()) as { id: string; statusQueryGetUri: string };
    assert.equal(response.status, 202);
    systemKey = new URL(payload.statusQueryGetUri).searchParams.get("code") ?? "";
    assert.ok(systemKey, "the 202 carries the extension's key");
    await waitForRun(host, payload.id);
    finishedRun = payload.id;
  });
  after(async () => {
    foreign.closeAllConnections();
    await new Promise<void>((resolve) => foreign.close(() => resolve()));
  });

  /** POST /runtime/webhooks/durabletask/orchestrators/{name} with the key, as an attacker would; waits for the end. */
  async function forge(
    name: string,
    input: unknown,
    instanceId?: string,
  ): Promise<{ runtimeStatus: string; output: unknown }> {
    const base = `${host.baseUrl}/runtime/webhooks/durabletask`;
    const started = await fetch(
      `${base}/orchestrators/${name}${instanceId ? `/${encodeURIComponent(instanceId)}` : ""}?code=${systemKey}`,
      { method: "POST", body: JSON.stringify(input), headers: { "content-type": "application/json" } },
    );
    assert.ok(
      started.status === 202 || started.status === 200,
      `webhook start: HTTP ${started.status} ${await started.clone().text()}`,
    );
    const { id } = (await started.json()) as { id: string };
    for (let i = 0; i < 600; i++) {
      const status = (await (await fetch(`${base}/instances/${id}?code=${systemKey}`)).json()) as {
        runtimeStatus: string;
        output: unknown;
      };
      if (["Completed", "Failed", "Terminated"].includes(status.runtimeStatus)) return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${name} ${id} did not finish`);
  }

  const FORGED_RUN = "archive-forged-20261201T000000000Z-abcdef";
  const run = (registry: string, container: string) => ({
    runId: FORGED_RUN,
    registry,
    container,
    filters: { includeUntagged: false },
    dryRun: false,
    maxParallel: 1,
    maxAttempts: 1,
    jobTimeoutMinutes: 5,
    pollMaxIntervalSeconds: 5,
    batchSize: 50,
    requestedBy: "http",
    requestedAtUtc: "2026-12-01T00:00:00.000Z",
  });
  const item = { repository: "loot/app", digest: `sha256:${"a".repeat(64)}`, tags: ["1"] };
  // What archiveImage takes of its run (its schema refuses anything more).
  const imageRun = (registry: string, container: string) => {
    const { runId, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds } = run(registry, container);
    return { runId, registry, container, maxAttempts, jobTimeoutMinutes, pollMaxIntervalSeconds };
  };

  async function assertNothingWritten(): Promise<void> {
    const containers: string[] = [];
    for await (const c of blobService.listContainers()) containers.push(c.name);
    assert.ok(!containers.includes("loot"), `no container of the attacker's: ${containers.join(", ")}`);
    for await (const blob of blobService.getContainerClient("images").listBlobsFlat()) {
      assert.ok(
        !blob.name.includes(foreignHost) && !blob.name.includes("loot/app"),
        `nothing written for the forged image: ${blob.name}`,
      );
    }
  }

  test("archiveImage with a foreign registry and a foreign container: no host reached, no credential sent, nothing written", async () => {
    const status = await forge("archiveImage", { run: imageRun(foreignHost, "loot"), item }, `${FORGED_RUN}:batch:0:0`);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
    assert.equal((status.output as { status: string }).status, "failed", JSON.stringify(status.output));
    assert.deepEqual(seen, [], "the foreign registry was never contacted");
    await assertNothingWritten();
  });

  test("archiveImage with a foreign registry into the real container: refused before any job starts", async () => {
    const status = await forge(
      "archiveImage",
      { run: imageRun(foreignHost, "images"), item },
      `${FORGED_RUN}:batch:0:1`,
    );
    const output = status.output as { status: string; attempts: number; error?: { message: string } };
    assert.equal(output.status, "failed", JSON.stringify(status));
    assert.match(output.error?.message ?? "", /not in ALLOWED_REGISTRIES/);
    assert.deepEqual(seen, [], "the foreign registry was never contacted");
    assert.deepEqual(workerPidsFor("loot/app"), []);
    await assertNothingWritten();
  });

  test("archiveRun with a foreign registry: the listing refuses it", async () => {
    const status = await forge("archiveRun", run(foreignHost, "images"), FORGED_RUN);
    assert.equal(status.runtimeStatus, "Failed", JSON.stringify(status));
    assert.match(JSON.stringify(status.output), /not in ALLOWED_REGISTRIES/);
    assert.deepEqual(seen, []);
    await assertNothingWritten();
  });

  test("a batch that keeps failing fails its images with the reason; the run goes on and writes its summary (guards issue 8.9)", async () => {
    // Set up through the key (a run resumed at its batches, as after continue-as-new): batch 0's blob is missing, so
    // its readBatch keeps failing; batch 1 is real.
    const a = await pushImage(registry.host, "batchfail/a:1", smallImage("batchfail-a"));
    const b = await pushImage(registry.host, "batchfail/b:1", smallImage("batchfail-b"));
    const runId = "archive-batchfail-20261201T000000000Z-abcdef";
    const images = [
      { repository: "batchfail/a", digest: a.digest, tags: ["1"], archived: false },
      { repository: "batchfail/b", digest: b.digest, tags: ["1"], archived: false },
    ];
    const container = blobService.getContainerClient("images");
    const page = { images, firstBatch: 0, batchCount: 2, registryRequests: 0 };
    await container.getBlockBlobClient(listingPageBlobName(runId, 0)).uploadData(Buffer.from(JSON.stringify(page)));
    await container
      .getBlockBlobClient(batchBlobName(runId, 1))
      .uploadData(Buffer.from(JSON.stringify([{ repository: "batchfail/b", digest: b.digest, tags: ["1"] }])));
    const state = {
      startedAtUtc: "2026-12-01T00:00:00.000Z",
      listing: { pages: 1, done: true, nowUtc: "2026-12-01T00:00:00.000Z" },
      batchCount: 2,
      nextBatch: 0,
      totals: { total: 2, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0 },
      jobExecutions: 0,
      failedBatches: [],
    };
    const status = await forge("archiveRun", { ...run(registry.host, "images"), runId, batchSize: 1, state }, runId);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
    const output = status.output as { summaryBlob: string; totals: { archived: number; failed: number } };
    assert.equal(output.totals.archived, 1);
    assert.equal(output.totals.failed, 1);
    const summary = JSON.parse(
      (await container.getBlockBlobClient(output.summaryBlob).downloadToBuffer()).toString(),
    ) as Summary;
    const failed = summary.images.find((i) => i.repository === "batchfail/a")!;
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "ORCHESTRATION_FAILED");
    assert.match(failed.error?.message ?? "", /^batch 0 failed: .*missing/);
    assert.equal(summary.images.find((i) => i.repository === "batchfail/b")!.status, "archived");
  });

  test("a forged start under a finished run's id cannot rewrite that run's records", async () => {
    const container = blobService.getContainerClient("images");
    const before = await Promise.all(
      [listingPageBlobName(finishedRun, 0), `runs/${finishedRun}/summary.json`].map(
        async (n) => (await container.getBlockBlobClient(n).getProperties()).etag,
      ),
    );
    const status = await forge(
      "archiveRun",
      { ...run(filtersRegistry.host, "images"), runId: finishedRun },
      finishedRun,
    );
    assert.equal(status.runtimeStatus, "Failed", JSON.stringify(status));
    assert.match(JSON.stringify(status.output), /has ended: its records are final/);
    const after = await Promise.all(
      [listingPageBlobName(finishedRun, 0), `runs/${finishedRun}/summary.json`].map(
        async (n) => (await container.getBlockBlobClient(n).getProperties()).etag,
      ),
    );
    assert.deepEqual(after, before, "listing and summary untouched");
  });

  test("an image run under another instance id, or asking more than the settings allow, is refused before anything happens", async () => {
    // Under a random id (not <run>:batch:<n>:<i>): it could otherwise write into a real run's records.
    const stray = await forge("archiveImage", { run: imageRun(registry.host, "images"), item });
    assert.equal(stray.runtimeStatus, "Failed", JSON.stringify(stray));
    assert.match(JSON.stringify(stray.output), /is not an image instance of run archive-forged/);
    // maxAttempts past MAX_ATTEMPTS (2 here): held to the settings by its first activity.
    const greedy = await forge(
      "archiveImage",
      { run: { ...imageRun(registry.host, "images"), maxAttempts: 10 }, item },
      `${FORGED_RUN}:batch:0:2`,
    );
    const output = greedy.output as { status: string; attempts: number; error?: { message: string } };
    assert.equal(output.status, "failed", JSON.stringify(greedy));
    assert.equal(output.attempts, 0, "no job was started");
    assert.match(output.error?.message ?? "", /maxAttempts 10 > MAX_ATTEMPTS 2/);
    assert.deepEqual(workerPidsFor("loot/app"), []);
  });

  test("inputs that do not conform end the orchestration with what was wrong (maxParallel past its bound, unknown fields)", async () => {
    const status = await forge("runBatch", {
      kind: "archive",
      run: { ...imageRun(registry.host, "images"), maxParallel: 1000, extra: true },
      batchIndex: 0,
    });
    assert.equal(status.runtimeStatus, "Failed", JSON.stringify(status));
    const output = JSON.stringify(status.output);
    assert.match(output, /runBatch: invalid input/);
    assert.match(output, /run\.maxParallel/);
    assert.match(output, /extra: unknown field/);
    assert.ok(!output.includes("    at "), "no stack trace as the message");
  });
});

describe("dry runs and filters select exactly what they say", () => {
  before(async () => {
    const r = filtersRegistry.host;
    await pushImage(r, "team/api:1.0", smallImage("api1"));
    await pushImage(r, "team/api:1.1-rc1", smallImage("api2"));
    await pushImage(r, "team/web:2.0", smallImage("web"));
    await pushImage(r, "team/web/internal:1", smallImage("internal"));
    await pushImage(r, "tools/ci:latest", { ...smallImage("ci"), created: new Date().toISOString() });
    await pushImage(r, "tools/lint:v1", smallImage("lint"));
  });

  const dryRun = async (filters: Record<string, unknown>) => {
    const summary = await readSummary(
      await waitForRun(host, await startRun({ registry: filtersRegistry.host, dryRun: true, ...filters })),
    );
    assert.equal(summary.dryRun, true);
    assert.equal(summary.totals.jobExecutions, 0);
    return summary.images.map((i) => `${i.repository}:${i.tags.join(",")}`).sort();
  };

  test("dryRun lists every image as would-archive and starts nothing", async () => {
    const summary = await readSummary(
      await waitForRun(host, await startRun({ registry: filtersRegistry.host, dryRun: true })),
    );
    assert.equal(summary.images.length, 6);
    assert.ok(summary.images.every((i) => i.status === "would-archive"));
    assert.equal(await countArchives(`${filtersRegistry.host}/`), 0);
  });

  test("repositories, excludeRepositories, tags, excludeTags, olderThanDays", async () => {
    assert.deepEqual(await dryRun({ repositories: ["team/*"] }), ["team/api:1.0", "team/api:1.1-rc1", "team/web:2.0"]);
    assert.deepEqual(await dryRun({ repositories: ["team/**"], excludeRepositories: ["team/web/*"] }), [
      "team/api:1.0",
      "team/api:1.1-rc1",
      "team/web:2.0",
    ]);
    // picomatch semantics: `dir/**` matches `dir` itself too.
    assert.deepEqual(await dryRun({ repositories: ["team/**"], excludeRepositories: ["team/web/**"] }), [
      "team/api:1.0",
      "team/api:1.1-rc1",
    ]);
    assert.deepEqual(await dryRun({ tags: ["1.*"], excludeTags: ["*-rc*"] }), ["team/api:1.0"]);
    assert.deepEqual(await dryRun({ repositories: ["tools/*"], olderThanDays: 30 }), ["tools/lint:v1"]);
  });
});

async function countRuns(): Promise<number> {
  const response = await host.request(
    "/runtime/webhooks/durabletask/instances?runtimeStatus=Pending,Running,Completed,Failed",
  );
  if (!response.ok) throw new Error(`cannot list instances: HTTP ${response.status} ${await response.text()}`);
  const list = (await response.json()) as { instanceId: string }[];
  return list.filter((i) => isRunInstanceId(i.instanceId)).length;
}

/** PIDs of worker processes whose environment (ARCHIVE_REQUEST) mentions `text`. */
function workerPidsFor(text: string): number[] {
  let pids: string[];
  try {
    pids = execFileSync("pgrep", ["-f", "src/worker/main.bundle.mjs"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return pids.map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").includes(text);
    } catch {
      return false; // ended meanwhile
    }
  });
}
