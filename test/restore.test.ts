// `acr-cold-archive restore`: an archive made by the worker goes back into another registry with the original
// digests (checked with skopeo, an independent client) for OCI and Docker media types, single and multi-arch;
// a damaged archive fails with DIGEST_MISMATCH and the tag is not created.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { startAzurite, type AzuriteInstance } from "../tools/localenv/azurite.js";
import { pushImage, smallImage, type ImageSpec } from "../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../tools/localenv/registry.js";
import { removeDir, restoreArchive } from "./support/verify.js";
import { runCli, runWorker } from "./support/worker.js";

const execFileAsync = promisify(execFile);
let source: TestRegistry;
let target: TestRegistry;
let azurite: AzuriteInstance;

before(async () => {
  [source, target, azurite] = await Promise.all([startRegistry(), startRegistry({ auth: "basic" }), startAzurite()]);
});
after(async () => {
  await Promise.all([source?.stop(), target?.stop(), azurite?.stop()]);
});

async function archiveToFile(ref: string, spec: ImageSpec | ImageSpec[]): Promise<{ path: string; dir: string; digest: string }> {
  const pushed = await pushImage(source.host, ref, spec);
  const run = await runWorker({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ARCHIVE_REQUEST: JSON.stringify({ image: `${source.host}/${ref}`, blobContainer: "images" }) });
  assert.equal(run.code, 0, run.stderr);
  const restored = await restoreArchive(azurite.connectionString, "images", JSON.parse(run.stdout).archiveBlob);
  return { ...restored, digest: pushed.digest };
}

async function digestInTarget(reference: string): Promise<string> {
  const { stdout } = await execFileAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", `${target.username}:${target.password}`, `docker://${target.host}/${reference}`], { encoding: "buffer" });
  return `sha256:${createHash("sha256").update(stdout).digest("hex")}`;
}

const targetEnv = () => ({ ACR_USERNAME: target.username!, ACR_PASSWORD: target.password! });

describe("restore keeps the original digests", () => {
  const cases: [string, string, ImageSpec | ImageSpec[]][] = [
    ["OCI manifest", "r/oci:1", smallImage("oci")],
    ["Docker schema 2 manifest", "r/docker:1", { ...smallImage("docker"), format: "docker" }],
    ["OCI multi-arch index", "r/multi:1", [{ ...smallImage("a"), platform: { os: "linux", architecture: "amd64" } }, { ...smallImage("b"), platform: { os: "linux", architecture: "arm64", variant: "v8" } }]],
    ["Docker manifest list", "r/list:1", [{ ...smallImage("c"), format: "docker", platform: { os: "linux", architecture: "amd64" } }, { ...smallImage("d"), format: "docker", platform: { os: "linux", architecture: "arm", variant: "v7" } }]],
    ["uncompressed layer", "r/raw:1", { layers: [{ files: { "a.txt": "raw layer\n".repeat(500) }, compression: "none" }] }],
  ];
  for (const [name, ref, spec] of cases) {
    test(name, async () => {
      const archive = await archiveToFile(ref, spec);
      try {
        const run = await runCli(["restore", archive.path, `${target.host}/restored/${ref.split(":")[0]}`, "--json"], targetEnv());
        assert.equal(run.code, 0, run.stderr);
        const result = JSON.parse(run.stdout);
        assert.equal(result.digest, archive.digest);
        assert.deepEqual(result.tags, ["1"], "the tags recorded in the archive");
        assert.equal(await digestInTarget(`restored/${ref}`), archive.digest, "skopeo sees the original digest");
        const again = await runCli(["restore", archive.path, `${target.host}/restored/${ref.split(":")[0]}:second`, "--json"], targetEnv());
        assert.equal(again.code, 0, again.stderr);
        assert.equal(JSON.parse(again.stdout).blobsPushed, 0, "blobs already in the repository are not pushed again");
        assert.equal(await digestInTarget(`restored/${ref.split(":")[0]}:second`), archive.digest);
      } finally {
        await removeDir(archive.dir);
      }
    });
  }
});

test("a damaged archive fails with DIGEST_MISMATCH and creates no tag", async () => {
  const archive = await archiveToFile("r/damaged:1", { layers: [{ files: { "data.txt": "the quick brown fox\n".repeat(2000) }, compression: "none" }] });
  try {
    const tarBytes = zlib.gunzipSync(await readFile(archive.path));
    const at = tarBytes.indexOf("quick brown fox");
    assert.ok(at > 0);
    tarBytes[at] = "Q".charCodeAt(0);
    const damaged = `${archive.dir}/damaged.tar.gz`;
    await writeFile(damaged, zlib.gzipSync(tarBytes));
    const run = await runCli(["restore", damaged, `${target.host}/restored/damaged:1`], targetEnv());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^acr-cold-archive: DIGEST_MISMATCH: blobs\/sha256\/[a-f0-9]{64} in the archive hashes to sha256:[a-f0-9]{64}: the archive is damaged\n$/);
    await assert.rejects(digestInTarget("restored/damaged:1"), "the tag was not created");
  } finally {
    await removeDir(archive.dir);
  }
});

test("restore refuses bad targets and missing files with one line", async () => {
  const missing = await runCli(["restore", "/nonexistent/archive.tar.gz", `${target.host}/x:1`], targetEnv());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^acr-cold-archive: cannot read \/nonexistent\/archive\.tar\.gz: ENOENT \(see --help\)\n$/);
  const digestTarget = await runCli(["restore", "/dev/null", `${target.host}/x@sha256:${"a".repeat(64)}`], targetEnv());
  assert.equal(digestTarget.code, 2);
  assert.match(digestTarget.stderr, /not a digest/);
});
