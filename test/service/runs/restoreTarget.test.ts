// checkRestoreTarget (src/runs/restoreTarget.ts) against a real target registry and real Azurite: an image is present
// only when the target answers its digest and each tag it is restored under with that digest.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { RestoreImageRunContext } from "../../../src/runs/restoreRun.js";
import { checkRestoreTarget, restoreTargetCheckSchema } from "../../../src/runs/restoreTarget.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";

let target: TestRegistry;
let azurite: AzuriteInstance;
let container: ContainerClient;

before(async () => {
  [target, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  await container.createIfNotExists();
});
after(async () => {
  await Promise.all([target?.stop(), azurite?.stop()]);
});

function run(): RestoreImageRunContext {
  return {
    kind: "restore",
    runId: "restore-test-1",
    registry: "source.example.io",
    container: "images",
    dryRun: false,
    maxAttempts: 1,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    target: { registry: target.host },
    rehydratePriority: "Standard",
    rehydrationTimeoutMinutes: 60,
    rehydrationPollMaxSeconds: 60,
  };
}

test("present needs each tag restored under to answer the digest: a missing or moved tag is not present (guards issue 21.4)", async () => {
  const image = await pushImage(target.host, "team/api:1.4.2", smallImage("present"));
  await pushImage(target.host, "team/api:also", smallImage("present"));
  const deps = { container, target: new RegistryClient(target.host) };
  const check = (tags: string[]) =>
    checkRestoreTarget({ run: run(), repository: "team/api", digest: image.digest, tags }, deps);

  assert.equal((await check([])).present, true, "by digest");
  assert.equal((await check(["1.4.2", "also"])).present, true, "every tag names the digest");
  assert.equal((await check(["1.4.2", "gone"])).present, false, "a tag the target does not have");

  const other = await pushImage(target.host, "team/api:1.4.2", smallImage("other"));
  assert.notEqual(other.digest, image.digest);
  assert.equal((await check([])).present, true, "the digest is still there");
  assert.equal((await check(["1.4.2"])).present, false, "the tag names another image");
});

test("the activity's input carries the tags, none by default; a bad tag is refused", () => {
  const ref = { run: run(), repository: "team/api", digest: `sha256:${"a".repeat(64)}` };
  assert.deepEqual(restoreTargetCheckSchema.parse(ref).tags, []);
  assert.deepEqual(restoreTargetCheckSchema.parse({ ...ref, tags: ["1.4.2"] }).tags, ["1.4.2"]);
  assert.throws(() => restoreTargetCheckSchema.parse({ ...ref, tags: ["../x"] }));
});
