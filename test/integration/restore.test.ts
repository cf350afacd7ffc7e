// `acr-cold-archive restore`: an archive made by the worker goes back into another registry with the original
// digests (checked with skopeo, an independent client) for OCI and Docker media types, single and multi-arch,
// artifacts and images with foreign layers; a damaged archive fails with DIGEST_MISMATCH and the tag is not created.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { BlobServiceClient } from "@azure/storage-blob";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { MediaTypes } from "../../src/registry/types.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { FOREIGN_LAYER, pushArtifact, pushImage, smallImage, type ImageSpec } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { sha256Digest } from "../support/digests.js";
import { podmanLoad, readArchive, removeDir, restoreArchive } from "../support/verify.js";
import { runCli, runWorker } from "../support/worker.js";

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

async function archiveToFile(
  ref: string,
  spec: ImageSpec | ImageSpec[],
): Promise<{ path: string; dir: string; digest: string }> {
  const pushed = await pushImage(source.host, ref, spec);
  const archived = await archiveImage(`${source.host}/${ref}`);
  return { path: archived.path, dir: archived.dir, digest: pushed.digest };
}

interface Sidecar {
  format: string;
  externalLayers: { digest: string; size: number; mediaType: string; urls: string[] }[];
  restore: Record<string, string>;
  source: { digest: string };
}

/** The worker archives the image; returns its result, its sidecar and the archive downloaded to a temp file. */
async function archiveImage(image: string) {
  const run = await runWorker({
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARCHIVE_REQUEST: JSON.stringify({ image, blobContainer: "images" }),
  });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as {
    status: string;
    digest: string;
    archiveBlob: string;
    sidecarBlob: string;
    externalLayers?: number;
  };
  const sidecarBlob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient("images")
    .getBlockBlobClient(result.sidecarBlob);
  const sidecar = JSON.parse((await sidecarBlob.downloadToBuffer()).toString("utf8")) as Sidecar;
  const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
  return { ...restored, result, sidecar };
}

async function rawDigest(registry: TestRegistry, reference: string): Promise<string> {
  const creds = registry.username ? ["--creds", `${registry.username}:${registry.password}`] : [];
  const { stdout } = await execFileAsync(
    "skopeo",
    ["inspect", "--raw", "--tls-verify=false", ...creds, `docker://${registry.host}/${reference}`],
    { encoding: "buffer" },
  );
  return sha256Digest(stdout);
}

async function digestInTarget(reference: string): Promise<string> {
  return rawDigest(target, reference);
}

function targetClient(): RegistryClient {
  return new RegistryClient(target.host, {
    credential: { kind: "password", username: target.username!, password: target.password! },
  });
}

const targetEnv = () => ({ ACR_USERNAME: target.username!, ACR_PASSWORD: target.password! });

describe("restore keeps the original digests", () => {
  const cases: [string, string, ImageSpec | ImageSpec[]][] = [
    ["OCI manifest", "r/oci:1", smallImage("oci")],
    ["Docker schema 2 manifest", "r/docker:1", { ...smallImage("docker"), format: "docker" }],
    [
      "OCI multi-arch index",
      "r/multi:1",
      [
        { ...smallImage("a"), platform: { os: "linux", architecture: "amd64" } },
        { ...smallImage("b"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      ],
    ],
    [
      "Docker manifest list",
      "r/list:1",
      [
        { ...smallImage("c"), format: "docker", platform: { os: "linux", architecture: "amd64" } },
        { ...smallImage("d"), format: "docker", platform: { os: "linux", architecture: "arm", variant: "v7" } },
      ],
    ],
    [
      "uncompressed layer",
      "r/raw:1",
      { layers: [{ files: { "a.txt": "raw layer\n".repeat(500) }, compression: "none" }] },
    ],
  ];
  for (const [name, ref, spec] of cases) {
    test(name, async () => {
      const archive = await archiveToFile(ref, spec);
      try {
        const run = await runCli(
          ["restore", archive.path, `${target.host}/restored/${ref.split(":")[0]}`, "--json"],
          targetEnv(),
        );
        assert.equal(run.code, 0, run.stderr);
        const result = JSON.parse(run.stdout);
        assert.equal(result.digest, archive.digest);
        assert.deepEqual(result.tags, ["1"], "the tags recorded in the archive");
        assert.equal(await digestInTarget(`restored/${ref}`), archive.digest, "skopeo sees the original digest");
        const again = await runCli(
          ["restore", archive.path, `${target.host}/restored/${ref.split(":")[0]}:second`, "--json"],
          targetEnv(),
        );
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
  const archive = await archiveToFile("r/damaged:1", {
    layers: [{ files: { "data.txt": "the quick brown fox\n".repeat(2000) }, compression: "none" }],
  });
  try {
    const tarBytes = zlib.gunzipSync(await readFile(archive.path));
    const at = tarBytes.indexOf("quick brown fox");
    assert.ok(at > 0);
    tarBytes[at] = "Q".charCodeAt(0);
    const damaged = `${archive.dir}/damaged.tar.gz`;
    await writeFile(damaged, zlib.gzipSync(tarBytes));
    const run = await runCli(["restore", damaged, `${target.host}/restored/damaged:1`], targetEnv());
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^acr-cold-archive: DIGEST_MISMATCH: blobs\/sha256\/[a-f0-9]{64} in the archive hashes to sha256:[a-f0-9]{64}: the archive is damaged\n$/,
    );
    await assert.rejects(digestInTarget("restored/damaged:1"), "the tag was not created");
  } finally {
    await removeDir(archive.dir);
  }
});

test("restore refuses bad targets and missing files with one line", async () => {
  const missing = await runCli(["restore", "/nonexistent/archive.tar.gz", `${target.host}/x:1`], targetEnv());
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /^acr-cold-archive: cannot read \/nonexistent\/archive\.tar\.gz: ENOENT \(see --help\)\n$/,
  );
  const digestTarget = await runCli(["restore", "/dev/null", `${target.host}/x@sha256:${"a".repeat(64)}`], targetEnv());
  assert.equal(digestTarget.code, 2);
  assert.match(digestTarget.stderr, /not a digest/);
});

test("restore classifies by the graph from index.json: an artifact's layer that looks like a manifest is pushed as a blob", async () => {
  // A JSON layer shaped like an OCI manifest (schemaVersion 2, config, layers): content alone would call it a manifest.
  const lookalike = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: `sha256:${"c".repeat(64)}`, size: 2 },
      layers: [],
    }),
  );
  const pushed = await pushArtifact(source.host, "r/lookalike:1", {
    artifactType: "application/vnd.example.snapshot.v1",
    layers: [{ mediaType: "application/vnd.example.manifest-copy.v1+json", data: lookalike }],
  });
  const archive = await archiveImage(`${source.host}/r/lookalike:1`);
  try {
    const run = await runCli(["restore", archive.path, `${target.host}/restored/lookalike`, "--json"], targetEnv());
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.digest, pushed.digest);
    assert.equal(result.manifests, 1, "only the root is a manifest");
    assert.equal(result.blobsPushed, 2, "the empty config and the JSON layer are pushed as blobs");
    assert.equal(await digestInTarget("restored/lookalike:1"), pushed.digest, "skopeo sees the original digest");
    const client = targetClient();
    // HEAD /blobs/ sees only what was pushed as a blob (a manifest PUT links the digest as a manifest revision, not a layer).
    assert.ok(
      await client.blobExists("restored/lookalike", pushed.layers[0]!.digest),
      "the layer is a blob of the target repository",
    );
  } finally {
    await removeDir(archive.dir);
  }
});

test("artifacts that are not images archive as an OCI layout only (no manifest.json, sidecar format oci-layout) and restore with their digest", async () => {
  const artifacts = [
    {
      ref: "r/artifact-config:1",
      spec: {
        config: { mediaType: "application/vnd.example.config.v1+json", data: Buffer.from('{"kind":"example"}') },
        layers: [{ mediaType: "application/vnd.example.data.v1.tar", data: randomBytes(3000) }],
      },
    },
    {
      ref: "r/artifact-empty:1",
      spec: {
        artifactType: "application/vnd.example.sbom.v1+json",
        layers: [{ mediaType: "application/spdx+json", data: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
      },
    },
  ];
  for (const { ref, spec } of artifacts) {
    const pushed = await pushArtifact(source.host, ref, spec);
    const archive = await archiveImage(`${source.host}/${ref}`);
    try {
      assert.equal(archive.result.digest, pushed.digest);
      const contents = await readArchive(archive.path);
      assert.equal(
        contents.entries.has("manifest.json"),
        false,
        `${ref}: no manifest.json (no loader accepts an artifact's)`,
      );
      assert.equal(contents.manifest, undefined);
      assert.deepEqual(contents.ociLayout, { imageLayoutVersion: "1.0.0" });
      assert.equal(contents.index.manifests[0]!.digest, pushed.digest);
      assert.equal(archive.sidecar.format, "oci-layout", "the sidecar says it is not docker-loadable");
      assert.equal(archive.sidecar.restore.dockerLoad, undefined, "and offers no docker load command");
      const repository = `restored/${ref.split(":")[0]}`;
      const run = await runCli(["restore", archive.path, `${target.host}/${repository}`, "--json"], targetEnv());
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).digest, pushed.digest);
      assert.equal(await digestInTarget(`${repository}:1`), pushed.digest, `${ref}: skopeo sees the original digest`);
    } finally {
      await removeDir(archive.dir);
    }
  }
});

test("a foreign layer the registry lacks is external: listed in the sidecar, absent from the archive, and restored by the original manifest", async () => {
  // Distribution 2.8 refuses foreign layer URLs unless configured to allow them (ACR accepts them): both registries allow.
  const [foreignSource, foreignTarget] = await Promise.all([
    startRegistry({ allowForeignLayerUrls: true }),
    startRegistry({ allowForeignLayerUrls: true }),
  ]);
  const archives: string[] = [];
  try {
    const urls = ["https://mcr.example.invalid/v2/windows/servercore/blobs/base"];
    const base = { files: { "Files/Windows/base.txt": "a Windows base layer\n" } };
    const image = (inRegistry: boolean): ImageSpec => ({
      format: "docker",
      platform: { os: "windows", architecture: "amd64" },
      layers: [{ ...base, foreign: { urls, inRegistry } }, { files: { "Files/app.txt": "app\n" } }],
    });
    const pushed = await pushImage(foreignSource.host, "win/app:1", image(false));
    const manifest = (await new RegistryClient(foreignSource.host).getManifest("win/app", "1")).manifest as {
      layers: { mediaType: string; digest: string; size: number; urls?: string[] }[];
    };
    const foreign = manifest.layers[0]!;
    assert.equal(foreign.mediaType, FOREIGN_LAYER.docker);
    assert.equal(
      await new RegistryClient(foreignSource.host).blobExists("win/app", foreign.digest),
      false,
      "the fixture's registry lacks the foreign blob",
    );

    const archive = await archiveImage(`${foreignSource.host}/win/app:1`); // the worker exits 0: not REGISTRY_NOT_FOUND
    archives.push(archive.dir);
    assert.equal(archive.result.status, "archived");
    assert.equal(archive.result.externalLayers, 1, "the result counts the external layer");
    assert.deepEqual(archive.sidecar.externalLayers, [
      { digest: foreign.digest, size: foreign.size, mediaType: FOREIGN_LAYER.docker, urls },
    ]);
    assert.equal(archive.sidecar.format, "oci-layout", "docker load needs every layer's bytes: no manifest.json");
    const contents = await readArchive(archive.path);
    assert.equal(
      contents.entries.has(`blobs/sha256/${foreign.digest.slice(7)}`),
      false,
      "the archive holds no blob for the foreign layer",
    );
    assert.ok(contents.entries.has(`blobs/sha256/${manifest.layers[1]!.digest.slice(7)}`));
    assert.equal(contents.entries.has("manifest.json"), false);

    const restored = await runCli(["restore", archive.path, `${foreignTarget.host}/restored/win`, "--json"], {});
    assert.equal(restored.code, 0, restored.stderr);
    const result = JSON.parse(restored.stdout);
    assert.equal(result.digest, pushed.digest);
    assert.equal(result.externalLayers, 1);
    assert.equal(await rawDigest(foreignTarget, "restored/win:1"), pushed.digest, "the original manifest, same digest");
    assert.equal(
      await new RegistryClient(foreignTarget.host).blobExists("restored/win", foreign.digest),
      false,
      "no blob was invented for it",
    );

    // When the registry has the foreign blob, it is archived like any layer: nothing external, loadable.
    const present = await pushImage(foreignSource.host, "win/present:1", {
      ...image(true),
      platform: { os: "linux", architecture: "amd64" },
    });
    const full = await archiveImage(`${foreignSource.host}/win/present:1`);
    archives.push(full.dir);
    assert.equal(full.result.digest, present.digest);
    assert.equal(full.result.externalLayers, 0);
    assert.deepEqual(full.sidecar.externalLayers, []);
    assert.equal(full.sidecar.format, "oci-layout+docker-archive");
    assert.equal(
      (await readArchive(full.path)).entries.has(`blobs/sha256/${foreign.digest.slice(7)}`),
      true,
      "stored as a normal blob",
    );
    assert.match(await podmanLoad(full.path), /Loaded image/);
  } finally {
    for (const dir of archives) await removeDir(dir);
    await Promise.all([foreignSource.stop(), foreignTarget.stop()]);
  }
});

test("restore of a file that is not gzip says so in words, one line, exit 1", async () => {
  const dir = await mkdtemp(join(tmpdir(), "not-gzip-"));
  try {
    const file = join(dir, "image.tar.gz");
    await writeFile(file, "this is not a gzip file\n");
    const run = await runCli(["restore", file, `${target.host}/restored/not-gzip:1`], targetEnv());
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `acr-cold-archive: ARCHIVE_INVALID: ${file} is not a gzip archive (expected a .tar.gz written by acr-cold-archive)\n`,
    );
  } finally {
    await removeDir(dir);
  }
});
