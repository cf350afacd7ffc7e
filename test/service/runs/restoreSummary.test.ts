// The restore summary (src/runs/restoreSummary.ts writeRestoreSummary) against real Azurite: the listing's unresolved
// images (failed, with why) merged in order with the batches' outcomes, a failed batch's images failed with its reason,
// totals recomputed; streamed (each batch's outcomes staged before the next batch is read, in blocks of the size asked
// for) and written once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { ImageOutcome } from "../../../src/runs/engine/workItem.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import {
  restoreRunInputSchema,
  type RestoreListedImage,
  type RestoreRunInput,
  type RestoreSelection,
  type RestoreSummary,
} from "../../../src/runs/restoreRun.js";
import { writeRestoreSummary, writeRestoreSummaryInputSchema } from "../../../src/runs/restoreSummary.js";
import { writeBatches, writeBatchOutcomes } from "../../../src/runs/runStore.js";
import { archiveBlobName, listingBlobName, summaryBlobName } from "../../../src/storage/blobNames.js";
import { writeJsonBlob } from "../../../src/storage/jsonBlob.js";
import { DEFAULT_PRICES, restoreRunCost } from "../../../src/cost/costEstimate.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

const SOURCE = "src.azurecr.io";
const TARGET = "dst.azurecr.io";
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

function run(batchSize: number, selection: RestoreSelection = { repositories: ["team/**"] }): RestoreRunInput {
  const runId = runInstanceId(
    TARGET,
    new Date("2026-12-02T02:00:00.000Z"),
    (0xdef000 + ++counter).toString(16),
    "restore",
  );
  return restoreRunInputSchema.parse({
    kind: "restore",
    runId,
    registry: SOURCE,
    container: `restore-summary-${counter}`,
    dryRun: false,
    maxParallel: 4,
    maxAttempts: 2,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize,
    requestedAtUtc: "2026-12-02T02:00:00.000Z",
    selection,
    target: { registry: TARGET, repositoryPrefix: "restored/" },
    rehydratePriority: "High",
    rehydrationTimeoutMinutes: 900,
    rehydrationPollMaxSeconds: 600,
  });
}

const summaryInput = (r: RestoreRunInput, batchCount: number, rest: Record<string, unknown> = {}) =>
  writeRestoreSummaryInputSchema.parse({
    run: r,
    batchCount,
    startedAtUtc: "2026-12-02T02:00:00.000Z",
    endedAtUtc: "2026-12-02T03:00:00.000Z",
    jobExecutions: 0,
    ...rest,
  });

/** The container, its block blobs' calls recorded as `<method> <blob name>`. */
function observed(container: ContainerClient, events: string[]): ContainerClient {
  return new Proxy(container, {
    get(target, property) {
      if (property === "getBlockBlobClient")
        return (blobName: string) =>
          new Proxy(target.getBlockBlobClient(blobName), {
            get(blob, p) {
              const value = Reflect.get(blob, p, blob) as unknown;
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => {
                events.push(`${String(p)} ${blobName}`);
                return (value as (...a: unknown[]) => unknown).apply(blob, args);
              };
            },
          });
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test("2,000 images: unresolved ones merged in order with the batches' outcomes, a failed batch's images failed, streamed and written once", async () => {
  const r = run(100);
  const container = service.getContainerClient(r.container);
  await container.createIfNotExists();
  // The listing as resolveRestoreImages writes it: sorted by repository then digest; every 13th image unresolved.
  const listing: RestoreListedImage[] = [];
  for (let i = 0; i < 2000; i++) {
    const repository = `team/r${String(Math.floor(i / 20)).padStart(3, "0")}`;
    const digest = `sha256:${String(i).padStart(64, "0")}`;
    const problem =
      i % 13 === 0
        ? { code: "INVALID_ARGUMENT" as const, message: `${repository}@${digest} is not archived` }
        : undefined;
    listing.push({ repository, digest, tags: [`t${i}`], ...(problem && { problem }) });
  }
  await writeJsonBlob(container, listingBlobName(r.runId), listing);
  const todo = listing.filter((i) => !i.problem).map(({ repository, digest, tags }) => ({ repository, digest, tags }));
  const batchCount = await writeBatches(container, r.runId, todo, r.batchSize);
  assert.equal(batchCount, Math.ceil(todo.length / 100));
  // Every batch kept its outcomes (in reverse: a batch's own order is not the summary's), except batch 4.
  for (let batch = 0; batch < batchCount; batch++) {
    if (batch === 4) continue;
    const outcomes = todo
      .slice(batch * 100, (batch + 1) * 100)
      .map((i): ImageOutcome => ({ ...i, status: "restored", bytes: 3, attempts: 1, durationSeconds: 1 }))
      .reverse();
    await writeBatchOutcomes(container, r.runId, batch, outcomes);
  }
  const batchOf = new Map(todo.map((t, i) => [t.digest, Math.floor(i / 100)]));
  const expected: RestoreSummary["images"] = listing.map(({ repository, digest, tags, problem }) => {
    const batch = batchOf.get(digest);
    const outcome: ImageOutcome = problem
      ? { repository, digest, tags, status: "failed", attempts: 0, durationSeconds: 0, error: problem }
      : batch === 4
        ? {
            repository,
            digest,
            tags,
            status: "failed",
            attempts: 0,
            durationSeconds: 0,
            error: { code: "ORCHESTRATION_FAILED", message: "batch 4 failed: gone" },
          }
        : { repository, digest, tags, status: "restored", bytes: 3, attempts: 1, durationSeconds: 1 };
    return {
      ...outcome,
      target: `${TARGET}/restored/${repository}`,
      archiveBlob: archiveBlobName({ registry: SOURCE, repository, digest }),
      priority: "High",
    };
  });
  const unresolved = listing.filter((i) => i.problem).length;
  const totals = { total: 2000, restored: 2000 - unresolved - 100, alreadyPresent: 0, failed: unresolved + 100 };
  const events: string[] = [];
  const input = summaryInput(r, batchCount, { failedBatches: [{ batchIndex: 4, message: "gone" }], jobExecutions: 9 });
  const result = await writeRestoreSummary(input, { container: observed(container, events), blockBytes: 8 * 1024 });
  const fullTotals = { ...totals, bytes: totals.restored * 3, jobExecutions: 9 };
  assert.deepEqual(result, { summaryBlob: summaryBlobName(r.runId), totals: fullTotals });
  const summary: RestoreSummary = {
    schemaVersion: 1,
    kind: "restore",
    runId: r.runId,
    registry: SOURCE,
    container: r.container,
    target: r.target,
    selection: { repositories: ["team/**"] },
    rehydratePriority: "High",
    dryRun: false,
    startedAtUtc: "2026-12-02T02:00:00.000Z",
    endedAtUtc: "2026-12-02T03:00:00.000Z",
    totals: fullTotals,
    cost: restoreRunCost({ bytes: fullTotals.bytes, archives: totals.restored, priority: "High" }, DEFAULT_PRICES),
    images: expected,
  };
  const blob = container.getBlockBlobClient(summaryBlobName(r.runId));
  const bytes = await blob.downloadToBuffer();
  assert.equal(bytes.toString("utf8"), `${JSON.stringify(summary, null, 2)}\n`);

  // Streamed: between reading one batch's outcomes and the next, the summary staged at least one block.
  const reads = events.flatMap((e, i) => (/^downloadToBuffer .*outcomes/.test(e) ? [i] : []));
  assert.equal(reads.length, batchCount);
  for (let b = 1; b < reads.length; b++)
    assert.ok(
      events.slice(reads[b - 1], reads[b]).some((e) => e.startsWith("stageBlock")),
      `batch ${b - 1} staged before batch ${b} was read`,
    );

  // Written once: a retry (more executions counted) answers the summary that stands and changes nothing.
  const again = await writeRestoreSummary(summaryInput(r, batchCount, { jobExecutions: 20 }), { container });
  assert.deepEqual(again, result);
  assert.ok((await blob.downloadToBuffer()).equals(bytes));
});

test("no batch and no unresolved image: a summary with no images", async () => {
  const r = run(10);
  const container = service.getContainerClient(r.container);
  await container.createIfNotExists();
  await writeJsonBlob(container, listingBlobName(r.runId), []);
  const result = await writeRestoreSummary(summaryInput(r, 0), { container });
  assert.deepEqual(result.totals, { total: 0, restored: 0, alreadyPresent: 0, failed: 0, bytes: 0, jobExecutions: 0 });
  const summary = JSON.parse((await container.getBlockBlobClient(result.summaryBlob).downloadToBuffer()).toString());
  assert.deepEqual((summary as RestoreSummary).images, []);
});

test("the summary names the images selected as the request did, repo:tag and repo@digest, though the run carries them parsed (guards issue 22.4)", async () => {
  const digest = `sha256:${"d".repeat(64)}`;
  const r = run(10, {
    images: [
      { repository: "team/api", tag: "1.0" },
      { repository: "team/web", digest },
    ],
  });
  const container = service.getContainerClient(r.container);
  await container.createIfNotExists();
  await writeJsonBlob(container, listingBlobName(r.runId), []);
  const result = await writeRestoreSummary(summaryInput(r, 0), { container });
  const summary = JSON.parse((await container.getBlockBlobClient(result.summaryBlob).downloadToBuffer()).toString());
  assert.deepEqual((summary as RestoreSummary).selection, { images: ["team/api:1.0", `team/web@${digest}`] });
});
