// The restore run over HTTP: the app's real registrations in the local Functions host, real registries (the source,
// and a second one with basic auth as the target), real Azurite behind a loopback proxy of this test that reports every
// staging copy as pending (x-ms-copy-status / x-ms-archive-status, as Azure does while it rehydrates) for its first
// polls, and real worker processes (JOB_RUNNER=local). Durable timers run 50× faster (--time-scale 0.02).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { RegistryClient } from "../../src/registry/registryClient.js";
import {
  archiveBlobName,
  STAGING_CLAIMS_PREFIX,
  STAGING_PREFIX,
  stagingBlobName,
  stagingClaimBlobName,
} from "../../src/storage/blobNames.js";
import { deleteStagingCopy, startArchiveSetRehydration, startRehydration } from "../../src/storage/rehydration.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage, type ImageSpec } from "../../tools/localenv/fixtures.js";
import { startFunctionsHost, waitForRun, type LocalFunctionsHost } from "../../tools/localenv/functionsHost.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { SAMPLE_IMAGES } from "../../tools/localenv/samples.js";
import { startRehydrationProxy, type RehydrationProxy } from "../support/rehydrationProxy.js";
import { removeDir, restoreArchive } from "../support/verify.js";

const PENDING_POLLS = 3;
let source: TestRegistry;
let target: TestRegistry; // basic auth: its password is in the host's settings and must appear nowhere else
let target2: TestRegistry; // a second target, anonymous: two restores of one archive at once, one per target
let azurite: AzuriteInstance;
let proxy: RehydrationProxy;
let host: LocalFunctionsHost;
let container: ContainerClient;
let targetClient: RegistryClient;

interface RestoreSummary {
  kind: string;
  runId: string;
  registry: string;
  target: { registry: string; repositoryPrefix?: string };
  rehydratePriority: string;
  totals: {
    total: number;
    restored: number;
    alreadyPresent: number;
    failed: number;
    bytes: number;
    jobExecutions: number;
  };
  images: {
    repository: string;
    digest: string;
    tags: string[];
    status: string;
    target: string;
    archiveBlob: string;
    priority: string;
    bytes?: number;
    attempts: number;
    waitedSeconds?: number;
    error?: { code: string; message: string };
  }[];
}

const MANIFEST_LIST: ImageSpec[] = [
  { ...smallImage("list-amd64"), format: "docker", platform: { os: "linux", architecture: "amd64" } },
  { ...smallImage("list-arm"), format: "docker", platform: { os: "linux", architecture: "arm", variant: "v7" } },
];

before(async () => {
  [source, target, target2, azurite] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: "basic" }),
    startRegistry(),
    startAzurite(),
  ]);
  proxy = await startRehydrationProxy(azurite, { pendingPolls: PENDING_POLLS });
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  targetClient = new RegistryClient(target.host, {
    credential: { kind: "password", username: target.username!, password: target.password! },
  });
  host = await startFunctionsHost({
    timeScale: 0.02,
    env: {
      AZURE_STORAGE_CONNECTION_STRING: proxy.connectionString,
      JOB_RUNNER: "local",
      ARCHIVE_CONTAINER: "images",
      TASKHUB_NAME: "restorehub",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      ALLOWED_REGISTRIES: source.host,
      RESTORE_TARGET_REGISTRIES: `${target.host},${target2.host}`,
      // 10 s of durable time between polls (0.2 s here): the copies pending for 3 polls stay visible as "rehydrating"
      // for a while in the progress the test samples, even on a loaded machine (1 s, 20 ms here, was missed once).
      REHYDRATION_POLL_MAX_SECONDS: "10",
      // 1 min of durable time (1.2 s here) for a Standard-priority copy: the never-ending copy below times out.
      REHYDRATION_TIMEOUT_MINUTES_STANDARD: "1",
      MAX_ATTEMPTS: "2",
      // The staging sweep's limit: a copy not written for a minute (real time: blob times) is old.
      STAGING_MAX_AGE_MINUTES: "1",
      DEFAULT_MAX_PARALLEL: "3",
      ACR_USERNAME: target.username!,
      ACR_PASSWORD: target.password!,
      ACR_LOGIN_SERVER: target.host,
    },
  });
});
after(async () => {
  await host?.stop();
  await proxy?.stop();
  await Promise.all([source?.stop(), target?.stop(), target2?.stop(), azurite?.stop()]);
});

async function post(route: "archive" | "restore", body: unknown): Promise<Response> {
  return host.request(`/api/${route}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

async function archiveRun(): Promise<string> {
  const response = await post("archive", { registry: source.host });
  const payload = (await response.json()) as { id: string };
  assert.equal(response.status, 202, JSON.stringify(payload));
  const status = await waitForRun(host, payload.id);
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  return payload.id;
}

async function startRestore(body: unknown): Promise<string> {
  const response = await post("restore", body);
  const payload = (await response.json()) as { id: string; statusUrl: string };
  assert.equal(response.status, 202, JSON.stringify(payload));
  assert.equal(response.headers.get("location"), payload.statusUrl);
  assert.match(payload.statusUrl, /\/api\/restore\/restore-/);
  return payload.id;
}

async function restoreRun(body: unknown): Promise<{ summary: RestoreSummary; statuses: Record<string, unknown>[] }> {
  const id = await startRestore(body);
  const statuses: Record<string, unknown>[] = [];
  const status = await waitForRun(host, id, { kind: "restore", onProgress: (s) => statuses.push(s) });
  assert.equal(status.runtimeStatus, "Completed", `${JSON.stringify(status)}\n${host.output().slice(-3000)}`);
  const blob = container.getBlockBlobClient(String(status.summaryBlob));
  return { summary: JSON.parse((await blob.downloadToBuffer()).toString()) as RestoreSummary, statuses };
}

async function runtimeStatus(id: string): Promise<string | undefined> {
  const response = await host.request(`/api/restore/${encodeURIComponent(id)}`);
  if (response.status !== 200) {
    await response.body?.cancel();
    return undefined;
  }
  return String(((await response.json()) as { runtimeStatus?: string }).runtimeStatus);
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutInMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${host.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fires the staging sweep's timer (as the Functions host's admin API does) and waits for the line it logs. */
async function runStagingSweep(): Promise<string> {
  const lines = () => host.output().match(/staging sweep: .*/g) ?? [];
  const before = lines().length;
  const response = await host.request("/admin/functions/sweepStagingCopies", {
    method: "POST",
    body: JSON.stringify({ input: "" }),
    headers: { "content-type": "application/json" },
  });
  await response.body?.cancel();
  assert.equal(response.status, 202);
  await until(() => lines().length > before, "the staging sweep");
  return lines()[before]!;
}

/** An archive in Archive tier that no restore reads (a few bytes: a staging copy of it is all a sweep test needs). */
async function fakeArchive(repository: string): Promise<string> {
  const digest = `sha256:${createHash("sha256").update(repository).digest("hex")}`;
  const archive = archiveBlobName({ registry: source.host, repository, digest });
  await container.getBlockBlobClient(archive).uploadData(Buffer.from(repository), { tier: "Archive" });
  return archive;
}

async function stagingBlobs(prefix = STAGING_PREFIX): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

describe("a restore run over HTTP", () => {
  const pushed = new Map<string, string>(); // repository:tag → digest
  let archiveRunId = "";

  before(async () => {
    for (const sample of SAMPLE_IMAGES)
      pushed.set(sample.repositoryAndTag, (await pushImage(source.host, sample.repositoryAndTag, sample.image)).digest);
    pushed.set("samples/list:1", (await pushImage(source.host, "samples/list:1", MANIFEST_LIST)).digest);
    archiveRunId = await archiveRun();
  });

  test("into a second registry: every manifest and index digest identical; rehydration pending for several polls", async () => {
    const { summary, statuses } = await restoreRun({
      registry: source.host,
      repositories: ["samples/**", "team/**"],
      target: { registry: target.host },
      rehydratePriority: "High",
    });
    assert.equal(summary.kind, "restore");
    assert.equal(summary.rehydratePriority, "High");
    const digests = new Set(pushed.values());
    assert.equal(summary.totals.total, digests.size, JSON.stringify(summary.images, null, 1));
    assert.equal(summary.totals.restored, digests.size, JSON.stringify(summary.images, null, 1));
    assert.equal(summary.totals.jobExecutions, digests.size);
    for (const [ref, digest] of pushed) {
      const [repository, tag] = ref.split(":") as [string, string];
      assert.equal(await targetClient.getManifestDigest(repository, tag), digest, `${ref} in the target`);
    }
    for (const image of summary.images) {
      assert.equal(image.status, "restored");
      assert.equal(image.target, `${target.host}/${image.repository}`);
      assert.equal(image.priority, "High");
      assert.equal(image.archiveBlob, archiveBlobName({ registry: source.host, ...image }));
      assert.ok((image.waitedSeconds ?? 0) > 0, `waited for the rehydration: ${JSON.stringify(image)}`);
      const stagingPath = `/devstoreaccount1/images/${STAGING_PREFIX}${image.archiveBlob}`;
      assert.equal(
        proxy.pendingAnswers.get(stagingPath),
        PENDING_POLLS,
        `${image.repository}: pending ${PENDING_POLLS} polls`,
      );
      const props = await container.getBlobClient(image.archiveBlob).getProperties();
      assert.equal(props.accessTier, "Archive", "the archive itself is never re-tiered");
    }
    assert.deepEqual(await stagingBlobs(), [], "every staging copy deleted");
    const seen = statuses.map((s) => s.progress as Record<string, number>);
    assert.ok(
      seen.some((p) => p.rehydrating > 0),
      "progress shows images waiting for rehydration",
    );
    const last = seen.at(-1)!;
    assert.equal(last.restored, digests.size);
  });

  test("a run over images the target already has starts zero jobs and rehydrates nothing", async () => {
    const pendingBefore = proxy.pendingAnswers.size;
    const { summary } = await restoreRun({
      registry: source.host,
      repositories: ["samples/**"],
      target: { registry: target.host },
    });
    assert.ok(summary.totals.total > 0);
    assert.equal(summary.totals.alreadyPresent, summary.totals.total, JSON.stringify(summary.images));
    assert.equal(summary.totals.jobExecutions, 0);
    assert.equal(proxy.pendingAnswers.size, pendingBefore, "no staging copy was made");
    assert.deepEqual(await stagingBlobs(), []);
  });

  test("by runId: everything one archive run archived, under a repository prefix", async () => {
    const { summary } = await restoreRun({
      registry: source.host,
      runId: archiveRunId,
      target: { registry: target.host, repositoryPrefix: "byrun" },
    });
    assert.equal(summary.totals.restored, new Set(pushed.values()).size, JSON.stringify(summary.images));
    for (const [ref, digest] of pushed) {
      const [repository, tag] = ref.split(":") as [string, string];
      assert.equal(await targetClient.getManifestDigest(`byrun/${repository}`, tag), digest, ref);
    }
  });

  test("by tag after the tag moved: the digest it had when last archived", async () => {
    const first = await pushImage(source.host, "moved/app:1", smallImage("moved-first"));
    await archiveRun();
    const second = await pushImage(source.host, "moved/app:1", smallImage("moved-second"));
    await archiveRun();
    assert.notEqual(first.digest, second.digest);
    const { summary } = await restoreRun({
      registry: source.host,
      images: ["moved/app:1", `moved/app@${first.digest}`],
      target: { registry: target.host, repositoryPrefix: "tagged/" },
    });
    assert.equal(summary.totals.restored, 2, JSON.stringify(summary.images));
    assert.equal(await targetClient.getManifestDigest("tagged/moved/app", "1"), second.digest, "the newest marker");
    assert.equal(await targetClient.getManifestDigest("tagged/moved/app", first.digest), first.digest);
  });

  test("a target with the digest but not the tag, or the tag on another image, is restored, not already-present (guards issue 21.4)", async () => {
    const { digest } = await pushImage(source.host, "retag/app:1", smallImage("retag"));
    await archiveRun();
    const into = { registry: target.host, repositoryPrefix: "retag/" };
    // By digest first: the target has the image, untagged (as after `az acr repository untag`).
    const byDigest = await restoreRun({ registry: source.host, images: [`retag/app@${digest}`], target: into });
    assert.equal(byDigest.summary.images[0]?.status, "restored", JSON.stringify(byDigest.summary.images));
    assert.equal(await targetClient.getManifestDigest("retag/retag/app", "1"), undefined, "no tag yet");
    const tagMissing = await restoreRun({ registry: source.host, images: ["retag/app:1"], target: into });
    assert.equal(tagMissing.summary.images[0]?.status, "restored", JSON.stringify(tagMissing.summary.images));
    assert.equal(await targetClient.getManifestDigest("retag/retag/app", "1"), digest, "the tag pushed");

    // The tag now names another image in the target; the archived image is still there by digest.
    const other = await pushImage(target.host, "retag/retag/app:1", smallImage("retag-other"), {
      username: target.username!,
      password: target.password!,
    });
    assert.notEqual(other.digest, digest);
    const tagMoved = await restoreRun({ registry: source.host, images: ["retag/app:1"], target: into });
    assert.equal(tagMoved.summary.images[0]?.status, "restored", JSON.stringify(tagMoved.summary.images));
    assert.equal(tagMoved.summary.totals.jobExecutions, 1);
    assert.equal(await targetClient.getManifestDigest("retag/retag/app", "1"), digest, "the tag names it again");

    const again = await restoreRun({ registry: source.host, images: ["retag/app:1"], target: into });
    assert.equal(again.summary.images[0]?.status, "already-present", JSON.stringify(again.summary.images));
    assert.equal(again.summary.totals.jobExecutions, 0);
  });

  test("a tampered archive (its sha256 is not the sidecar's) fails with DIGEST_MISMATCH and writes no tag", async () => {
    const { digest } = await pushImage(source.host, "tamper/app:1", {
      layers: [{ files: { "data.txt": "tamper me\n".repeat(4000) }, compression: "none" }],
    });
    await archiveRun();
    const archiveBlob = archiveBlobName({ registry: source.host, repository: "tamper/app", digest });
    const downloaded = await restoreArchive(azurite.connectionString, "images", archiveBlob);
    try {
      // The same tar gzipped at another level: every blob still hashes to its digest, the archive file does not.
      const regzipped = zlib.gzipSync(zlib.gunzipSync(await readFile(downloaded.path)), { level: 9 });
      // An archived blob cannot be overwritten: replaced (delete, upload) with its metadata, as a tamperer would.
      const blob = container.getBlockBlobClient(archiveBlob);
      const { metadata } = await blob.getProperties();
      await blob.delete();
      await blob.uploadData(regzipped, { tier: "Archive", ...(metadata && { metadata }) });
    } finally {
      await removeDir(downloaded.dir);
    }
    const { summary } = await restoreRun({
      registry: source.host,
      images: ["tamper/app:1"],
      target: { registry: target.host },
    });
    const [image] = summary.images;
    assert.equal(image?.status, "failed", JSON.stringify(summary.images));
    assert.equal(image?.error?.code, "DIGEST_MISMATCH", JSON.stringify(image));
    assert.match(image!.error!.message, /its sidecar says/);
    assert.equal(await targetClient.getManifestDigest("tamper/app", "1"), undefined, "no tag was written");
    assert.equal(await targetClient.getManifestDigest("tamper/app", digest), undefined, "nor the manifest");
  });

  test("a copy still pending past the limit fails with REHYDRATION_TIMEOUT, starts no job, and is left for reuse", async () => {
    const { digest } = await pushImage(source.host, "slowcopy/app:1", smallImage("slowcopy"));
    await archiveRun();
    const archiveBlob = archiveBlobName({ registry: source.host, repository: "slowcopy/app", digest });
    const stagingPath = `/devstoreaccount1/images/${STAGING_PREFIX}${archiveBlob}`;
    proxy.pendingForever.add(stagingPath);
    try {
      const { summary } = await restoreRun({
        registry: source.host,
        images: ["slowcopy/app:1"],
        target: { registry: target.host },
        rehydratePriority: "Standard",
      });
      const [image] = summary.images;
      assert.equal(image?.status, "failed", JSON.stringify(summary.images));
      assert.equal(image?.error?.code, "REHYDRATION_TIMEOUT");
      assert.match(image!.error!.message, /still rehydrating \(Standard\) after 1 min/);
      assert.equal(image?.attempts, 0);
      assert.equal(summary.totals.jobExecutions, 0, "no job for an archive that is not readable yet");
      assert.ok((image?.waitedSeconds ?? 0) >= 60, `waited the limit: ${image?.waitedSeconds}`);
      assert.ok((proxy.pendingAnswers.get(stagingPath) ?? 0) > PENDING_POLLS, "polled with durable timers meanwhile");
      assert.deepEqual(
        await stagingBlobs(),
        [`${STAGING_PREFIX}${archiveBlob}`],
        "the copy is left for the next restore",
      );
    } finally {
      proxy.pendingForever.delete(stagingPath);
    }
    // Once the copy completes, the next restore restores the image (startRehydration finds the copy there: reuse is
    // tested in restoreFromStorage.test.ts) and deletes it.
    const { summary } = await restoreRun({
      registry: source.host,
      images: ["slowcopy/app:1"],
      target: { registry: target.host },
    });
    assert.equal(summary.images[0]?.status, "restored", JSON.stringify(summary.images));
    assert.equal(await targetClient.getManifestDigest("slowcopy/app", "1"), digest);
    assert.deepEqual(await stagingBlobs(), []);
  });

  test("two restores of one archive into two targets at once share its one staging copy: both restored, one copy started, deleted after both (guards issue 21.6)", async () => {
    const { digest } = await pushImage(source.host, "shared/app:1", smallImage("shared"));
    await archiveRun();
    const archiveBlob = archiveBlobName({ registry: source.host, repository: "shared/app", digest });
    const stagingPath = `/devstoreaccount1/images/${STAGING_PREFIX}${archiveBlob}`;
    // Both jobs wait to read the copy; the first is let through, and its run ends before the second reads.
    proxy.holdReads(stagingPath);
    let ids: string[] = [];
    try {
      ids = await Promise.all(
        [target.host, target2.host].map((registry) =>
          startRestore({ registry: source.host, images: ["shared/app:1"], target: { registry } }),
        ),
      );
      await until(() => proxy.heldReads(stagingPath) === 2, "both jobs reading the staging copy");
      proxy.releaseRead(stagingPath);
      await until(
        async () => (await Promise.all(ids.map((id) => runtimeStatus(id)))).includes("Completed"),
        "the first restore finished",
      );
    } finally {
      proxy.releaseReads(stagingPath);
    }
    for (const id of ids) {
      const status = await waitForRun(host, id, { kind: "restore" });
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
      const summary = JSON.parse(
        (await container.getBlockBlobClient(String(status.summaryBlob)).downloadToBuffer()).toString(),
      ) as RestoreSummary;
      assert.equal(
        summary.images[0]?.status,
        "restored",
        `${summary.target.registry}: ${JSON.stringify(summary.images)}`,
      );
    }
    assert.equal(await targetClient.getManifestDigest("shared/app", "1"), digest);
    assert.equal(await new RegistryClient(target2.host).getManifestDigest("shared/app", "1"), digest);
    assert.equal(proxy.copiesStarted.get(stagingPath), 1, "one rehydration for both");
    assert.deepEqual(await stagingBlobs(), [], "the copy is deleted once both are done");
    assert.deepEqual(await stagingBlobs(STAGING_CLAIMS_PREFIX), [], "and both claims");
  });

  test("the staging sweep deletes a copy left behind that is older than STAGING_MAX_AGE_MINUTES; one a running restore claims, or a younger one, stays (guards issue 21.7)", async () => {
    const { digest } = await pushImage(source.host, "sweep/held:1", smallImage("sweep-held"));
    await archiveRun();
    const heldArchive = archiveBlobName({ registry: source.host, repository: "sweep/held", digest });
    const heldPath = `/devstoreaccount1/images/${STAGING_PREFIX}${heldArchive}`;
    // A restore whose job is reading its copy (held here) while the copy grows old.
    proxy.holdReads(heldPath);
    let id: string | undefined;
    try {
      id = await startRestore({ registry: source.host, images: ["sweep/held:1"], target: { registry: target.host } });
      await until(() => proxy.heldReads(heldPath) === 1, "the restore's job reading its staging copy");
      // A copy a restore that has ended left behind, with its claim.
      const leftArchive = await fakeArchive("sweep/left");
      await startArchiveSetRehydration(container, leftArchive, [], {
        claimant: "restore-gone-20260101T000000000Z-abcdef",
      });
      const written = async (archive: string) =>
        (await container.getBlobClient(stagingBlobName(archive)).getProperties()).lastModified!.getTime();
      const oldest = Math.max(await written(heldArchive), await written(leftArchive));
      while (Date.now() < oldest + 62_000) await new Promise((r) => setTimeout(r, 500));
      const youngArchive = await fakeArchive("sweep/young");
      await startRehydration(container, youngArchive);

      const line = await runStagingSweep();
      assert.match(line, /deleted 1 copies .* and 1 stale claims; kept 1 in use, 1 written within 1 min/);
      assert.deepEqual(await stagingBlobs(), [stagingBlobName(heldArchive), stagingBlobName(youngArchive)].sort());
      assert.deepEqual(await stagingBlobs(STAGING_CLAIMS_PREFIX), [stagingClaimBlobName(heldArchive, id!)]);
      await deleteStagingCopy(container, youngArchive);
    } finally {
      proxy.releaseReads(heldPath);
    }
    const status = await waitForRun(host, id, { kind: "restore" });
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
    assert.equal(
      await targetClient.getManifestDigest("sweep/held", "1"),
      digest,
      "restored from the copy the sweep kept",
    );
    assert.deepEqual(await stagingBlobs(), []);
    assert.deepEqual(await stagingBlobs(STAGING_CLAIMS_PREFIX), []);
  });

  test("an image that was never archived is failed with why; the rest of the run goes on", async () => {
    const { summary } = await restoreRun({
      registry: source.host,
      images: ["never/archived:1", "samples/hello:1.0"],
      target: { registry: target.host, repositoryPrefix: "mixed" },
    });
    const byRepo = new Map(summary.images.map((i) => [i.repository, i]));
    assert.equal(byRepo.get("never/archived")?.status, "failed");
    assert.match(byRepo.get("never/archived")!.error!.message, /was never archived/);
    assert.equal(byRepo.get("samples/hello")?.status, "restored");
  });

  test("the password reaches no orchestration input, output or history, no summary, no log", async () => {
    const password = target.password!;
    const list = (await (await host.request("/runtime/webhooks/durabletask/instances?showInput=true")).json()) as {
      instanceId: string;
    }[];
    const ours = list.filter((i) => i.instanceId.startsWith("restore-"));
    assert.ok(ours.length >= 10, "restore runs, their batches and images");
    for (const { instanceId } of ours) {
      const detail = await (
        await host.request(
          `/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&showHistoryOutput=true&showInput=true`,
        )
      ).text();
      assert.ok(detail.length > 100 && !detail.includes(password), `instance ${instanceId}`);
    }
    for await (const item of container.listBlobsFlat({ prefix: "runs/restore-", includeMetadata: true })) {
      const text = (await container.getBlockBlobClient(item.name).downloadToBuffer()).toString("latin1");
      assert.ok(!text.includes(password) && !JSON.stringify(item.metadata ?? {}).includes(password), item.name);
    }
    assert.ok(!host.output().includes(password), "host and worker logs");
  });
});

describe("starting a restore", () => {
  const cases: [string, unknown, RegExp][] = [
    ["no body", "not json", /the body must be a JSON object/],
    ["no registry", { images: ["a:1"] }, /registry: is required/],
    ["no selection", { registry: "127.0.0.1:1" }, /exactly one way: images, repositories\/tags, or runId/],
    ["two selections", { registry: "127.0.0.1:1", images: ["a:1"], runId: "x" }, /exactly one way/],
    ["a bad image", { registry: "127.0.0.1:1", images: ["UPPER:1"] }, /images\.0: "UPPER:1" must be repo:tag/],
    [
      "a bad priority",
      { registry: "127.0.0.1:1", images: ["a:1"], rehydratePriority: "Fast" },
      /rehydratePriority: must be "Standard" or "High"/,
    ],
    [
      "maxParallel over 100",
      { registry: "127.0.0.1:1", images: ["a:1"], maxParallel: 101 },
      /maxParallel: must be ≤ 100/,
    ],
    ["an unknown field", { registry: "127.0.0.1:1", images: ["a:1"], color: "red" }, /color: unknown field/],
    [
      "a bad prefix",
      { registry: "127.0.0.1:1", images: ["a:1"], target: { repositoryPrefix: "../x" } },
      /target\.repositoryPrefix:/,
    ],
    [
      "a target outside RESTORE_TARGET_REGISTRIES",
      { registry: "127.0.0.1:1", images: ["a:1"] },
      /target\.registry: 127\.0\.0\.1:1 is not in RESTORE_TARGET_REGISTRIES/,
    ],
    [
      "an unknown runId",
      { registry: "127.0.0.1:1", runId: "archive-nope", target: { registry: "127.0.0.1:1" } },
      /runId: no summary of an archive run archive-nope/,
    ],
  ];
  for (const [name, body, problem] of cases) {
    test(`400 naming the problem, nothing started: ${name}`, async () => {
      const before = await countRestoreRecords();
      const response = await post("restore", body);
      const payload = (await response.json()) as { error: string; problems: string[] };
      assert.equal(response.status, 400, JSON.stringify(payload));
      assert.equal(payload.error, "invalid request");
      assert.ok(
        payload.problems.some((p) => problem.test(p)),
        payload.problems.join("\n"),
      );
      assert.equal(await countRestoreRecords(), before);
    });
  }

  test("two problems at once are both named", async () => {
    const response = await post("restore", { registry: "", images: ["UPPER:1"], maxParallel: 0 });
    const payload = (await response.json()) as { problems: string[] };
    assert.equal(response.status, 400);
    assert.ok(payload.problems.length >= 3, payload.problems.join("\n"));
  });

  test("concurrent restores into one target: one 202, the rest 409", async () => {
    await pushImage(source.host, "concurrent/app:1", smallImage("concurrent"));
    await archiveRun();
    const body = { registry: source.host, images: ["concurrent/app:1"], target: { registry: target.host } };
    const responses = await Promise.all([1, 2, 3].map(() => post("restore", body)));
    const codes = responses.map((r) => r.status).sort();
    const payloads = (await Promise.all(responses.map((r) => r.json()))) as { id?: string; instanceId?: string }[];
    assert.deepEqual(codes, [202, 409, 409], JSON.stringify(payloads));
    const started = payloads.find((p) => p.id)!;
    for (const conflict of payloads.filter((p) => !p.id)) assert.equal(conflict.instanceId, started.id);
    const status = await waitForRun(host, started.id!, { kind: "restore" });
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  });

  test("GET /api/restore/{id} of an unknown run is 404", async () => {
    const response = await host.request("/api/restore/restore-nope-20260101T000000000Z-abcdef");
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });
});

async function countRestoreRecords(): Promise<number> {
  let n = 0;
  for await (const blob of container.listBlobsFlat({ prefix: "runs/restore-" })) if (blob.name) n++;
  return n;
}
