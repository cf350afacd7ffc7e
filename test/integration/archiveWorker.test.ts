// The archive worker end to end: real registry, real Azurite, the real worker process; every archive restored,
// loaded by podman, and pushed by skopeo to a second registry with the original digest.
import assert from "node:assert/strict";
import { writeFile, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage, type ImageSpec } from "../../tools/localenv/fixtures.js";
import { freePort } from "../../tools/localenv/processes.js";
import { registryBlobPath, startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { startCorruptingStorageProxy } from "../support/corruptingStorageProxy.js";
import { sha256File } from "../support/digests.js";
import { startRequestLog } from "../support/loopback.js";
import { podmanLoad, pushArchive, readArchive, removeDir, restoreArchive } from "../support/verify.js";
import { runCli, runNode, WORKER_MAIN, runWorker, workerEnv } from "../support/worker.js";

let registry: TestRegistry;
let second: TestRegistry;
let azurite: AzuriteInstance;
let blobService: BlobServiceClient;

before(async () => {
  [registry, second, azurite] = await Promise.all([startRegistry(), startRegistry(), startAzurite()]);
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await Promise.all([registry?.stop(), second?.stop(), azurite?.stop()]);
});

function storageEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ...extra };
}

async function archive(image: string, extra: Record<string, string> = {}) {
  const run = await runWorker(
    storageEnv({ ARCHIVE_REQUEST: JSON.stringify({ image, blobContainer: "images" }), ...extra }),
  );
  assert.equal(run.code, 0, `worker failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as {
    status: string;
    digest: string;
    archiveBlob: string;
    sidecarBlob: string;
    sha256: string;
    bytes: number;
    tags: string[];
  };
}

async function blobExists(name: string, container = "images"): Promise<boolean> {
  return blobService.getContainerClient(container).getBlockBlobClient(name).exists();
}

const LONG_TAG = `t${"a1_.-".repeat(25)}xy`.slice(0, 128);

const FIXTURES: { name: string; ref: string; spec: ImageSpec | ImageSpec[]; tag: string }[] = [
  { name: "OCI manifest, small", ref: "fx/oci:1.0", tag: "1.0", spec: smallImage("oci") },
  {
    name: "Docker schema 2 manifest",
    ref: "fx/docker:v2",
    tag: "v2",
    spec: { ...smallImage("docker"), format: "docker" },
  },
  {
    name: "multi-arch index (amd64 + arm64/v8)",
    ref: "fx/multi:2024",
    tag: "2024",
    spec: [
      { ...smallImage("amd64"), platform: { os: "linux", architecture: "amd64" } },
      { ...smallImage("arm64"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  },
  {
    name: "uncompressed layer",
    ref: "fx/uncompressed:raw",
    tag: "raw",
    spec: {
      layers: [
        { files: { "a.txt": "plain tar layer\n".repeat(1000) }, compression: "none" },
        { files: { "b.txt": "b" } },
      ],
    },
  },
  { name: "empty layer", ref: "fx/empty:e", tag: "e", spec: { layers: [{ files: { "x.txt": "x" } }, { files: {} }] } },
  {
    name: "realistic compressible image",
    ref: "fx/realistic:r1",
    tag: "r1",
    spec: { layers: [{ textBytes: 6 * 1024 * 1024 }, { textBytes: 1024 * 1024, compression: "none" }] },
  },
  { name: "nested repository name", ref: "team/app/api:1", tag: "1", spec: smallImage("nested") },
  { name: "128-character tag with _ . -", ref: `fx/tags:${LONG_TAG}`, tag: LONG_TAG, spec: smallImage("tags") },
  {
    name: "tag with leading underscore",
    ref: "fx/tags:_under.score-1",
    tag: "_under.score-1",
    spec: smallImage("under"),
  },
];

describe("every fixture archives, loads with podman, and restores with its digest", () => {
  for (const fixture of FIXTURES) {
    test(fixture.name, async () => {
      const pushed = await pushImage(registry.host, fixture.ref, fixture.spec);
      const result = await archive(`${registry.host}/${fixture.ref}`);
      assert.equal(result.status, "archived");
      assert.equal(result.digest, pushed.digest);
      assert.deepEqual(result.tags, [fixture.tag]);

      const restored = await restoreArchive(azurite.connectionString, "images", result.archiveBlob);
      let layersInManifest: number | undefined;
      try {
        assert.equal(await sha256File(restored.path), result.sha256, "the recorded sha256 is the archive's");
        const contents = await readArchive(restored.path);
        for (const [name, hex] of contents.entries) {
          if (name.startsWith("blobs/sha256/"))
            assert.equal(hex, name.slice("blobs/sha256/".length), `${name} holds the bytes of its digest`);
        }
        assert.deepEqual(contents.ociLayout, { imageLayoutVersion: "1.0.0" });
        assert.equal(contents.index.manifests[0]!.digest, pushed.digest, "index.json points at the original root");
        assert.deepEqual(contents.manifest[0]!.RepoTags, [`${registry.host}/${fixture.ref}`]);
        for (const layer of contents.manifest[0]!.Layers)
          assert.ok(contents.entries.has(layer), `manifest.json layer ${layer} is in the archive`);
        layersInManifest = new Set(contents.manifest[0]!.Layers).size;

        const loaded = await podmanLoad(restored.path);
        assert.match(loaded, /Loaded image/);
        const restoredDigest = await pushArchive(
          restored.path,
          `${second.host}/restored/${fixture.ref.split(":")[0]}:${fixture.tag}`,
        );
        assert.equal(restoredDigest, pushed.digest, "skopeo restores the original manifest digest");
      } finally {
        await removeDir(restored.dir);
      }

      const sidecar = JSON.parse(
        (
          await blobService.getContainerClient("images").getBlockBlobClient(result.sidecarBlob).downloadToBuffer()
        ).toString(),
      );
      assert.equal(sidecar.source.digest, pushed.digest);
      assert.equal(sidecar.archive.sha256, result.sha256);
      assert.equal(sidecar.archiveBlob, result.archiveBlob);
      if (!Array.isArray(fixture.spec))
        assert.equal(sidecar.layers.count, layersInManifest, "the sidecar counts the image's layers");
      const props = await blobService
        .getContainerClient("images")
        .getBlockBlobClient(result.archiveBlob)
        .getProperties();
      assert.equal(props.accessTier, "Archive");
      assert.equal(props.metadata?.sourcedigest, pushed.digest);
      const sidecarProps = await blobService
        .getContainerClient("images")
        .getBlockBlobClient(result.sidecarBlob)
        .getProperties();
      assert.equal(sidecarProps.accessTier, "Cool");
    });
  }

  test("the multi-arch sidecar lists both platforms and docker load gets linux/amd64", async () => {
    const result = await archive(`${registry.host}/fx/multi:2024`);
    assert.equal(result.status, "already-archived");
    const sidecar = JSON.parse(
      (
        await blobService.getContainerClient("images").getBlockBlobClient(result.sidecarBlob).downloadToBuffer()
      ).toString(),
    );
    assert.deepEqual(sidecar.platforms.map((p: { platform: string }) => p.platform).sort(), [
      "linux/amd64",
      "linux/arm64/v8",
    ]);
    assert.equal(sidecar.defaultPlatform, "linux/amd64");
  });
});

test("a new archive is read back from storage and verified before it goes to Archive tier: the sidecar, the metadata and the result say so (guards issue 23.1)", async () => {
  await pushImage(registry.host, "verified/app:1", {
    layers: [{ randomBytes: 3 * 1024 * 1024, compression: "gzip-stored" }, { files: { "a.txt": "a" } }],
  });
  const run = await runWorker(
    storageEnv({
      ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/verified/app:1`, blobContainer: "images" }),
    }),
  );
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { status: string; verified?: boolean; archiveBlob: string; sha256: string };
  assert.equal(result.status, "archived");
  assert.equal(result.verified, true);
  const props = await blobService.getContainerClient("images").getBlockBlobClient(result.archiveBlob).getProperties();
  assert.equal(props.accessTier, "Archive", "moved to Archive tier once verified");
  const { tags } = await blobService.getContainerClient("images").getBlockBlobClient(result.archiveBlob).getTags();
  assert.equal(tags.verified, "yes", "the catalog's index tag says verified");
  const sidecar = (await readSidecar(`${result.archiveBlob}.json`)) as unknown as {
    verification: Record<string, unknown>;
  };
  const { verifiedAtUtc, ...verification } = sidecar.verification;
  assert.ok(typeof verifiedAtUtc === "string" && !Number.isNaN(Date.parse(verifiedAtUtc)));
  assert.deepEqual(verification, {
    method: "read-back-after-write",
    checked: [
      "gzip",
      "tar",
      "blob digests and sizes",
      "manifest graph",
      "referrers",
      "root digest",
      "archive sha256",
      "manifest.json",
    ],
    archiveSha256: result.sha256,
    blobs: 3,
    manifests: 1,
    referrers: 0,
  });
  assert.deepEqual(JSON.parse(props.metadata!.verification!), {
    verifiedAtUtc,
    method: "read-back-after-write",
    blobs: 3,
    manifests: 1,
    referrers: 0,
  });
});

test("an archive storage hands back altered after its commit fails its verification: the image fails, and no archive, sidecar or tag marker is left (guards issue 23.1)", async () => {
  await pushImage(registry.host, "altered/app:1", {
    layers: [{ randomBytes: 3 * 1024 * 1024, compression: "gzip-stored" }, { files: { "a.txt": "a" } }],
  });
  // Reads of this repository's archives come back with one byte flipped; the writes reach storage unchanged.
  const proxy = await startCorruptingStorageProxy(azurite, {
    corrupt: (path) => path.includes("/altered/app@") && path.endsWith(".tar.gz"),
  });
  try {
    const request = JSON.stringify({ image: `${registry.host}/altered/app:1`, blobContainer: "images" });
    const run = await runWorker({ AZURE_STORAGE_CONNECTION_STRING: proxy.connectionString, ARCHIVE_REQUEST: request });
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stderr,
      /(DIGEST_MISMATCH|ARCHIVE_INVALID): \S+altered\/app@sha256-[0-9a-f]{64}\.tar\.gz as read back from storage failed verification \(deleted\)/,
    );
    assert.equal(proxy.altered.length, 1, "read back once");
  } finally {
    await proxy.stop();
  }
  const left: string[] = [];
  for await (const item of blobService
    .getContainerClient("images")
    .listBlobsFlat({ prefix: `${registry.host}/altered/app` }))
    left.push(item.name);
  assert.deepEqual(left, [], "nothing that could be taken for an archive, verified or not");
  // Storage that hands back what it holds: the next attempt archives and verifies it.
  const again = await archive(`${registry.host}/altered/app:1`);
  assert.equal(again.status, "archived");
});

test("a second run of the same image is already-archived and overwrites nothing", async () => {
  await pushImage(registry.host, "rerun/app:1", smallImage("rerun"));
  const first = await archive(`${registry.host}/rerun/app:1`);
  const blob = blobService.getContainerClient("images").getBlockBlobClient(first.archiveBlob);
  const before = await blob.getProperties();
  const second = await archive(`${registry.host}/rerun/app:1`);
  assert.equal(second.status, "already-archived");
  assert.equal(second.sha256, first.sha256);
  const afterProps = await blob.getProperties();
  assert.equal(afterProps.etag, before.etag);
  assert.equal(afterProps.lastModified?.getTime(), before.lastModified?.getTime());
});

test("a tag costs one manifest GET, reused for the archive; a digest is not fetched when already archived", async () => {
  const pushed = await pushImage(registry.host, "onceonly/app:1", smallImage("onceonly"));
  const front = await startRequestLog(registry.host);
  try {
    // The image's own manifest reads (its referrer lookups read tags named sha256-<hex>…: not these).
    const manifestReads = () => front.requests.filter((r) => /\/v2\/onceonly\/app\/manifests\/(?!sha256-)/.test(r));
    const first = await archive(`${front.host}/onceonly/app:1`);
    assert.equal(first.status, "archived");
    // The tag's GET resolves it and is the archive's root manifest: no HEAD before it, no GET by digest after it.
    assert.deepEqual(manifestReads(), ["GET /v2/onceonly/app/manifests/1"]);
    front.requests.length = 0;
    const byDigest = await archive(`${front.host}/onceonly/app@${pushed.digest}`);
    assert.equal(byDigest.status, "already-archived");
    assert.deepEqual(manifestReads(), [], "an archived digest costs no manifest read");
    front.requests.length = 0;
    assert.equal((await archive(`${front.host}/onceonly/app:1`)).status, "already-archived");
    assert.deepEqual(manifestReads(), ["GET /v2/onceonly/app/manifests/1"]);
  } finally {
    await front.close();
  }
});

test("a moved tag makes a new archive and keeps the old one", async () => {
  const v1 = await pushImage(registry.host, "moving/app:stable", smallImage("one"));
  const first = await archive(`${registry.host}/moving/app:stable`);
  const v2 = await pushImage(registry.host, "moving/app:stable", smallImage("two"));
  const second = await archive(`${registry.host}/moving/app:stable`);
  assert.notEqual(v1.digest, v2.digest);
  assert.equal(second.status, "archived");
  assert.notEqual(second.archiveBlob, first.archiveBlob);
  assert.ok(await blobExists(first.archiveBlob));
  const markers: string[] = [];
  for await (const item of blobService
    .getContainerClient("images")
    .listBlobsFlat({ prefix: `${registry.host}/moving/app:stable@` }))
    markers.push(item.name);
  assert.equal(markers.length, 2, "listing the tag's prefix shows both digests it pointed at");
});

test("the old queue message's blobBaseName names the archive, and QUEUE_MESSAGE_FILE still works", async () => {
  await pushImage(registry.host, "legacy/app:7", smallImage("legacy"));
  const file = `${process.env.TMPDIR ?? "/tmp"}/queue-message-${process.pid}.json`;
  await writeFile(
    file,
    JSON.stringify({
      image: `${registry.host}/legacy/app:7`,
      blobContainer: "legacy",
      blobBaseName: "legacy--app--7.tar.gz",
    }),
  );
  const run = await runWorker(storageEnv({ QUEUE_MESSAGE_FILE: file, ARCHIVE_CONTAINER: "legacy" }));
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.archiveBlob, "legacy--app--7.tar.gz");
  assert.ok(await blobExists("legacy--app--7.tar.gz.json", "legacy"));
});

test("the worker takes the app's request, the image as values (registry, repository, digest, tags); the legacy reference names the same archive (guards issue 22.4)", async () => {
  const pushed = await pushImage(registry.host, "structured/app:1", smallImage("structured"));
  const request = {
    registry: registry.host,
    repository: "structured/app",
    digest: pushed.digest,
    tags: ["1", "extra"],
    blobContainer: "images",
  };
  const run = await runWorker(storageEnv({ ARCHIVE_REQUEST: JSON.stringify(request) }));
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { status: string; image: string; tags: string[]; sidecarBlob: string };
  assert.equal(result.status, "archived");
  assert.equal(result.image, `${registry.host}/structured/app:1@${pushed.digest}`);
  assert.deepEqual(result.tags, ["1", "extra"]);
  const sidecar = (await readSidecar(result.sidecarBlob)) as { source?: { tag?: string }; tags: string[] };
  assert.equal(sidecar.source?.tag, "1", "the first tag is the one it was asked for");
  assert.deepEqual(sidecar.tags, ["1", "extra"]);
  const legacy = await archive(`${registry.host}/structured/app:1`);
  assert.equal(legacy.status, "already-archived");
  assert.equal(legacy.sidecarBlob, result.sidecarBlob);
});

test("a blob corrupted in the registry fails the image with a clear error and leaves no archive", async () => {
  const pushed = await pushImage(registry.host, "corrupt/app:1", { layers: [{ textBytes: 200_000 }] });
  const manifest = JSON.parse(
    await (
      await fetch(`http://${registry.host}/v2/corrupt/app/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text(),
  );
  const layer = manifest.layers[0].digest as string;
  const path = registryBlobPath(registry, layer);
  const bytes = await readFile(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff; // same size, different bytes
  await writeFile(path, bytes);
  const run = await runWorker(
    storageEnv({
      ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/corrupt/app:1`, blobContainer: "images" }),
    }),
  );
  assert.equal(run.code, 1);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line: ${run.stderr}`);
  assert.match(lines[0]!, /DIGEST_MISMATCH/);
  assert.match(lines[0]!, new RegExp(layer));
  const name = `${registry.host}/corrupt/app@${pushed.digest.replace(":", "-")}.tar.gz`;
  assert.equal(await blobExists(name), false, "no archive blob");
  assert.equal(await blobExists(`${name}.json`), false, "no sidecar");
});

test("a corrupted layer read ahead in ranged parts (4 MiB, 4 GETs at once) fails with DIGEST_MISMATCH and commits nothing", async () => {
  const pushed = await pushImage(registry.host, "corrupt/parts:1", {
    layers: [{ randomBytes: 20 * 1024 * 1024, compression: "gzip-stored" }, { textBytes: 100_000 }],
  });
  const manifest = JSON.parse(
    await (
      await fetch(`http://${registry.host}/v2/corrupt/parts/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text(),
  );
  const layer = manifest.layers[0].digest as string;
  const path = registryBlobPath(registry, layer);
  const bytes = await readFile(path);
  bytes[bytes.length - 5] ^= 0xff; // in the last part
  await writeFile(path, bytes);
  const run = await runWorker(
    storageEnv({
      ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/corrupt/parts:1`, blobContainer: "images" }),
      REGISTRY_CONCURRENCY: "4",
      PREFETCH_MIB: "16",
    }),
  );
  assert.equal(run.code, 1);
  assert.match(run.stderr, /DIGEST_MISMATCH/);
  assert.match(run.stderr, new RegExp(layer));
  const name = `${registry.host}/corrupt/parts@${pushed.digest.replace(":", "-")}.tar.gz`;
  assert.equal(await blobExists(name), false, "no archive blob");
  assert.equal(await blobExists(`${name}.json`), false, "no sidecar");
});

test("a small blob answered with 256 MiB while the writer is on an earlier layer: the worker stops reading it, fails with SIZE_MISMATCH and commits nothing (guards issue 21.1)", async () => {
  const pushed = await pushImage(registry.host, "overlong/app:1", {
    layers: [{ randomBytes: 20 * 1024 * 1024, compression: "gzip-stored" }, { textBytes: 200 }],
  });
  const manifest = JSON.parse(
    await (
      await fetch(`http://${registry.host}/v2/overlong/app/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text(),
  );
  const big = manifest.layers[0].digest as string;
  const small = manifest.layers[1] as { digest: string; size: number };
  const bytes = Buffer.from(
    await (await fetch(`http://${registry.host}/v2/overlong/app/blobs/${small.digest}`)).arrayBuffer(),
  );
  assert.equal(bytes.length, small.size);
  const junk = 256 * 1024 * 1024;
  let answer: Promise<{ sent: number; finished: boolean }> | undefined;
  // The small layer's GET gets its bytes and then 256 MiB more, as fast as the worker reads them; the big layer's later
  // parts are answered only once that answer has ended (the writer is on the big layer while the small one is read ahead).
  let smallAnswered: () => void = () => undefined;
  const smallDone = new Promise<void>((resolve) => (smallAnswered = resolve));
  const front = await startRequestLog(registry.host, {
    // (Its first part goes at once: it shows that the registry honours Range, so the later blobs are asked for.)
    delay: (req) =>
      req.url?.endsWith(`/blobs/${big}`) && !/^bytes=0-/.test(req.headers.range ?? "") ? smallDone : undefined,
    forge: (req, res) => {
      if (req.method !== "GET" || !req.url?.endsWith(`/blobs/${small.digest}`)) return false;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(bytes);
      const chunk = Buffer.alloc(64 * 1024, 0x5a);
      let sent = bytes.length;
      const pump = () => {
        while (sent < bytes.length + junk && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end();
      };
      answer ??= new Promise((resolve) =>
        res.once("close", () => {
          smallAnswered();
          resolve({ sent, finished: res.writableFinished });
        }),
      );
      pump();
      return true;
    },
  });
  try {
    const run = await runWorker(
      storageEnv({
        ARCHIVE_REQUEST: JSON.stringify({ image: `${front.host}/overlong/app:1`, blobContainer: "images" }),
      }),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /SIZE_MISMATCH/);
    assert.match(run.stderr, new RegExp(small.digest));
    assert.ok(answer, "the small layer was asked for");
    const { sent, finished } = await answer;
    // Before the fix the worker read (and held) all of it before the writer reached the blob.
    assert.equal(finished, false, "the worker read the whole overlong answer");
    assert.ok(sent < junk / 4, `${sent} bytes sent before the worker stopped reading`);
    const name = `${front.host}/overlong/app@${pushed.digest.replace(":", "-")}.tar.gz`;
    assert.equal(await blobExists(name), false, "no archive blob");
    assert.equal(await blobExists(`${name}.json`), false, "no sidecar");
  } finally {
    await front.close();
  }
});

test("a registry that goes silent (no headers; half a layer, then nothing) holds the worker no longer than REGISTRY_IDLE_TIMEOUT_SECONDS: retried, resumed with Range, archived (guards issue 21.8)", async () => {
  await pushImage(registry.host, "silent/app:1", {
    layers: [{ randomBytes: 1024 * 1024, compression: "gzip-stored" }],
  });
  const manifest = JSON.parse(
    await (
      await fetch(`http://${registry.host}/v2/silent/app/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text(),
  );
  const config = manifest.config.digest as string;
  const layer = manifest.layers[0].digest as string;
  const bytes = Buffer.from(await (await fetch(`http://${registry.host}/v2/silent/app/blobs/${layer}`)).arrayBuffer());
  const half = Math.floor(bytes.length / 2);
  const silenced = new Set<string>();
  const layerRanges: (string | undefined)[] = [];
  // The first GET of the config gets no answer at all; the first GET of the layer gets half its bytes. Both sockets
  // stay open, as behind a load balancer that dropped the flow. Everything else goes to the registry.
  const front = await startRequestLog(registry.host, {
    forge: (req, res) => {
      if (req.method !== "GET") return false;
      const blob = [config, layer].find((d) => req.url?.endsWith(`/blobs/${d}`));
      if (blob === layer) layerRanges.push(req.headers.range);
      if (!blob || silenced.has(blob)) return false;
      silenced.add(blob);
      if (blob === layer) res.writeHead(200, { "content-length": String(bytes.length) }).write(bytes.subarray(0, half));
      return true;
    },
  });
  let pid: number | undefined;
  let exited = false;
  try {
    const image = `${front.host}/silent/app:1`;
    const worker = runNode(
      WORKER_MAIN,
      [],
      workerEnv(
        storageEnv({
          ARCHIVE_REQUEST: JSON.stringify({ image, blobContainer: "images" }),
          REGISTRY_IDLE_TIMEOUT_SECONDS: "1",
        }),
      ),
      { onStart: (p) => (pid = p) },
    ).finally(() => (exited = true));
    let timer: NodeJS.Timeout | undefined;
    const run = await Promise.race([
      worker,
      new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 60_000, undefined))),
    ]);
    clearTimeout(timer);
    assert.ok(run, "the worker was still reading a silent connection after 60 s");
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { status: string }).status, "archived");
    assert.deepEqual([...silenced].sort(), [config, layer].sort(), "both silences were met");
    const blobReads = (digest: string) => front.requests.filter((r) => r === `GET /v2/silent/app/blobs/${digest}`);
    assert.ok(blobReads(config).length >= 2, "the config's GET was retried");
    assert.deepEqual(layerRanges, [undefined, `bytes=${half}-`], "the layer was resumed from the byte it had");
  } finally {
    if (pid !== undefined && !exited) process.kill(pid, "SIGKILL");
    await front.close();
  }
});

test("SIGKILL of the worker mid-upload leaves no archive blob, and a re-run succeeds", async () => {
  const pushed = await pushImage(registry.host, "killed/app:1", {
    layers: [{ randomBytes: 48 * 1024 * 1024, compression: "gzip-stored" }],
  });
  const name = `${registry.host}/killed/app@${pushed.digest.replace(":", "-")}.tar.gz`;
  const blob = blobService.getContainerClient("images").getBlockBlobClient(name);
  let pid = 0;
  const env = workerEnv(
    storageEnv({
      ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/killed/app:1`, blobContainer: "images" }),
      UPLOAD_BLOCK_SIZE_MIB: "1",
      UPLOAD_CONCURRENCY: "1",
    }),
  );
  const running = runNode(WORKER_MAIN, [], env, { onStart: (p) => (pid = p) });
  // Wait until blocks are staged (the upload is under way), then kill without warning.
  const deadline = Date.now() + 120_000;
  let staged = 0;
  while (Date.now() < deadline && staged === 0) {
    staged = await blob
      .getBlockList("uncommitted")
      .then((list) => list.uncommittedBlocks?.length ?? 0)
      .catch(() => 0);
    if (staged === 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(staged > 0, "the worker staged blocks before it was killed");
  process.kill(pid, "SIGKILL");
  const killed = await running;
  assert.equal(killed.signal, "SIGKILL");
  assert.equal(await blob.exists(), false, "uncommitted blocks are not a blob");
  const result = await archive(`${registry.host}/killed/app:1`);
  assert.equal(result.status, "archived");
  assert.equal((await blob.getProperties()).contentLength, result.bytes);
});

describe("registry authentication", () => {
  for (const mode of ["basic", "bearer"] as const) {
    test(`${mode} auth works and the password appears in no output, log or blob`, async () => {
      const secured = await startRegistry({ auth: mode });
      try {
        const pushed = await pushImage(secured.host, "private/app:1", smallImage(mode), {
          username: secured.username!,
          password: secured.password!,
        });
        const denied = await runWorker(
          storageEnv({
            ARCHIVE_REQUEST: JSON.stringify({ image: `${secured.host}/private/app:1`, blobContainer: "auth" }),
          }),
        );
        assert.equal(denied.code, 1);
        assert.match(denied.stderr.trim(), /^acr-cold-archive worker: REGISTRY_AUTH_FAILED: [^\n]+$/);
        const run = await runWorker(
          storageEnv({
            ARCHIVE_REQUEST: JSON.stringify({
              image: `${secured.host}/private/app:1`,
              blobContainer: "auth",
              runId: `auth-${mode}`,
            }),
            ACR_USERNAME: secured.username!,
            ACR_PASSWORD: secured.password!,
            ACR_LOGIN_SERVER: secured.host,
          }),
        );
        assert.equal(run.code, 0, run.stderr);
        const result = JSON.parse(run.stdout);
        assert.equal(result.digest, pushed.digest);
        if (mode === "bearer")
          assert.ok(
            secured.tokenRequests.some((r) => r === "GET basic=true"),
            "the bearer challenge was answered by the token server",
          );
        assert.ok(
          !run.stdout.includes(secured.password!) &&
            !run.stderr.includes(secured.password!) &&
            !denied.stderr.includes(secured.password!),
        );
        const container = blobService.getContainerClient("auth");
        let checked = 0;
        for await (const item of container.listBlobsFlat({ includeMetadata: true })) {
          assert.ok(!JSON.stringify(item.metadata ?? {}).includes(secured.password!), `metadata of ${item.name}`);
          if (item.properties.accessTier === "Archive") continue; // unreadable until rehydrated; metadata checked above
          const text = (await container.getBlockBlobClient(item.name).downloadToBuffer()).toString("latin1");
          assert.ok(!text.includes(secured.password!), `content of ${item.name}`);
          checked++;
        }
        assert.ok(checked >= 2, "the sidecar and the result blob were read");
        const restored = await restoreArchive(azurite.connectionString, "auth", result.archiveBlob);
        try {
          const zipped = await readFile(restored.path);
          assert.ok(!zipped.includes(Buffer.from(secured.password!)));
        } finally {
          await removeDir(restored.dir);
        }
      } finally {
        await secured.stop();
      }
    });
  }
});

describe("bad input exits non-zero with one line", () => {
  test("the CLI rejects a bad reference", async () => {
    for (const ref of [
      "not-a-reference",
      "127.0.0.1:5000/UPPER/case:1",
      "127.0.0.1:5000/app:bad tag",
      "127.0.0.1:5000/app@sha256:xyz",
    ]) {
      const run = await runCli(["archive", ref, "--json"], storageEnv());
      assert.equal(run.code, 2, `${ref}: ${run.stderr}`);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^acr-cold-archive: [^\n]*invalid image reference[^\n]*\n$/);
    }
  });

  test("the worker rejects a bad request and missing storage", async () => {
    const bad = await runWorker(
      storageEnv({ ARCHIVE_REQUEST: JSON.stringify({ image: "x", blobContainer: "Bad_Name" }) }),
    );
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^acr-cold-archive worker: CONFIG_INVALID: invalid ARCHIVE_REQUEST: image: [^\n]+; blobContainer: must be a blob container name[^\n]*\n$/,
    );
    const notJson = await runWorker(storageEnv({ ARCHIVE_REQUEST: "{nope" }));
    assert.match(notJson.stderr, /^acr-cold-archive worker: CONFIG_INVALID: ARCHIVE_REQUEST is not JSON\n$/);
    const noStorage = await runWorker({ ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/fx/oci:1.0` }) });
    assert.equal(noStorage.code, 1);
    assert.match(noStorage.stderr, /^acr-cold-archive worker: CONFIG_INVALID: no storage configured[^\n]*\n$/);
  });

  test("an unreachable registry and an unknown tag fail with one line", async () => {
    const port = await freePort();
    const unreachable = await runCli(["archive", `127.0.0.1:${port}/app:1`], storageEnv());
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(`^acr-cold-archive: REGISTRY_UNREACHABLE: cannot reach 127\\.0\\.0\\.1:${port}: ECONNREFUSED\\n$`),
    );
    const unknown = await runCli(["archive", `${registry.host}/fx/oci:no-such-tag`, "--json"], storageEnv());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^acr-cold-archive: REGISTRY_NOT_FOUND: [^\n]*no-such-tag[^\n]*\n$/);
  });

  test("the CLI prints one JSON result with --json", async () => {
    const run = await runCli(["archive", `${registry.host}/fx/oci:1.0`, "--json"], storageEnv());
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const result = JSON.parse(lines[0]!);
    assert.equal(result.status, "already-archived");
    for (const key of ["archiveBlob", "sidecarBlob", "digest", "bytes", "sha256"])
      assert.ok(result[key] !== undefined, key);
  });
});

/** What a restore by `repository:tag` resolves to (a restore run's listing over the container, dry run). */
async function restoreByTagResolves(repository: string, tag: string): Promise<string | undefined> {
  const { resolveRestoreImages } = await import("../../src/runs/resolveRestoreImages.js");
  const container = blobService.getContainerClient("images");
  const runId = `restore-cli-${Math.random().toString(16).slice(2, 10)}`;
  await resolveRestoreImages(
    {
      run: {
        kind: "restore",
        runId,
        registry: registry.host,
        container: "images",
        dryRun: true,
        maxParallel: 1,
        maxAttempts: 1,
        jobTimeoutMinutes: 60,
        pollMaxIntervalSeconds: 60,
        batchSize: 10,
        requestedAtUtc: "2026-12-01T21:00:00.000Z",
        selection: { images: [{ repository, tag }] },
        target: { registry: second.host },
        rehydratePriority: "Standard",
        rehydrationTimeoutMinutes: 60,
        rehydrationPollMaxSeconds: 60,
      },
    },
    { container },
  );
  const listing = JSON.parse(
    (await container.getBlockBlobClient(`runs/${runId}/listing.json`).downloadToBuffer()).toString(),
  ) as { digest: string; problem?: unknown }[];
  assert.equal(listing.length, 1);
  return listing[0]!.problem ? undefined : listing[0]!.digest;
}

test("the CLI records a new tag of an archived digest, or one rolled back onto it, and says so (guards issue 21.11)", async () => {
  const cli = async (ref: string) => {
    const run = await runCli(["archive", `${registry.host}/${ref}`, "--json"], storageEnv());
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as { status: string; digest: string; tagsRecorded?: string[] };
  };
  const a = await pushImage(registry.host, "clitags/app:tag1", smallImage("clitags-a"));
  const first = await cli("clitags/app:tag1");
  assert.equal(first.status, "archived");
  assert.deepEqual(first.tagsRecorded, ["tag1"]);
  await pushImage(registry.host, "clitags/app:tag2", smallImage("clitags-a"));
  const tag2 = await cli("clitags/app:tag2");
  assert.equal(tag2.status, "already-archived");
  assert.equal(tag2.digest, a.digest);
  assert.deepEqual(tag2.tagsRecorded, ["tag2"], "the new tag of the archived digest");
  assert.equal(await restoreByTagResolves("clitags/app", "tag2"), a.digest);
  assert.deepEqual((await cli("clitags/app:tag2")).tagsRecorded, [], "nothing new: nothing written");

  // tag2 moves to B, then back to A (a second apart: creation times alone would name B).
  await sleep(1100);
  const b = await pushImage(registry.host, "clitags/app:tag2", smallImage("clitags-b"));
  assert.deepEqual((await cli("clitags/app:tag2")).tagsRecorded, ["tag2"]);
  assert.equal(await restoreByTagResolves("clitags/app", "tag2"), b.digest);
  await sleep(1100);
  await pushImage(registry.host, "clitags/app:tag2", smallImage("clitags-a"));
  const back = await runCli(["archive", `${registry.host}/clitags/app:tag2`], storageEnv());
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /^already-archived: .*; tags recorded: tag2\n$/);
  assert.equal(await restoreByTagResolves("clitags/app", "tag2"), a.digest, "the digest tag2 was last seen on");
});

test(
  "a failing upload stops the archive stream with the upload's error (no hang waiting for the registry)",
  { timeout: 60_000 },
  async () => {
    const { RegistryClient } = await import("../../src/registry/registryClient.js");
    const { planImageArchive } = await import("../../src/archive/imagePlan.js");
    const { writeImageArchive } = await import("../../src/archive/archiveWriter.js");
    const { Writable } = await import("node:stream");
    await pushImage(registry.host, "sinkfail/app:1", {
      layers: [{ randomBytes: 16 * 1024 * 1024, compression: "gzip-stored" }],
    });
    const client = new RegistryClient(registry.host);
    const plan = await planImageArchive(client, "sinkfail/app", "1");
    // Fails at once, like a refused first stageBlock: the stream is destroyed while the producer is still reading
    // the registry, so its next write finds a dead stream (no drain, no new error event).
    const sink = new Writable({
      write(_chunk: Buffer, _encoding, callback) {
        callback(new Error("stageBlock refused: 503 ServerBusy"));
      },
    });
    await assert.rejects(
      writeImageArchive(client, plan, sink, { tags: ["1"], gzipLevel: 1 }),
      /stageBlock refused: 503 ServerBusy/,
    );
  },
);

test("an archive the old worker wrote under the same blobBaseName is a conflict, never overwritten", async () => {
  await pushImage(registry.host, "legacy/moved:1", smallImage("moved"));
  const container = blobService.getContainerClient("legacy");
  await container.createIfNotExists();
  const old = container.getBlockBlobClient("legacy--moved--1.tar.gz");
  await old.uploadData(Buffer.from("an archive of the old worker, no metadata"));
  const before = await old.getProperties();
  const run = await runWorker(
    storageEnv({
      ARCHIVE_REQUEST: JSON.stringify({
        image: `${registry.host}/legacy/moved:1`,
        blobContainer: "legacy",
        blobBaseName: "legacy--moved--1.tar.gz",
      }),
    }),
  );
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^acr-cold-archive worker: ARCHIVE_CONFLICT: legacy--moved--1\.tar\.gz already holds an archive of unknown digest \(not written by this tool\), not sha256:[a-f0-9]{64}; [^\n]+\n$/,
  );
  assert.equal((await old.getProperties()).etag, before.etag, "untouched");
  assert.equal(await blobExists("legacy--moved--1.tar.gz.json", "legacy"), false, "no sidecar claims the new digest");
});

test("a blobBaseName cannot reach run records, sidecars or the shell", async () => {
  for (const name of [
    "runs/x/summary.json",
    "a.json",
    "../up.tar.gz",
    "/abs.tar.gz",
    "x'$(id).tar.gz",
    "a//b.tar.gz",
  ]) {
    const run = await runWorker(
      storageEnv({
        ARCHIVE_REQUEST: JSON.stringify({
          image: `${registry.host}/fx/oci:1.0`,
          blobContainer: "images",
          blobBaseName: name,
        }),
      }),
    );
    assert.equal(run.code, 1, name);
    assert.match(
      run.stderr,
      /^acr-cold-archive worker: CONFIG_INVALID: invalid ARCHIVE_REQUEST: blobBaseName: [^\n]+\n$/,
      name,
    );
  }
});

async function readSidecar(
  name: string,
  container = "images",
): Promise<Record<string, unknown> & { platforms: { platform: string }[]; tags: string[] }> {
  return JSON.parse(
    (await blobService.getContainerClient(container).getBlockBlobClient(name).downloadToBuffer()).toString("utf8"),
  );
}

test("a sidecar lost after the commit is rebuilt from the archive: true platforms, the archive's tags, nothing else changed", async () => {
  const images = [
    {
      ref: "rebuild/arm:1",
      spec: { ...smallImage("rebuild-arm"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      platforms: ["linux/arm64/v8"],
    },
    {
      ref: "rebuild/multi:1",
      spec: [
        { ...smallImage("rebuild-amd64"), platform: { os: "linux", architecture: "amd64" } },
        { ...smallImage("rebuild-arm64"), platform: { os: "linux", architecture: "arm64" } },
      ],
      platforms: ["linux/amd64", "linux/arm64"],
    },
  ];
  for (const { ref, spec, platforms } of images) {
    await pushImage(registry.host, ref, spec);
    const first = await archive(`${registry.host}/${ref}`);
    assert.equal(first.status, "archived");
    const written = await readSidecar(first.sidecarBlob);
    assert.deepEqual(written.platforms.map((p) => p.platform).sort(), platforms, `${ref}: the writer's sidecar`);
    // A crash between the commit and the sidecar: the archive is there, its sidecar is not.
    await blobService.getContainerClient("images").getBlockBlobClient(first.sidecarBlob).delete();
    const request = { image: `${registry.host}/${ref}`, blobContainer: "images", tags: ["moved-here-later"] };
    const run = await runWorker(storageEnv({ ARCHIVE_REQUEST: JSON.stringify(request) }));
    assert.equal(run.code, 0, run.stderr);
    const again = JSON.parse(run.stdout);
    assert.equal(again.status, "already-archived");
    assert.equal(again.sha256, first.sha256);
    const rebuilt = await readSidecar(first.sidecarBlob);
    assert.deepEqual(
      rebuilt.platforms.map((p) => p.platform).sort(),
      platforms,
      `${ref}: the rebuilt sidecar has the true platforms`,
    );
    assert.deepEqual(rebuilt.tags, first.tags, "the tags of the archive's index.json, not of the re-run");
    const props = await blobService.getContainerClient("images").getBlockBlobClient(first.archiveBlob).getProperties();
    assert.equal(
      rebuilt.createdAtUtc,
      (props.createdOn ?? props.lastModified)!.toISOString(),
      "created when the archive was committed",
    );
    assert.deepEqual(
      { ...rebuilt, createdAtUtc: "" },
      { ...written, createdAtUtc: "" },
      `${ref}: the rebuild describes the same archive`,
    );
  }
});

test("a worker that loses the commit race keeps the winner's sidecar (sha256, tarSize, tags) and writes none of its own", async () => {
  const { archiveImage } = await import("../../src/archive/archiveImage.js");
  const { referenceArchiveRequestSchema } = await import("../../src/archive/archiveRequest.js");
  const { RegistryClient } = await import("../../src/registry/registryClient.js");
  await pushImage(registry.host, "race/app:1", smallImage("race"));
  const image = `${registry.host}/race/app:1`;
  const deps = { blobService, getRegistryClient: (host: string) => new RegistryClient(host) };
  const options = {
    tuning: {
      gzipLevel: 1,
      blockSizeBytes: 4 * 1024 * 1024,
      uploadConcurrency: 2,
      registryConcurrency: 4,
      prefetchBytes: 16 * 1024 * 1024,
    },
  };
  const container = blobService.getContainerClient("race");
  let winner: Awaited<ReturnType<typeof archiveImage>> | undefined;
  let winnerSidecar: { etag?: string; text: string } | undefined;
  // The loser has streamed and staged its blocks and is about to commit: the winner runs to the end first, so the
  // loser's commit finds the blob there (If-None-Match: * → 409). Deterministic: no timing involved.
  const loserService = commitHook(blobService, async (blobName) => {
    winner = await archiveImage(
      referenceArchiveRequestSchema.parse({ image, blobContainer: "race", tags: ["winner-extra"] }),
      deps,
      options,
    );
    assert.equal(blobName, winner.archiveBlob!);
    const sidecar = container.getBlockBlobClient(winner.sidecarBlob!);
    winnerSidecar = {
      etag: (await sidecar.getProperties()).etag,
      text: (await sidecar.downloadToBuffer()).toString("utf8"),
    };
  });
  const loserTags = Array.from({ length: 40 }, (_, i) => `loser-tag-${String(i).padStart(3, "0")}`);
  const loser = await archiveImage(
    referenceArchiveRequestSchema.parse({ image, blobContainer: "race", tags: loserTags }),
    { ...deps, blobService: loserService },
    options,
  );
  assert.ok(winner && winnerSidecar, "the winner ran inside the loser's commit");
  assert.equal(winner.status, "archived");
  assert.equal(loser.status, "already-archived");
  assert.equal(loser.sha256, winner.sha256, "the loser reports the committed archive");
  assert.equal(loser.bytes, winner.bytes);
  const sidecarBlob = container.getBlockBlobClient(winner.sidecarBlob!);
  assert.equal((await sidecarBlob.getProperties()).etag, winnerSidecar.etag, "the winner's sidecar was not rewritten");
  const sidecar = await readSidecar(winner.sidecarBlob!, "race");
  assert.equal(JSON.stringify(sidecar), JSON.stringify(JSON.parse(winnerSidecar.text)));
  const metadata = (await container.getBlockBlobClient(winner.archiveBlob!).getProperties()).metadata ?? {};
  assert.deepEqual(sidecar.tags, ["1", "winner-extra"]);
  assert.deepEqual(sidecar.archive, { sha256: winner.sha256, size: winner.bytes, tarSize: Number(metadata.tarsize) });
});

test("a worker that dies between the commit and Archive tier leaves an archive the next attempt finishes: verified then if it was not, moved to Archive tier, the verification in its sidecar (guards issue 23.1)", async () => {
  const { archiveImage } = await import("../../src/archive/archiveImage.js");
  const { RegistryClient } = await import("../../src/registry/registryClient.js");
  const deps = { blobService, getRegistryClient: (host: string) => new RegistryClient(host) };
  const options = {
    tuning: {
      gzipLevel: 1,
      blockSizeBytes: 4 * 1024 * 1024,
      uploadConcurrency: 2,
      registryConcurrency: 4,
      prefetchBytes: 16 * 1024 * 1024,
    },
  };
  const container = blobService.getContainerClient("crash");
  const dies = (method: "setMetadata" | "setAccessTier") =>
    blockBlobHook(blobService, method, async () => {
      throw new Error("the worker died here");
    });
  const sidecarOf = async (archiveBlob: string) =>
    JSON.parse((await container.getBlockBlobClient(`${archiveBlob}.json`).downloadToBuffer()).toString("utf8")) as {
      verification?: { method: string; verifiedAtUtc: string };
    };
  for (const [tag, method] of [
    ["1", "setMetadata"],
    ["2", "setAccessTier"],
  ] as const) {
    await pushImage(registry.host, `crash/app:${tag}`, smallImage(`crash-${tag}`));
    const { referenceArchiveRequestSchema } = await import("../../src/archive/archiveRequest.js");
    const request = referenceArchiveRequestSchema.parse({
      image: `${registry.host}/crash/app:${tag}`,
      blobContainer: "crash",
    });
    await assert.rejects(archiveImage(request, { ...deps, blobService: dies(method) }, options), /died here/);
    const archives: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: `${registry.host}/crash/app@` }))
      archives.push(item.name);
    const archiveBlob = archives.find((n) => n.endsWith(".tar.gz") && !archives.includes(`${n}.json`));
    assert.ok(archiveBlob, `${method}: the archive is there, its sidecar is not`);
    const left = await container.getBlockBlobClient(archiveBlob).getProperties();
    assert.equal(left.accessTier, "Hot", `${method}: still online`);
    // Before its verification was recorded: none; after: the first attempt's.
    const recorded = left.metadata?.verification && JSON.parse(left.metadata.verification);
    assert.equal(recorded !== undefined, method === "setAccessTier");

    const again = await archiveImage(request, deps, options);
    assert.equal(again.status, "already-archived");
    assert.equal(again.verified, true);
    assert.equal((await container.getBlockBlobClient(archiveBlob).getProperties()).accessTier, "Archive");
    const sidecar = await sidecarOf(archiveBlob);
    assert.equal(sidecar.verification?.method, "read-back-after-write");
    if (recorded) assert.equal(sidecar.verification?.verifiedAtUtc, recorded.verifiedAtUtc, "the first attempt's");
  }
});

/** A BlobServiceClient whose block blobs run `before` (once) ahead of their first commitBlockList. */
function commitHook(service: BlobServiceClient, before: (blobName: string) => Promise<void>): BlobServiceClient {
  return blockBlobHook(service, "commitBlockList", before);
}

/** A BlobServiceClient whose block blobs run `before` (once, for the first blob that calls it) ahead of `method`. */
function blockBlobHook(
  service: BlobServiceClient,
  method: "commitBlockList" | "setMetadata" | "setAccessTier",
  before: (blobName: string) => Promise<void>,
): BlobServiceClient {
  let fired = false;
  const bound = <T extends object>(target: T, override: (prop: string | symbol) => unknown) =>
    new Proxy(target, {
      get(t, prop) {
        const replaced = override(prop);
        if (replaced !== undefined) return replaced;
        const value = Reflect.get(t, prop, t) as unknown;
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
  return bound(service, (prop) => {
    if (prop !== "getContainerClient") return undefined;
    return (name: string) =>
      bound(service.getContainerClient(name), (p) => {
        if (p !== "getBlockBlobClient") return undefined;
        return (blobName: string) => {
          const blob = service.getContainerClient(name).getBlockBlobClient(blobName);
          return bound(blob, (q) => {
            if (q !== method) return undefined;
            return async (...args: unknown[]) => {
              if (!fired) {
                fired = true;
                await before(blobName);
              }
              return (blob[method] as (...a: unknown[]) => unknown)(...args);
            };
          });
        };
      });
  });
}
