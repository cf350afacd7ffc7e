// See what you have (issue 25), end to end: the app's real registrations in the local Functions host, a real
// registry, real Azurite and real worker processes. An archive run tags every archive it writes and backfills one
// written before index tags; GET /api/catalog and the CLI's `find` give the same answers from index tags and sidecars
// while every archive sits in Archive tier; the run summaries carry the cost report, a dry-run restore its retrieval.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startFunctionsHost, waitForRun, type LocalFunctionsHost } from "../../tools/localenv/functionsHost.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import type { CatalogItem, CatalogPage } from "../../src/catalog/catalog.js";
import type { RestoreSummary } from "../../src/runs/restoreRun.js";
import type { RunSummary } from "../../src/runs/archiveRun.js";
import { GIB } from "../../src/cost/costEstimate.js";
import { runCli, runWorker } from "../support/worker.js";

let registry: TestRegistry;
let target: TestRegistry;
let azurite: AzuriteInstance;
let host: LocalFunctionsHost;
let container: ContainerClient;
const pushed = new Map<string, string>();

before(async () => {
  [registry, target, azurite] = await Promise.all([startRegistry(), startRegistry(), startAzurite()]);
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  for (const ref of ["team/api:1.0", "team/api:1.1", "team/web:1.0"])
    pushed.set(ref, (await pushImage(registry.host, ref, smallImage(ref))).digest);
  host = await startFunctionsHost({
    timeScale: 0.02,
    env: {
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      JOB_RUNNER: "local",
      ARCHIVE_CONTAINER: "images",
      TASKHUB_NAME: "cataloghub",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      RESTORE_TARGET_REGISTRIES: target.host,
      MAX_ATTEMPTS: "2",
    },
  });
});
after(async () => {
  await host?.stop();
  await Promise.all([registry?.stop(), target?.stop(), azurite?.stop()]);
});

async function json<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await host.request(path, init);
  return { status: response.status, body: (await response.json()) as T };
}

async function summaryOf<T>(status: Record<string, unknown>): Promise<T> {
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const blob = container.getBlockBlobClient(String(status.summaryBlob));
  return JSON.parse((await blob.downloadToBuffer()).toString("utf8")) as T;
}

const catalogPath = (query: Record<string, string>) => `/api/catalog?${new URLSearchParams(query).toString()}`;

test("a run tags what it archives and backfills what came before; the catalog answers by API and CLI alike (guards issue 25.1, 25.3)", async () => {
  // team/web:1.0 archived by a version before index tags: the CLI's archive, its tags then taken away.
  const before = await runWorker({
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/team/web:1.0`, blobContainer: "images" }),
  });
  assert.equal(before.code, 0, before.stderr);
  const old = JSON.parse(before.stdout) as { archiveBlob: string; bytes: number };
  assert.equal((await container.getBlockBlobClient(old.archiveBlob).getTags()).tags.run, "cli");
  await container.getBlockBlobClient(old.archiveBlob).setTags({});

  const started = await json<{ id: string }>("/api/archive", {
    method: "POST",
    body: JSON.stringify({ registry: registry.host, repositories: ["team/*"] }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId = started.body.id;
  const summary = await summaryOf<RunSummary>(await waitForRun(host, runId));
  assert.equal(summary.totals.archived, 2);
  assert.equal(summary.totals.alreadyArchived, 1);
  // The cost report: every figure an estimate, from the named list prices.
  assert.equal(summary.cost.estimate, true);
  assert.equal(summary.cost.archived.bytes, summary.totals.bytesArchived);
  assert.equal(summary.cost.held.bytes, summary.totals.bytesArchived + old.bytes);
  assert.equal(
    summary.cost.archived.earlyDeletionFreeFrom,
    new Date(Date.parse(summary.endedAtUtc) + 180 * 86_400_000).toISOString(),
  );
  assert.equal(summary.cost.registrySaving.status, "none");
  assert.deepEqual(summary.cost.prices.region, "eastus");
  // The backfill indexed the one archive from before; the run's own archives carry its id.
  assert.equal(summary.catalogBackfill?.indexed, 1, JSON.stringify(summary.catalogBackfill));
  assert.equal(summary.catalogBackfill?.done, true);
  const oldTags = (await container.getBlockBlobClient(old.archiveBlob).getTags()).tags;
  assert.equal(oldTags.run, "unknown");
  assert.equal(oldTags.repository, "team/web");
  assert.equal(oldTags.verified, "no", "an archive from before verification is not claimed verified");

  // GET /api/catalog: team/api's two archives, by this run, with their state; the totals and their cost.
  const api = await json<CatalogPage>(catalogPath({ registry: registry.host, repository: "team/api" }));
  assert.equal(api.status, 200, JSON.stringify(api.body));
  const items = api.body.items;
  assert.deepEqual(items.map((i) => i.digest).sort(), [pushed.get("team/api:1.0"), pushed.get("team/api:1.1")].sort());
  for (const item of items) {
    assert.equal(item.runId, runId);
    // Read back and verified before Archive tier (issue 23.1): the catalog's state says so.
    assert.deepEqual(item.state, { verified: "yes", purge: "none" });
    assert.equal(item.sidecar, true);
    assert.equal(item.cost.estimate, true);
    assert.equal((await container.getBlockBlobClient(item.archiveBlob).getProperties()).accessTier, "Archive");
  }
  const totals = api.body.totals!;
  assert.equal(totals.images, 2);
  assert.equal(totals.bytes, summary.totals.bytesArchived);
  assert.equal(totals.cost.archivePerMonth, Math.round((totals.bytes / GIB) * 0.00099 * 10_000) / 10_000);
  assert.match(totals.registry?.summary ?? "", /not known/, "a plain registry: nothing claimed about its allowance");
  // A tag: the digest it named.
  const tagged = await json<CatalogPage>(catalogPath({ registry: registry.host, repository: "team/api", tag: "1.0" }));
  assert.deepEqual(
    tagged.body.items.map((i) => i.digest),
    [pushed.get("team/api:1.0")],
  );

  // The CLI's find: the same items (JSON), and a table for people.
  const env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
  const cli = await runCli(["find", `${registry.host}/team/api`, "--json"], env);
  assert.equal(cli.code, 0, cli.stderr);
  const answer = JSON.parse(cli.stdout) as CatalogPage;
  const byDigest = (list: CatalogItem[]) => [...list].sort((a, b) => a.digest.localeCompare(b.digest));
  assert.deepEqual(byDigest(answer.items), byDigest(items));
  assert.deepEqual(answer.totals?.bytes, totals.bytes);
  const table = await runCli(["find", "team/api:1.1", "--registry", registry.host], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^REPOSITORY +TAGS +DIGEST/m);
  assert.match(table.stdout, /team\/api +1\.1 +sha256:/);
  assert.match(table.stdout, /estimated Archive tier cost: ~[\d.]+ USD a month .*an estimate/);
  const web = await runCli(["find", `${registry.host}/team/web@${pushed.get("team/web:1.0")}`, "--json"], env);
  assert.deepEqual(
    (JSON.parse(web.stdout) as CatalogPage).items.map((i) => i.runId),
    ["unknown"],
  );

  // A dry-run restore answers what the retrieval would cost before anything starts.
  const restore = await json<{ id: string }>("/api/restore", {
    method: "POST",
    body: JSON.stringify({
      registry: registry.host,
      images: ["team/api:1.0", "team/api:1.1"],
      target: { registry: target.host },
      rehydratePriority: "High",
      dryRun: true,
    }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(restore.status, 202, JSON.stringify(restore.body));
  const dry = await summaryOf<RestoreSummary>(await waitForRun(host, restore.body.id, { kind: "restore" }));
  assert.equal(dry.cost.estimate, true);
  assert.equal(dry.cost.retrieval.blobs, 2);
  assert.equal(dry.cost.retrieval.bytes, totals.bytes);
  assert.equal(dry.cost.retrieval.priority, "High");
  assert.ok(dry.cost.retrieval.High > dry.cost.retrieval.Standard, JSON.stringify(dry.cost));
  assert.equal(dry.cost.retrieval.chosen, dry.cost.retrieval.High);
  for await (const blob of container.listBlobsFlat({ prefix: "staging/" })) assert.fail(`rehydrated: ${blob.name}`);
});

test("GET /api/catalog: a 400 names each bad filter and a token that belongs to another query (guards issue 25.1)", async () => {
  const bad = await json<{ problems: string[] }>(
    catalogPath({ registry: registry.host, repository: "Team", state: "lost", archivedAfter: "soon", shape: "x" }),
  );
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.problems.map((p) => p.split(":")[0]).sort(), [
    "archivedAfter",
    "repository",
    "shape",
    "state",
  ]);
  assert.deepEqual((await json<{ problems: string[] }>(catalogPath({ repository: "team/api" }))).body.problems, [
    "registry: is required: the registry's login server",
  ]);
  const twice = await json<{ problems: string[] }>(`/api/catalog?registry=${registry.host}&repository=a&repository=b`);
  assert.deepEqual([twice.status, twice.body.problems], [400, ["repository: given more than once"]]);
  const paged = await json<CatalogPage>(catalogPath({ registry: registry.host, pageSize: "1" }));
  assert.equal(paged.status, 200);
  const token = paged.body.continuationToken!;
  assert.ok(token, "a first page of one has a continuation");
  const next = await json<CatalogPage>(
    catalogPath({ registry: registry.host, pageSize: "1", continuationToken: token }),
  );
  assert.equal(next.status, 200);
  assert.notDeepEqual(next.body.items, paged.body.items);
  const elsewhere = await json<{ problems: string[] }>(
    catalogPath({ registry: target.host, pageSize: "1", continuationToken: token }),
  );
  assert.deepEqual(
    [elsewhere.status, elsewhere.body.problems],
    [400, ["continuationToken: belongs to another registry's catalog"]],
  );
  const forged = await json<{ problems: string[] }>(catalogPath({ registry: registry.host, continuationToken: "abc" }));
  assert.deepEqual(forged.body.problems, ["continuationToken: is not a token this catalog issued"]);
});
