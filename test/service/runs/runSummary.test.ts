// The run summary (src/runs/runSummary.ts writeRunSummary) against real Azurite: the listing's already-archived images
// and the batches' outcomes become runs/<runId>/summary.json with recomputed totals; a batch that failed without
// outcomes fails its images as ORCHESTRATION_FAILED unless their sidecar exists; the summary is written once (a summary
// that stands is kept, one committed while this one was written included); a summary of thousands of images is
// streamed: each page's images are staged before the next page is read, in blocks of the size asked for.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { ArchiveSidecar } from "../../../src/archive/sidecar.js";
import type { ArchiveRunInput, ListedImage, RunSummary } from "../../../src/runs/archiveRun.js";
import type { ImageOutcome } from "../../../src/runs/engine/workItem.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import {
  writeRunSummary,
  writeRunSummaryInputSchema,
  type WriteRunSummaryInput,
} from "../../../src/runs/runSummary.js";
import { writeBatchOutcomes, writeListingPage } from "../../../src/runs/runStore.js";
import { writeJsonBlob } from "../../../src/storage/jsonBlob.js";
import { archiveRunCost, DEFAULT_PRICES } from "../../../src/cost/costEstimate.js";
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
  assert.ok(
    await commitArchive(
      container,
      name,
      upload.blockIds,
      {
        ...metadata,
        tags: listed.tags,
        format,
        externalLayers: [],
      },
      { index: { kind: "archive", ...identity, archivedAt: new Date(), bytes: size } },
    ),
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

test("listing + batch outcomes → summary.json: already-archived images, kept outcomes, a failed batch's images, recomputed totals, verified archives (guards issue 23.1)", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const a = image("a", { archived: true, bytes: 500, sha256: "1".repeat(64), verified: true });
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
    outcome(b!, "archived", { bytes: 100, sha256: "2".repeat(64), verified: true }),
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
  const totals = { total: 6, archived: 3, alreadyArchived: 1, failed: 2, bytesArchived: 100 + 700 + 300, verified: 2 };
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
    registryRequests: { listing: 0, workers: 0 },
    // The cost report (guards issue 25.3): what it archived, and with the 500 bytes archived before, what it holds.
    cost: archiveRunCost(
      {
        archivedBytes: totals.bytesArchived,
        heldBytes: totals.bytesArchived + 500,
        endedAt: new Date("2026-12-01T03:00:00.000Z"),
      },
      DEFAULT_PRICES,
    ),
    images: [
      named(
        outcome(a, "already-archived", {
          bytes: 500,
          sha256: "1".repeat(64),
          verified: true,
          attempts: 0,
          durationSeconds: 0,
        }),
      ),
      named(outcome(b!, "archived", { bytes: 100, sha256: "2".repeat(64), verified: true })),
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
    verified: 0,
    jobExecutions: 0,
  });
  const summary = await readSummary(container, r.runId);
  assert.deepEqual(summary.registryRequests, { listing: 12, workers: 0 });
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
    verified: 0,
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
    verified: 0,
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
    verified: 0,
    jobExecutions: 1,
  });
  assert.deepEqual(second, first);
  assert.ok(
    (await container.getBlockBlobClient(first.summaryBlob).downloadToBuffer()).equals(written),
    "the summary blob is unchanged",
  );
});

/** The container, its block blobs' calls recorded (`<method> <blob name> [<staged length>]`); `beforeCommit` runs first. */
function observed(
  container: ContainerClient,
  events: string[],
  hooks: { beforeCommit?: (blobName: string) => Promise<void> } = {},
): ContainerClient {
  return new Proxy(container, {
    get(target, property) {
      if (property === "getBlockBlobClient")
        return (blobName: string) => {
          const blob = target.getBlockBlobClient(blobName);
          return new Proxy(blob, {
            get(b, p) {
              const value = Reflect.get(b, p, b) as unknown;
              if (typeof value !== "function") return value;
              return async (...args: unknown[]) => {
                events.push(`${String(p)} ${blobName}${p === "stageBlock" ? ` ${String(args[2])}` : ""}`);
                if (p === "commitBlockList") await hooks.beforeCommit?.(blobName);
                return (value as (...a: unknown[]) => unknown).apply(b, args);
              };
            },
          });
        };
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test("a summary of 3,000 images over 30 pages is streamed: every image once, in order, the workers' requests summed, each page staged before the next is read", async () => {
  const r = run({ batchSize: 50, filters: { includeUntagged: true } });
  const container = service.getContainerClient(r.container);
  const PAGES = 30;
  const hex = (page: number, i: number) => `${page.toString(16).padStart(4, "0")}${i.toString(16).padStart(4, "0")}`;
  const expected: RunSummary["images"] = [];
  let batch = 0;
  const failedBatches: { batchIndex: number; message: string }[] = [];
  for (let page = 0; page < PAGES; page++) {
    // 10 repositories × 10 digests, listed out of order; every fifth image already archived.
    const images: ListedImage[] = [];
    for (let i = 99; i >= 0; i--) {
      const repository = `scale/r${String(page).padStart(3, "0")}-${String(i % 10).padStart(2, "0")}`;
      const digest = `sha256:${hex(page, i).repeat(8)}`;
      const archived = i % 5 === 0;
      images.push({
        repository,
        digest,
        tags: [`t${i}`],
        archived,
        ...(archived && { bytes: i, sha256: "a".repeat(64) }),
      });
    }
    const written = await writeListingPage(container, r.runId, page, {
      images,
      firstBatch: batch,
      batchSize: r.batchSize,
      registryRequests: 2,
    });
    assert.equal(written.batchCount, 2); // 80 to archive: 50 + 30
    const toArchive = images.filter((i) => !i.archived);
    const outcomes: ImageOutcome[] = [];
    for (const image of images) {
      const { repository, digest, tags } = image;
      if (image.archived) {
        outcomes.push({
          repository,
          digest,
          tags,
          status: "already-archived",
          bytes: image.bytes!,
          sha256: image.sha256!,
          attempts: 0,
          durationSeconds: 0,
        });
      }
    }
    for (let offset = 0; offset < 2; offset++, batch++) {
      const slice = toArchive.slice(offset * r.batchSize, (offset + 1) * r.batchSize);
      if (batch % 7 === 3) {
        // This batch failed before it kept its outcomes: its images fail with its reason.
        failedBatches.push({ batchIndex: batch, message: "lost" });
        for (const { repository, digest, tags } of slice)
          outcomes.push({
            repository,
            digest,
            tags,
            status: "failed",
            attempts: 0,
            durationSeconds: 0,
            error: { code: "ORCHESTRATION_FAILED", message: `batch ${batch} failed: lost` },
          });
        continue;
      }
      const kept = slice.map(({ repository, digest, tags }): ImageOutcome => ({
        repository,
        digest,
        tags,
        status: "archived",
        bytes: 10,
        attempts: 1,
        durationSeconds: 2,
        registryRequests: 3,
      }));
      await writeBatchOutcomes(container, r.runId, batch, kept);
      outcomes.push(...kept);
    }
    // The oracle's order: by repository, then digest (plain comparison: the names are of one shape), page after page.
    outcomes.sort((a, b) =>
      a.repository < b.repository ? -1 : a.repository > b.repository ? 1 : a.digest < b.digest ? -1 : 1,
    );
    for (const o of outcomes) {
      const archiveBlob = archiveBlobName({ registry: REGISTRY, repository: o.repository, digest: o.digest });
      expected.push({ ...o, archiveBlob, sidecarBlob: sidecarBlobName(archiveBlob) });
    }
  }
  const events: string[] = [];
  const BLOCK = 16 * 1024;
  const result = await writeRunSummary(
    summaryInput(r, {
      listingPages: PAGES,
      batchCount: batch,
      failedBatches,
      jobExecutions: 2000,
      registryRequests: 60,
    }),
    { container: observed(container, events), blockBytes: BLOCK },
  );
  const failed = failedBatches.length * 50 - failedBatches.filter((b) => b.batchIndex % 2 === 1).length * 20;
  const totals = {
    total: 3000,
    archived: 2400 - failed,
    alreadyArchived: 600,
    failed,
    bytesArchived: (2400 - failed) * 10,
    verified: 0,
  };
  assert.deepEqual(result, { summaryBlob: summaryBlobName(r.runId), totals: { ...totals, jobExecutions: 2000 } });
  const summary: RunSummary = {
    schemaVersion: 1,
    runId: r.runId,
    registry: REGISTRY,
    container: r.container,
    filters: r.filters,
    dryRun: false,
    requestedBy: "timer",
    startedAtUtc: "2026-12-01T02:00:00.000Z",
    endedAtUtc: "2026-12-01T03:00:00.000Z",
    totals: { ...totals, jobExecutions: 2000 },
    registryRequests: { listing: 60, workers: (2400 - failed) * 3 },
    cost: archiveRunCost(
      {
        archivedBytes: totals.bytesArchived,
        heldBytes: expected
          .filter((i) => i.status === "archived" || i.status === "already-archived")
          .reduce((n, i) => n + (i.bytes ?? 0), 0),
        endedAt: new Date("2026-12-01T03:00:00.000Z"),
      },
      DEFAULT_PRICES,
    ),
    images: expected,
  };
  const bytes = (await container.getBlockBlobClient(summaryBlobName(r.runId)).downloadToBuffer()).toString("utf8");
  assert.equal(bytes, `${JSON.stringify(summary, null, 2)}\n`, "the bytes JSON.stringify would write");

  // By structure: the summary is staged while the pages are read. Between reading page p and page p+1 at least one
  // block went to storage, and no block is larger than the block size and one image: memory never held more than a
  // page's images and one block.
  const pageReads = events
    .map((e, i) => [e, i] as const)
    .filter(([e]) => /^downloadToBuffer runs\/.*\/listing\//.test(e));
  assert.equal(pageReads.length, PAGES);
  for (let p = 1; p < PAGES; p++) {
    const between = events.slice(pageReads[p - 1]![1], pageReads[p]![1]).filter((e) => e.startsWith("stageBlock"));
    assert.ok(between.length >= 1, `page ${p - 1}'s images were staged before page ${p} was read`);
  }
  const largestImage = Math.max(...expected.map((i) => JSON.stringify(i, null, 2).length + 200));
  const staged = events.filter((e) => e.startsWith("stageBlock")).map((e) => Number(e.split(" ").at(-1)));
  assert.ok(staged.length > bytes.length / (BLOCK + largestImage), `${staged.length} blocks`);
  for (const length of staged) assert.ok(length <= BLOCK + largestImage, `a block of ${length} bytes`);
  assert.equal(events.filter((e) => e.startsWith("commitBlockList")).length, 1, "committed once");
});

test("a summary that stands without totals in its metadata (written by an earlier version) is kept, and no page is read", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  await container.createIfNotExists();
  const old = {
    runId: r.runId,
    totals: { total: 7, archived: 7, alreadyArchived: 0, failed: 0, bytesArchived: 70, jobExecutions: 7 },
    images: [],
  };
  await writeJsonBlob(container, summaryBlobName(r.runId), old, { pretty: true });
  // No listing page exists: reading one would fail the call.
  const result = await writeRunSummary(summaryInput(r, { listingPages: 3, batchCount: 2 }), { container });
  assert.deepEqual(result, { summaryBlob: summaryBlobName(r.runId), totals: old.totals });
});

test("a summary committed by another call while this one was written stands, and this call answers its totals", async () => {
  const r = run();
  const container = service.getContainerClient(r.container);
  const b = image("b");
  await writeListing(container, r.runId, [b], r.batchSize);
  await writeBatchOutcomes(container, r.runId, 0, [outcome(b, "archived", { bytes: 5 })]);
  let theirs: Awaited<ReturnType<typeof writeRunSummary>> | undefined;
  let written = "";
  const racing = observed(container, [], {
    beforeCommit: async (blobName) => {
      // The other call (a retried activity, which counted 3 job executions) commits first.
      theirs = await writeRunSummary(summaryInput(r, { batchCount: 1, jobExecutions: 3 }), { container });
      written = (await container.getBlockBlobClient(blobName).downloadToBuffer()).toString("utf8");
    },
  });
  const result = await writeRunSummary(summaryInput(r, { batchCount: 1, jobExecutions: 1 }), { container: racing });
  assert.equal(theirs?.totals.jobExecutions, 3);
  assert.deepEqual(result, theirs, "the summary that stands, not this call's");
  assert.equal(
    (await container.getBlockBlobClient(summaryBlobName(r.runId)).downloadToBuffer()).toString("utf8"),
    written,
  );
});
