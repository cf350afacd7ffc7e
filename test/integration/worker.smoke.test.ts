// The skeleton's proof: one small image, through the real worker process, into real Azurite, restored,
// loaded by podman and pushed with skopeo to a second registry with the same manifest digest. And the bundled worker
// (what the Dockerfile ships) runs alone, from a directory with no node_modules.
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { after, before, test } from "node:test";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { sha256File } from "../support/digests.js";
import { podmanLoad, pushArchive, removeDir, restoreArchive } from "../support/verify.js";
import { runNode, runWorker, WORKER_MAIN, workerEnv } from "../support/worker.js";

let registry: TestRegistry;
let second: TestRegistry;
let azurite: AzuriteInstance;

before(async () => {
  [registry, second, azurite] = await Promise.all([startRegistry(), startRegistry(), startAzurite()]);
});
after(async () => {
  await Promise.all([registry?.stop(), second?.stop(), azurite?.stop()]);
});

test("the worker archives a small image that podman loads and skopeo restores with the same digest", async () => {
  const pushed = await pushImage(registry.host, "smoke/hello:1.0", smallImage());
  const run = await runWorker({
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/smoke/hello:1.0`, blobContainer: "images" }),
  });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.status, "archived");
  assert.equal(result.digest, pushed.digest);
  assert.equal(result.archiveBlob, `${registry.host}/smoke/hello@${pushed.digest.replace(":", "-")}.tar.gz`);

  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  try {
    assert.equal(await sha256File(restored.path), result.sha256);
    const loaded = await podmanLoad(restored.path);
    assert.match(loaded, new RegExp(`Loaded image.*${registry.host}/smoke/hello:1\\.0`));
    const digest = await pushArchive(restored.path, `${second.host}/restored/hello:1.0`);
    assert.equal(digest, pushed.digest);
  } finally {
    await removeDir(restored.dir);
  }
});

test("the bundled worker needs no node_modules: run from an empty directory, it archives and records its version", async () => {
  const dir = await mkdtemp(join(tmpdir(), "worker-bundle-"));
  try {
    // Node looks for packages in every ancestor's node_modules: none may exist, or the test would prove nothing.
    for (let at = dir; ; at = dirname(at)) {
      assert.ok(!existsSync(join(at, "node_modules")), `${join(at, "node_modules")} exists: run the test elsewhere`);
      if (dirname(at) === at) break;
    }
    const packageJson = fileURLToPath(new URL("../../../package.json", import.meta.url));
    await copyFile(WORKER_MAIN, join(dir, "worker.mjs"));
    await copyFile(packageJson, join(dir, "package.json"));
    const pushed = await pushImage(registry.host, "smoke/bundle:1", smallImage("bundle"));
    const run = await runNode(
      join(dir, "worker.mjs"),
      [],
      workerEnv({
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/smoke/bundle:1`, blobContainer: "bundled" }),
      }),
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { status: string; digest: string; sidecarBlob: string };
    assert.equal(result.status, "archived");
    assert.equal(result.digest, pushed.digest);
    const sidecar = JSON.parse(
      (
        await BlobServiceClient.fromConnectionString(azurite.connectionString)
          .getContainerClient("bundled")
          .getBlobClient(result.sidecarBlob)
          .downloadToBuffer()
      ).toString(),
    ) as { tool: { name: string; version: string } };
    const { name, version } = JSON.parse(await readFile(packageJson, "utf8")) as { name: string; version: string };
    assert.deepEqual(sidecar.tool, { name, version });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
