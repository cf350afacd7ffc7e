// Restore straight from storage: rehydration by copy into a staging blob (the archive stays in Archive tier), a copy
// that stays pending for several polls (a loopback proxy of this test in front of Azurite answers with the headers
// Azure sends while it rehydrates), the worker's restore mode (RESTORE_REQUEST) into a second registry with the
// original digests, its own RESTORE_TARGET_REGISTRIES, a tampered archive (DIGEST_MISMATCH, no tag), and the CLI's
// `restore --from-blob … --wait`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import tar from "tar-stream";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { MediaTypes } from "../../src/registry/types.js";
import { readableBlobName, STAGING_CLAIMS_PREFIX, stagingBlobName } from "../../src/storage/blobNames.js";
import {
  deleteStagingCopy,
  getArchiveSetRehydrationState,
  getRehydrationState,
  releaseStagingCopies,
  startArchiveSetRehydration,
  startRehydration,
} from "../../src/storage/rehydration.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage, type ImageSpec } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { sha256Digest } from "../support/digests.js";
import { startRequestLog } from "../support/loopback.js";
import { startRehydrationProxy, type RehydrationProxy } from "../support/rehydrationProxy.js";
import { runCli, runWorker } from "../support/worker.js";

const execFileAsync = promisify(execFile);
let source: TestRegistry;
let target: TestRegistry;
let azurite: AzuriteInstance;
let container: ContainerClient;

before(async () => {
  [source, target, azurite] = await Promise.all([startRegistry(), startRegistry({ auth: "basic" }), startAzurite()]);
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
});
after(async () => {
  await Promise.all([source?.stop(), target?.stop(), azurite?.stop()]);
});

/** Pushes an image to the source registry and archives it with the worker; the archive blob's name and digest. */
async function archived(ref: string, spec: ImageSpec | ImageSpec[]): Promise<{ archiveBlob: string; digest: string }> {
  const pushed = await pushImage(source.host, ref, spec);
  const run = await runWorker({
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARCHIVE_REQUEST: JSON.stringify({ image: `${source.host}/${ref}`, blobContainer: "images" }),
  });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { archiveBlob: string; digest: string };
  assert.equal(result.digest, pushed.digest);
  return result;
}

const targetCredentials = () => ({
  ACR_LOGIN_SERVER: target.host,
  ACR_USERNAME: target.username!,
  ACR_PASSWORD: target.password!,
});

async function targetDigest(reference: string): Promise<string | undefined> {
  const { stdout } = await execFileAsync(
    "skopeo",
    [
      "inspect",
      "--raw",
      "--tls-verify=false",
      "--creds",
      `${target.username}:${target.password}`,
      `docker://${target.host}/${reference}`,
    ],
    { encoding: "buffer" },
  ).catch((error: { stderr?: Buffer }) => {
    if (/manifest unknown|not found/i.test(String(error.stderr))) return { stdout: undefined };
    throw error;
  });
  return stdout ? sha256Digest(stdout) : undefined;
}

async function tier(blob: string): Promise<string | undefined> {
  return (await container.getBlobClient(blob).getProperties()).accessTier;
}

describe("rehydration by copy", () => {
  test("copies into staging/<archive> in Hot; the archive stays in Archive tier; a second call reuses the copy", async () => {
    const { archiveBlob } = await archived("rh/copy:1", smallImage("rh-copy"));
    assert.equal(await tier(archiveBlob), "Archive");
    const first = await startRehydration(container, archiveBlob, { priority: "High" });
    assert.equal(first.started, true);
    assert.equal(first.fromStaging, true);
    assert.equal(readableBlobName(archiveBlob, first), stagingBlobName(archiveBlob));
    assert.equal(readableBlobName(archiveBlob, first), `staging/${archiveBlob}`);
    assert.equal(first.phase, "ready", "Azurite rehydrates at once");
    assert.equal(await tier(readableBlobName(archiveBlob, first)), "Hot");
    assert.equal(await tier(archiveBlob), "Archive", "never re-tiered");
    const again = await startRehydration(container, archiveBlob, { priority: "High" });
    assert.equal(again.started, false, "the earlier copy is reused");
    assert.equal(again.phase, "ready");
    assert.equal(await deleteStagingCopy(container, archiveBlob), true);
    assert.equal(await container.getBlobClient(readableBlobName(archiveBlob, first)).exists(), false);
    assert.equal(await deleteStagingCopy(container, archiveBlob), false, "deleting it again is no error");
    assert.equal(await getRehydrationState(container, archiveBlob), undefined);
  });

  test("a staging blob that is not a copy of the archive is replaced", async () => {
    const { archiveBlob } = await archived("rh/foreign:1", smallImage("rh-foreign"));
    await container.getBlockBlobClient(stagingBlobName(archiveBlob)).uploadData(Buffer.from("not the archive"));
    const state = await startRehydration(container, archiveBlob);
    assert.equal(state.started, true);
    const props = await container.getBlobClient(readableBlobName(archiveBlob, state)).getProperties();
    assert.equal(props.contentLength, (await container.getBlobClient(archiveBlob).getProperties()).contentLength);
    await deleteStagingCopy(container, archiveBlob);
  });

  test("an archive that is not there is INVALID_ARGUMENT", async () => {
    const missing = `${source.host}/rh/none@sha256-${"0".repeat(64)}.tar.gz`;
    await assert.rejects(startRehydration(container, missing), /no archive/);
  });

  test("a copy pending for several polls (x-ms-copy-status / x-ms-archive-status) then ready", async () => {
    const { archiveBlob } = await archived("rh/pending:1", smallImage("rh-pending"));
    const proxy = await startRehydrationProxy(azurite, { pendingPolls: 3 });
    try {
      const through = BlobServiceClient.fromConnectionString(proxy.connectionString).getContainerClient("images");
      const first = await startRehydration(through, archiveBlob, { priority: "Standard" });
      assert.equal(first.phase, "rehydrating");
      assert.equal(first.copyStatus, "pending");
      assert.equal(first.archiveStatus, "rehydrate-pending-to-hot");
      const phases: string[] = [];
      for (let poll = 0; poll < 5; poll++) phases.push((await getRehydrationState(through, archiveBlob))!.phase);
      assert.deepEqual(phases, ["rehydrating", "rehydrating", "ready", "ready", "ready"]);
      await deleteStagingCopy(through, archiveBlob);
    } finally {
      await proxy.stop();
    }
  });
});

describe("restores sharing one staging copy", () => {
  const claims = async () => {
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: STAGING_CLAIMS_PREFIX })) names.push(blob.name);
    return names;
  };

  test("two claimants share one copy; it is deleted when the last one is done with it (guards issue 21.6)", async () => {
    const { archiveBlob } = await archived("share/two:1", smallImage("share-two"));
    const staging = container.getBlobClient(stagingBlobName(archiveBlob));
    const first = await startArchiveSetRehydration(container, archiveBlob, [], { claimant: "run-a" });
    const second = await startArchiveSetRehydration(container, archiveBlob, [], { claimant: "run-b" });
    assert.equal(first.started, true);
    assert.equal(second.started, false, "the second reads the first one's copy");
    assert.equal(
      await releaseStagingCopies(container, archiveBlob, [], { claimant: "run-a", deleteUnclaimed: true }),
      0,
    );
    assert.equal(await staging.exists(), true, "run-b still claims it");
    assert.equal(
      (await getArchiveSetRehydrationState(container, archiveBlob, [], { claimant: "run-b" }))?.phase,
      "ready",
    );
    assert.equal(
      await releaseStagingCopies(container, archiveBlob, [], { claimant: "run-b", deleteUnclaimed: true }),
      1,
    );
    assert.equal(await staging.exists(), false);
    assert.deepEqual(await claims(), []);
  });

  test("a claimant done after a failure keeps the copy for the next restore (guards issue 21.6)", async () => {
    const { archiveBlob } = await archived("share/kept:1", smallImage("share-kept"));
    await startArchiveSetRehydration(container, archiveBlob, [], { claimant: "run-a" });
    assert.equal(
      await releaseStagingCopies(container, archiveBlob, [], { claimant: "run-a", deleteUnclaimed: false }),
      0,
    );
    assert.equal(await container.getBlobClient(stagingBlobName(archiveBlob)).exists(), true);
    assert.deepEqual(await claims(), []);
    assert.equal((await startRehydration(container, archiveBlob)).started, false, "reused");
    await deleteStagingCopy(container, archiveBlob);
  });

  test("a delete decided before a claimant found the copy ready fails: the copy stays, readable (guards issue 21.6)", async () => {
    const { archiveBlob } = await archived("share/race:1", smallImage("share-race"));
    const staging = container.getBlobClient(stagingBlobName(archiveBlob));
    await startRehydration(container, archiveBlob);
    // A releaser read this ETag, then saw no claim; a claimant comes in between and finds the copy ready.
    const seen = (await staging.getProperties()).etag!;
    const state = await startArchiveSetRehydration(container, archiveBlob, [], { claimant: "run-late" });
    assert.equal(state.phase, "ready");
    assert.equal(await deleteStagingCopy(container, archiveBlob, { ifMatch: seen }), false);
    assert.equal(await staging.exists(), true);
    assert.equal((await getRehydrationState(container, archiveBlob))?.phase, "ready", "still this archive's copy");
    assert.equal(
      await releaseStagingCopies(container, archiveBlob, [], { claimant: "run-late", deleteUnclaimed: true }),
      1,
    );
  });
});

describe("the worker's restore mode (RESTORE_REQUEST)", () => {
  const cases: [string, string, ImageSpec | ImageSpec[]][] = [
    ["OCI manifest", "wr/oci:1", smallImage("wr-oci")],
    ["Docker schema 2 manifest", "wr/docker:1", { ...smallImage("wr-docker"), format: "docker" }],
    [
      "OCI multi-arch index",
      "wr/multi:1",
      [
        { ...smallImage("wr-a"), platform: { os: "linux", architecture: "amd64" } },
        { ...smallImage("wr-b"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      ],
    ],
    [
      "Docker manifest list",
      "wr/list:1",
      [
        { ...smallImage("wr-c"), format: "docker", platform: { os: "linux", architecture: "amd64" } },
        { ...smallImage("wr-d"), format: "docker", platform: { os: "linux", architecture: "arm", variant: "v7" } },
      ],
    ],
  ];
  for (const [name, ref, spec] of cases) {
    test(`${name}: pushed from the staging copy with the original digest`, async () => {
      const { archiveBlob, digest } = await archived(ref, spec);
      const state = await startRehydration(container, archiveBlob);
      const repository = `restored/${ref.split(":")[0]}`;
      const run = await runWorker({
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        RESTORE_TARGET_REGISTRIES: target.host,
        ...targetCredentials(),
        RESTORE_REQUEST: JSON.stringify({
          archiveBlob,
          fromStaging: state.fromStaging,
          blobContainer: "images",
          target: { registry: target.host, repository },
          runId: "restore-test-run",
          attemptId: "1",
        }),
      });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.equal(result.status, "restored");
      assert.equal(result.digest, digest);
      assert.deepEqual(result.tags, ["1"]);
      assert.equal(await targetDigest(`${repository}:1`), digest, "skopeo sees the original digest");
      await deleteStagingCopy(container, archiveBlob);
    });
  }

  test("a target outside its own RESTORE_TARGET_REGISTRIES is refused before anything is pushed", async () => {
    const { archiveBlob, digest } = await archived("wr/scope:1", smallImage("wr-scope"));
    const request = {
      archiveBlob,
      fromStaging: false,
      blobContainer: "images",
      target: { registry: target.host, repository: "restored/wr/scope" },
    };
    const outside = await runWorker({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      RESTORE_TARGET_REGISTRIES: "restore.example.com",
      ...targetCredentials(),
      RESTORE_REQUEST: JSON.stringify(request),
    });
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /INVALID_ARGUMENT: registry: 127\.0\.0\.1:\d+ is not in RESTORE_TARGET_REGISTRIES/);
    const unset = await runWorker({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ...targetCredentials(),
      RESTORE_REQUEST: JSON.stringify(request),
    });
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /CONFIG_INVALID: RESTORE_TARGET_REGISTRIES: is required for a restore/);
    const otherBlob = await runWorker({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      RESTORE_TARGET_REGISTRIES: target.host,
      ...targetCredentials(),
      RESTORE_REQUEST: JSON.stringify({ ...request, readableBlob: "runs/x/summary.json", expectedDigest: digest }),
    });
    assert.equal(otherBlob.code, 1);
    // The blob it reads is derived from the archive's name, never named: a request naming one is refused.
    assert.match(otherBlob.stderr, /readableBlob, expectedDigest: unknown field/);
    assert.equal(await targetDigest("restored/wr/scope:1"), undefined, "nothing was pushed");
  });

  test("the worker paces its requests to the target, reads and writes, at its REGISTRY_READS_PER_MINUTE (guards issue 21.10)", async () => {
    const { archiveBlob } = await archived("wr/paced:1", smallImage("wr-paced"));
    const state = await startRehydration(container, archiveBlob);
    // Back into the source registry (a restore after a purge), every request of the worker's seen at its front door.
    const door = await startRequestLog(source.host);
    try {
      const run = await runWorker({
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        RESTORE_TARGET_REGISTRIES: door.host,
        // The share the app gives each of 10 executions of 1,200 a minute: 2 a second, a burst of 2.
        REGISTRY_READS_PER_MINUTE: "120",
        RESTORE_REQUEST: JSON.stringify({
          archiveBlob,
          fromStaging: state.fromStaging,
          blobContainer: "images",
          target: { registry: door.host, repository: "paced/wr/paced", tags: ["1"] },
        }),
      });
      assert.equal(run.code, 0, run.stderr);
      const writes = door.requests.filter((r) => /^(POST|PATCH|PUT) /.test(r));
      assert.ok(writes.length >= 3, `uploads and manifest pushes went through the door: ${door.requests.join(", ")}`);
      // A token bucket of 2 a second holding 2: the n-th request goes (n - 2) / 2 s after the first at the soonest
      // (unpaced, the whole restore takes a fraction of a second); a fifth off for a slow first arrival.
      const n = door.arrivals.length;
      const spanSeconds = (door.arrivals[n - 1]! - door.arrivals[0]!) / 1000;
      assert.ok(n >= 10, `requests: ${door.requests.join(", ")}`);
      assert.ok(spanSeconds >= 0.8 * ((n - 2) / 2), `${n} requests in ${spanSeconds.toFixed(2)} s: not paced`);
    } finally {
      await door.close();
      await deleteStagingCopy(container, archiveBlob);
    }
  });

  test("a tampered archive (its sha256 is not the sidecar's) fails with DIGEST_MISMATCH and writes no tag", async () => {
    const { archiveBlob, digest } = await archived("wr/tampered:1", {
      layers: [{ files: { "data.txt": "tampered? ".repeat(5000) }, compression: "none" }],
    });
    const state = await startRehydration(container, archiveBlob);
    // The same tar, gzipped again at another level: every blob still hashes to its digest, the file does not.
    const staging = container.getBlockBlobClient(readableBlobName(archiveBlob, state));
    const tar = zlib.gunzipSync(await staging.downloadToBuffer());
    await staging.uploadData(zlib.gzipSync(tar, { level: 9 }));
    const run = await runWorker({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      RESTORE_TARGET_REGISTRIES: target.host,
      ...targetCredentials(),
      RESTORE_REQUEST: JSON.stringify({
        archiveBlob,
        fromStaging: state.fromStaging,
        blobContainer: "images",
        target: { registry: target.host, repository: "restored/wr/tampered" },
      }),
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /DIGEST_MISMATCH: .* hashes to sha256 [a-f0-9]{64}, its sidecar says [a-f0-9]{64}/);
    assert.equal(await targetDigest("restored/wr/tampered:1"), undefined, "no tag was written");
    const client = new RegistryClient(target.host, {
      credential: { kind: "password", username: target.username!, password: target.password! },
    });
    assert.equal(await client.getManifestDigest("restored/wr/tampered", digest), undefined, "nor the manifest");
    await deleteStagingCopy(container, archiveBlob);
  });

  test("a crafted archive of JSON blobs that may be manifests fails at the worker's RESTORE_MAX_HELD_MIB before anything is pushed (guards issue 21.2)", async () => {
    const { archiveBlob, digest } = await archived("wr/held:1", smallImage("wr-held"));
    const state = await startRehydration(container, archiveBlob);
    // Its staging copy replaced by a crafted one: index.json naming the image, then twelve 1 MiB JSON blobs with
    // schemaVersion 2 that nothing references (a restore holds those until the graph says what they are).
    const MiB = 1024 * 1024;
    const lookalikes = Array.from({ length: 12 }, (_, n) => {
      const head = `{"schemaVersion":2,"n":${n},"pad":"`;
      return Buffer.from(`${head}${" ".repeat(MiB - head.length - 2)}"}`);
    });
    const pack = tar.pack();
    const index = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        {
          mediaType: MediaTypes.ociManifest,
          digest,
          size: 1000,
          annotations: { "org.opencontainers.image.ref.name": "1" },
        },
      ],
    };
    pack.entry({ name: "index.json" }, JSON.stringify(index));
    for (const blob of lookalikes) pack.entry({ name: `blobs/sha256/${sha256Digest(blob).slice(7)}` }, blob);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const crafted = zlib.gzipSync(Buffer.concat(chunks));
    assert.ok(crafted.length < MiB, `the crafted archive is small: ${crafted.length} bytes`);
    await container.getBlockBlobClient(readableBlobName(archiveBlob, state)).uploadData(crafted);

    const repository = "restored/wr/held";
    const run = await runWorker({
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      RESTORE_TARGET_REGISTRIES: target.host,
      RESTORE_MAX_HELD_MIB: "8",
      ...targetCredentials(),
      RESTORE_REQUEST: JSON.stringify({
        archiveBlob,
        fromStaging: state.fromStaging,
        blobContainer: "images",
        target: { registry: target.host, repository },
      }),
    });
    assert.equal(run.code, 1, run.stdout);
    // It fails at the ninth: what it held never passed the bound.
    const ninth = `blobs/sha256/${sha256Digest(lookalikes[8]!).slice(7)}`;
    assert.equal(
      run.stderr,
      `acr-cold-archive worker: ARCHIVE_INVALID: ${archiveBlob}: ${ninth} (1.0 MiB) would take the manifests and unclassified JSON blobs this restore holds in memory past 8.0 MiB (RESTORE_MAX_HELD_MIB; it holds 8.0 MiB in 8)\n`,
    );
    assert.equal(await targetDigest(`${repository}:1`), undefined, "no tag");
    const client = new RegistryClient(target.host, {
      credential: { kind: "password", username: target.username!, password: target.password! },
    });
    assert.equal(await client.getManifestDigest(repository, digest), undefined, "no manifest");
    for (const blob of lookalikes)
      assert.equal(await client.blobExists(repository, sha256Digest(blob)), false, "no blob either");
    await deleteStagingCopy(container, archiveBlob);
  });
});

describe("acr-cold-archive restore --from-blob", () => {
  let proxy: RehydrationProxy;
  before(async () => {
    proxy = await startRehydrationProxy(azurite, { pendingPolls: 3 });
  });
  after(async () => proxy?.stop());

  test("without --wait it starts the copy and exits 3; with --wait it waits, restores and deletes the staging copy", async () => {
    const { archiveBlob, digest } = await archived("cli/blob:1", smallImage("cli-blob"));
    const env = { AZURE_STORAGE_CONNECTION_STRING: proxy.connectionString, ...targetCredentials() };
    const destination = `${target.host}/restored/cli/blob:moved`;
    const started = await runCli(["restore", "--from-blob", archiveBlob, destination, "--priority", "High"], env);
    assert.equal(started.code, 3, started.stderr);
    assert.match(
      started.stdout,
      /rehydrating .* \(High, [\d.]+ MiB\): copy pending, rehydrate-pending-to-hot.*copy started/,
    );
    const waited = await runCli(
      ["restore", "--from-blob", archiveBlob, destination, "--wait", "--poll-seconds", "1", "--json"],
      env,
    );
    assert.equal(waited.code, 0, waited.stderr);
    const progressLines = waited.stderr.split("\n").filter((l) => l.startsWith("rehydrating "));
    assert.ok(progressLines.length >= 2, `a progress line per poll while pending:\n${waited.stderr}`);
    const result = JSON.parse(waited.stdout);
    assert.equal(result.status, "restored");
    assert.deepEqual(result.tags, ["moved"]);
    assert.equal(await targetDigest("restored/cli/blob:moved"), digest);
    assert.equal(await container.getBlobClient(stagingBlobName(archiveBlob)).exists(), false, "staging deleted");
    for await (const claim of container.listBlobsFlat({ prefix: STAGING_CLAIMS_PREFIX }))
      assert.ok(!claim.name.includes(archiveBlob), `the CLI's claim is gone: ${claim.name}`);
    assert.equal(await tier(archiveBlob), "Archive");
  });

  test("bad usage exits 2 with one line", async () => {
    const bad = await runCli(["restore", "--from-blob", "not-an-archive", `${target.host}/x`], {});
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^acr-cold-archive: --from-blob: "not-an-archive" is not an archive blob name/);
    const priority = await runCli(
      [
        "restore",
        "--from-blob",
        `${source.host}/a@sha256-${"1".repeat(64)}.tar.gz`,
        `${target.host}/x`,
        "--priority",
        "Fast",
      ],
      {},
    );
    assert.equal(priority.code, 2);
    assert.match(priority.stderr, /--priority must be Standard or High/);
  });
});
