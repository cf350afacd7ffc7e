// The run summary (src/runs/runSummary.ts writeRunSummary) against real Azurite: the listing's already-archived images
// and the batches' outcomes become runs/<runId>/summary.json with recomputed totals; a batch that failed without
// outcomes fails its images as ORCHESTRATION_FAILED unless their sidecar exists; the summary is written once.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { ArchiveSidecar } from "../../../src/archive/sidecar.js";
import type { ArchiveRunInput, ImageOutcome, ListedImage, RunSummary } from "../../../src/runs/archiveRun.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import {
  writeRunSummary,
  writeRunSummaryInputSchema,
  type WriteRunSummaryInput,
} from "../../../src/runs/runSummary.js";
import { writeBatchOutcomes, writeListingPage } from "../../../src/runs/runStore.js";
import { commitArchive, createArchiveUpload, uploadSidecar } from "../../../src/storage/archiveStore.js";
import { archiveBlobName, sidecarBlobName, summaryBlobName } from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

const REGISTRY = "myacr.azurecr.io";
let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

function run(overrides: Partial<ArchiveRunInput> = {}): ArchiveRunInput {
  const runId = runInstanceId(REGISTRY, new Date("2026-12-01T02:00:00.000Z"), (0xabc000 + ++counter).toString(16));
  return {
    runId,
    registry: REGISTRY,
    container: `summary-${counter}`,
    filters: { includeUntagged: false, tags: ["v*"] },
    dryRun: false,
    refreshReferrers: false,
    maxParallel: 2,
    maxAttempts: 3,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 2,
    requestedBy: "timer",
    requestedAtUtc: "2026-12-01T02:00:00.000Z",
    ...overrides,
  };
}

const summaryInput = (r: ArchiveRunInput, rest: Partial<WriteRunSummaryInput> = {}) =>
  writeRunSummaryInputSchema.parse({
    run: r,
    listingPages: 1,
    batchCount: 0,
    startedAtUtc: "2026-12-01T02:00:00.000Z",
    endedAtUtc: "2026-12-01T03:00:00.000Z",
    jobExecutions: 0,
    ...rest,
  });

/** The listing as one page (page 0, batches from 0): answers the batch count. */
async function writeListing(container: ContainerClient, runId: string, images: ListedImage[], batchSize: number) {
  return (await writeListingPage(container, runId, 0, { images, firstBatch: 0, batchSize, registryRequests: 0 }))
    .batchCount;
}

const image = (c: string, extra: Partial<ListedImage> = {}): ListedImage => ({
  repository: `team/${c}`,
  digest: `sha256:${c.repeat(64)}`,
  tags: [`v-${c}`],
  archived: false,
  ...extra,
});

const outcome = (
  listed: ListedImage,
  status: ImageOutcome["status"],
  extra: Partial<ImageOutcome> = {},
): ImageOutcome => {
  const { repository, digest, tags } = listed;
  return { repository, digest, tags, status, attempts: 1, durationSeconds: 5, ...extra };
};

/** What the worker leaves for an image it archived: the committed archive (`size` bytes) and its sidecar. */
async function archivedByWorker(
  container: ContainerClient,
  listed: ListedImage,
  size: number,
  sha256: string,
): Promise<void> {
  const identity = { registry: REGISTRY, repository: listed.repository, digest: listed.digest };
  const name = archiveBlobName(identity);
  const upload = createArchiveUpload(container, name, { blockSizeBytes: 1024, concurrency: 2 });
  await pipeline(Readable.from([Buffer.alloc(size, 7)]), upload);
  const metadata = {
    sourceDigest: listed.digest,
    sourceImage: `${REGISTRY}/${listed.repository}:1`,
    archiveSha256: sha256,
    tarSize: size,
    gzipLevel: 1,
  };
  const format = "oci-layout+docker-archive" as const;
  assert.equal(
    await commitArchive(container, name, upload.blockIds, {
      ...metadata,
      tags: listed.tags,
      format,
      externalLayers: [],
    }),
    true,
  );
  await uploadSidecar(container, sidecarBlobName(name), {
    source: { digest: listed.digest },
    archive: { sha256, size, tarSize: size },
  } as ArchiveSidecar);
}

async function readSummary(container: ContainerClient, runId: string): Promise<RunSummary> {
  return JSON.parse(
    (await container.getBlockBlobClient(summaryBlobName(runId)).downloadToBuffer()).toString("utf8"),
  ) as RunSummary;
}

test("listing + batch outcomes → summary.json: already-archived images, kept outcomes, a failed batch's images, recomputed totals", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const a = image("a", { archived: true, bytes: 500, sha256: "1".repeat(64) });
  const [b, c, d, e, f] = ["b", "c", "d", "e", "f"].map((x) => image(x));
  // Batches of 2 over what is left to archive: [b, c], [d, e], [f].
  assert.equal(
    await writeListing(
      container,
      r.runId,
      [f, a, b, c, d, e].sort((x, y) => x.repository.localeCompare(y.repository)),
      r.batchSize,
    ),
    3,
  );
  await writeBatchOutcomes(container, r.runId, 0, [
    outcome(b!, "archived", { bytes: 100, sha256: "2".repeat(64) }),
    outcome(c!, "failed", { attempts: 3, error: { code: "JOB_FAILED", message: "exit 1" } }),
  ]);
  // Batch 1 failed before it kept outcomes, after d was archived; batch 2 failed too, but had kept its outcomes.
  await archivedByWorker(container, d!, 700, "4".repeat(64));
  await writeBatchOutcomes(container, r.runId, 2, [outcome(f!, "archived", { bytes: 300 })]);
  const failedBatches = [
    { batchIndex: 1, message: "replay failed" },
    { batchIndex: 2, message: "late" },
  ];
  const input = summaryInput(r, { batchCount: 3, jobExecutions: 6, failedBatches });

  const result = await writeRunSummary(input, { container });
  const totals = { total: 6, archived: 3, alreadyArchived: 1, failed: 2, bytesArchived: 100 + 700 + 300 };
  assert.deepEqual(result, { summaryBlob: summaryBlobName(r.runId), totals: { ...totals, jobExecutions: 6 } });

  const summary = await readSummary(container, r.runId);
  const named = (o: ImageOutcome) => {
    const archiveBlob = archiveBlobName({ registry: REGISTRY, repository: o.repository, digest: o.digest });
    return { ...o, archiveBlob, sidecarBlob: sidecarBlobName(archiveBlob) };
  };
  assert.deepEqual(summary, {
    schemaVersion: 1,
    runId: r.runId,
    registry: REGISTRY,
    container: r.container,
    filters: r.filters,
    dryRun: false,
    requestedBy: "timer",
    startedAtUtc: "2026-12-01T02:00:00.000Z",
    endedAtUtc: "2026-12-01T03:00:00.000Z",
    totals: { ...totals, jobExecutions: 6 },
    registryRequests: { listing: 0 },
    images: [
      named(outcome(a, "already-archived", { bytes: 500, sha256: "1".repeat(64), attempts: 0, durationSeconds: 0 })),
      named(outcome(b!, "archived", { bytes: 100, sha256: "2".repeat(64) })),
      named(outcome(c!, "failed", { attempts: 3, error: { code: "JOB_FAILED", message: "exit 1" } })),
      // The failed batch: d's sidecar exists, so it is archived (its size from the blob); e failed with the batch's reason.
      named(outcome(d!, "archived", { bytes: 700, sha256: "4".repeat(64), attempts: 1, durationSeconds: 0 })),
      named(
        outcome(e!, "failed", {
          attempts: 0,
          durationSeconds: 0,
          error: { code: "ORCHESTRATION_FAILED", message: "batch 1 failed: replay failed" },
        }),
      ),
      // Batch 2 failed but had kept its outcomes: those stand, not the batch's reason.
      named(outcome(f!, "archived", { bytes: 300 })),
    ],
  });
});

test("a listing of several pages: batches numbered across pages, a failed batch fails its own page's images, requests summed", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((x) => image(x));
  const z = image("f", { archived: true, bytes: 9, sha256: "9".repeat(64) });
  // Page 0: [a, b] [c] (batches 0, 1); page 1: z already archived, [d, e] (batch 2).
  const page0 = await writeListingPage(container, r.runId, 0, {
    images: [a!, b!, c!],
    firstBatch: 0,
    batchSize: r.batchSize,
    next: "team/c",
    registryRequests: 7,
  });
  const page1 = await writeListingPage(container, r.runId, 1, {
    images: [z, d!, e!],
    firstBatch: page0.batchCount,
    batchSize: r.batchSize,
    registryRequests: 5,
  });
  assert.deepEqual([page0.batchCount, page1.batchCount, page1.firstBatch], [2, 1, 2]);
  await writeBatchOutcomes(container, r.runId, 0, [
    outcome(a!, "archived", { bytes: 1 }),
    outcome(b!, "archived", { bytes: 2 }),
  ]);
  await writeBatchOutcomes(container, r.runId, 1, [outcome(c!, "archived", { bytes: 3 })]);
  const result = await writeRunSummary(
    summaryInput(r, {
      listingPages: 2,
      batchCount: 3,
      registryRequests: 12,
      failedBatches: [{ batchIndex: 2, message: "lost" }],
    }),
    { container },
  );
  assert.deepEqual(result.totals, {
    total: 6,
    archived: 3,
    alreadyArchived: 1,
    failed: 2,
    bytesArchived: 6,
    jobExecutions: 0,
  });
  const summary = await readSummary(container, r.runId);
  assert.deepEqual(summary.registryRequests, { listing: 12 });
  assert.deepEqual(
    summary.images.filter((i) => i.status === "failed").map((i) => [i.repository, i.error?.message]),
    [
      ["team/d", "batch 2 failed: lost"],
      ["team/e", "batch 2 failed: lost"],
    ],
  );
});

test("a missing listing page fails the summary (it is never written without every image)", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  await writeListing(container, r.runId, [image("a")], r.batchSize);
  await assert.rejects(
    writeRunSummary(summaryInput(r, { listingPages: 2, batchCount: 1 }), { container }),
    /listing page 1 of run .* is missing/,
  );
  await assert.rejects(container.getBlockBlobClient(summaryBlobName(r.runId)).getProperties());
});

test("an archive without its sidecar does not make a failed batch's image archived", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const g = image("9");
  await writeListing(container, r.runId, [g], r.batchSize);
  await archivedByWorker(container, g, 50, "5".repeat(64));
  await container
    .getBlockBlobClient(
      sidecarBlobName(archiveBlobName({ registry: REGISTRY, repository: g.repository, digest: g.digest })),
    )
    .delete();
  const result = await writeRunSummary(
    summaryInput(r, { batchCount: 1, failedBatches: [{ batchIndex: 0, message: "gone" }] }),
    { container },
  );
  assert.deepEqual(result.totals, {
    total: 1,
    archived: 0,
    alreadyArchived: 0,
    failed: 1,
    bytesArchived: 0,
    jobExecutions: 0,
  });
  assert.deepEqual((await readSummary(container, r.runId)).images[0]?.error, {
    code: "ORCHESTRATION_FAILED",
    message: "batch 0 failed: gone",
  });
});

test("a dry run lists what it would archive and archives nothing", async () => {
  const r = run({ dryRun: true, batchSize: 2 });
  const container = service.getContainerClient(r.container);
  const listed = [image("a", { archived: true, bytes: 9 }), image("b"), image("c")];
  await writeListing(container, r.runId, listed, 0);
  const result = await writeRunSummary(summaryInput(r), { container });
  assert.deepEqual(result.totals, {
    total: 3,
    archived: 0,
    alreadyArchived: 1,
    failed: 0,
    bytesArchived: 0,
    jobExecutions: 0,
  });
  const images = (await readSummary(container, r.runId)).images.map((i) => [i.repository, i.status]);
  assert.deepEqual(images, [
    ["team/a", "already-archived"],
    ["team/b", "would-archive"],
    ["team/c", "would-archive"],
  ]);
});

test("the summary is written once: a second call (a retried activity) answers the first summary's totals and changes nothing", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const b = image("b");
  await writeListing(container, r.runId, [b], r.batchSize);
  await writeBatchOutcomes(container, r.runId, 0, [
    outcome(b, "failed", { error: { code: "JOB_FAILED", message: "first" } }),
  ]);
  const first = await writeRunSummary(summaryInput(r, { batchCount: 1, jobExecutions: 1 }), { container });
  const written = await container.getBlockBlobClient(first.summaryBlob).downloadToBuffer();
  // Meanwhile the batch's outcomes say otherwise, and the retry counts more executions: the first summary stands.
  await writeBatchOutcomes(container, r.runId, 0, [outcome(b, "archived", { bytes: 42 })]);
  const second = await writeRunSummary(
    summaryInput(r, { batchCount: 1, jobExecutions: 2, endedAtUtc: "2026-12-01T04:00:00.000Z" }),
    { container },
  );
  assert.deepEqual(first.totals, {
    total: 1,
    archived: 0,
    alreadyArchived: 0,
    failed: 1,
    bytesArchived: 0,
    jobExecutions: 1,
  });
  assert.deepEqual(second, first);
  assert.ok(
    (await container.getBlockBlobClient(first.summaryBlob).downloadToBuffer()).equals(written),
    "the summary blob is unchanged",
  );
});
