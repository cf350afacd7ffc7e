// A run whose host is killed mid-listing resumes when the host starts again (issue 13): the local Functions host keeps
// its orchestrations in a state directory (--state-dir), the listing's pages already written stand, and the run
// completes with every image exactly once in its summary. Real registry, Azurite and worker processes.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startFunctionsHost, waitForRun, type LocalFunctionsHost } from "../../tools/localenv/functionsHost.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";

const REPOSITORIES = ["restart/r0", "restart/r1", "restart/r2", "restart/r3", "restart/r4"];
let registry: TestRegistry;
let azurite: AzuriteInstance;
let stateDir: string;
let host: LocalFunctionsHost | undefined;
const digests = new Map<string, string>();

before(async () => {
  [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  stateDir = await mkdtemp(join(tmpdir(), "host-state-"));
  for (const repository of REPOSITORIES)
    digests.set(repository, (await pushImage(registry.host, `${repository}:1`, smallImage(repository))).digest);
});
after(async () => {
  await host?.stop();
  await Promise.all([registry?.stop(), azurite?.stop()]);
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const hostEnv = (readsPerMinute: string) => ({
  AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
  JOB_RUNNER: "local",
  ARCHIVE_CONTAINER: "images",
  TASKHUB_NAME: "restarthub",
  NIGHTLY_SCHEDULE: "0 0 2 * * *",
  ALLOWED_REGISTRIES: "127.0.0.1:*",
  DEFAULT_MAX_PARALLEL: "3",
  // One repository a page, and a read budget of one request a second: the listing takes long enough to be killed in.
  LISTING_PAGE_REPOSITORIES: "1",
  REGISTRY_READS_PER_MINUTE: readsPerMinute,
});

test("a host killed mid-listing resumes the run when it starts again; every image is in the summary exactly once", async () => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  host = await startFunctionsHost({ timeScale: 0.02, stateDir, env: hostEnv("60") });
  const response = await host.request("/api/archive", {
    method: "POST",
    body: JSON.stringify({ registry: registry.host }),
    headers: { "content-type": "application/json" },
  });
  const { id } = (await response.json()) as { id: string };
  assert.equal(response.status, 202);

  // Kill it once two pages are written and the listing is still going.
  const pagesOf = async () => {
    const pages = new Map<string, string>();
    for await (const blob of container.listBlobsFlat({ prefix: `runs/${id}/listing/` }))
      pages.set(blob.name, blob.properties.etag ?? "");
    return pages;
  };
  let before = new Map<string, string>();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    before = await pagesOf();
    if (before.size >= 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await host.kill();
  assert.ok(before.size >= 2 && before.size < REPOSITORIES.length, `killed mid-listing: ${before.size} pages written`);

  // The same state directory, a new process (a new port and key), a larger budget.
  host = await startFunctionsHost({ timeScale: 0.02, stateDir, env: hostEnv("6000") });
  const status = await waitForRun(host, id, { timeoutInMs: 240_000 });
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  const summary = JSON.parse(
    (await container.getBlockBlobClient(String(status.summaryBlob)).downloadToBuffer()).toString(),
  ) as { images: { repository: string; digest: string; status: string }[]; totals: { total: number } };
  assert.deepEqual(
    summary.images.map((i) => [i.repository, i.digest, i.status]),
    REPOSITORIES.map((r) => [r, digests.get(r), "archived"]),
    "every image once, archived",
  );
  assert.equal(summary.totals.total, REPOSITORIES.length);
  // Resumed at the page it reached: the pages written before the kill were not listed again.
  const afterRestart = await pagesOf();
  for (const [name, etag] of before) assert.equal(afterRestart.get(name), etag, `${name} was not rewritten`);
  assert.ok(afterRestart.size >= REPOSITORIES.length);
});
