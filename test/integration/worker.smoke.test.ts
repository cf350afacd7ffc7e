// The skeleton's proof: one small image, through the real worker process, into real Azurite, restored,
// loaded by podman and pushed with skopeo to a second registry with the same manifest digest.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { sha256File } from "../support/digests.js";
import { podmanLoad, pushArchive, removeDir, restoreArchive } from "../support/verify.js";
import { runWorker } from "../support/worker.js";

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
