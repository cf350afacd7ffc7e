// The refreshReferrers cursor (src/runs/referrerProbe.ts, kept by src/runs/runStore.ts): successive runs whose budget
// is smaller than one repository's images go on inside it, digest by digest, and in each repository probed at once,
// until every image of every repository has had its turn. Whole listings (every page, the orchestration's carry from
// page to page) against Debian's registry (cosign signatures: one request an image) and real Azurite.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { ArchiveRunInput } from "../../../src/runs/archiveRun.js";
import { runInstanceId } from "../../../src/runs/instanceIds.js";
import { listRunImagesPage, type ListRunImagesDeps } from "../../../src/runs/listRunImages.js";
import {
  advanceReferrerProbeCursor,
  MAX_REFERRER_PROBE_RESUMES,
  type ReferrerProbeState,
} from "../../../src/runs/referrerProbe.js";
import { readListingPage, readReferrerProbeCursor } from "../../../src/runs/runStore.js";
import { archiveBlobName, referrerProbeCursorBlobName, sidecarBlobName } from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { cosignSignature, pushReferrer } from "../../support/referrers.js";

let registry: TestRegistry;
let azurite: AzuriteInstance;
let service: BlobServiceClient;
let counter = 0;
/** Every archived image, each with a cosign signature its sidecar does not list: a probe of it finds one new. */
const archivedDigests = new Set<string>();
/** round/a has more images than a run's budget pays for; the others are probed with it, three at once. */
const REPOSITORIES = { "round/a": 5, "round/b": 2, "round/c": 2, "round/d": 1 };

before(async () => {
  [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const client = new RegistryClient(registry.host);
  for (const [repository, count] of Object.entries(REPOSITORIES)) {
    for (let i = 0; i < count; i++) {
      const image = await pushImage(registry.host, `${repository}:${i}`, smallImage(`${repository}-${i}`));
      await pushReferrer(client, repository, cosignSignature(image.digest));
      archivedDigests.add(`${repository}@${image.digest}`);
    }
  }
});
after(async () => {
  await Promise.all([registry?.stop(), azurite?.stop()]);
});

async function markArchived(container: ContainerClient): Promise<void> {
  await container.createIfNotExists();
  for (const entry of archivedDigests) {
    const [repository, digest] = entry.split("@") as [string, string];
    const name = archiveBlobName({ registry: registry.host, repository, digest });
    await container.getBlockBlobClient(name).uploadData(Buffer.from("archive"));
    await container
      .getBlockBlobClient(sidecarBlobName(name))
      .uploadData(Buffer.from(JSON.stringify({ platforms: [], referrers: [] })));
  }
}

function refreshRun(container: string): ArchiveRunInput {
  const runId = runInstanceId(registry.host, new Date("2026-12-01T02:00:00.000Z"), (0xc0de00 + ++counter).toString(16));
  return {
    runId,
    registry: registry.host,
    container,
    filters: { includeUntagged: false },
    dryRun: false,
    refreshReferrers: true,
    maxParallel: 1,
    maxAttempts: 3,
    jobTimeoutMinutes: 60,
    pollMaxIntervalSeconds: 60,
    batchSize: 10,
    requestedBy: "http",
    requestedAtUtc: "2026-12-01T02:00:00.000Z",
  };
}

/** One run's whole listing, page after page, carried as the archiveRun orchestration carries it. */
async function listRun(r: ArchiveRunInput, deps: ListRunImagesDeps & { container: ContainerClient }) {
  const probed: string[] = [];
  let after: string | undefined;
  let firstBatch = 0;
  let referrerRequestsUsed = 0;
  let referrerProbe: ReferrerProbeState | undefined;
  for (let page = 0; ; page++) {
    const result = await listRunImagesPage(
      {
        run: r,
        nowUtc: "2026-12-01T02:00:00.000Z",
        page,
        firstBatch,
        referrerRequestsUsed,
        ...(after !== undefined && { after }),
        ...(referrerProbe && { referrerProbe }),
      },
      deps,
    );
    const stored = await readListingPage(deps.container, r.runId, page);
    for (const image of stored!.images) if (image.newReferrers) probed.push(`${image.repository}@${image.digest}`);
    firstBatch += result.batchCount;
    referrerRequestsUsed += result.referrers?.requests ?? 0;
    referrerProbe = result.referrerProbe;
    if (result.next === undefined) return { probed, requests: referrerRequestsUsed };
    after = result.next;
  }
}

test("refreshReferrers: with a budget smaller than one repository's images, successive runs go on inside it and in each repository probed at once, until every image has had its turn (guards issue 21.9)", async () => {
  const container = service.getContainerClient(`cursor-${++counter}`);
  await markArchived(container);
  const deps = {
    registry: new RegistryClient(registry.host),
    container,
    pageRepositories: 3,
    concurrency: 3,
    // A page's referrers API question (404 on this registry) and one .sig lookup an image: the budget pays for one
    // image a run, of whichever repository of the three probed at once comes first.
    referrerRefresh: { maxRequests: 2, limits: { maxDepth: 3, maxCount: 10 } },
  };
  const seen = new Set<string>();
  const perRun: string[][] = [];
  for (let runs = 0; seen.size < archivedDigests.size && runs < 2 * archivedDigests.size; runs++) {
    const { probed, requests } = await listRun(refreshRun(container.containerName), deps);
    perRun.push(probed);
    const fresh = probed.filter((d) => !seen.has(d));
    // Each run advances, and within the round no image is probed twice before every image has had its turn.
    assert.ok(fresh.length > 0, `run ${runs + 1} probed nothing new: ${JSON.stringify(perRun)}`);
    assert.equal(fresh.length, probed.length, `run ${runs + 1} probed again: ${JSON.stringify(perRun)}`);
    assert.ok(requests <= 2 + 2, `run ${runs + 1} made ${requests} probe requests`);
    for (const d of probed) seen.add(d);
  }
  assert.deepEqual([...seen].sort(), [...archivedDigests].sort(), `probed per run: ${JSON.stringify(perRun)}`);
  assert.ok(perRun.length > 2, "the budget is smaller than round/a's images: it takes runs");

  // The round is done: a run whose budget lasts ends it, and the next run starts again at the first repository.
  const roomy = { ...deps, referrerRefresh: { ...deps.referrerRefresh, maxRequests: 100 } };
  await listRun(refreshRun(container.containerName), roomy);
  assert.deepEqual(await readReferrerProbeCursor(container, registry.host), {});
  const again = await listRun(refreshRun(container.containerName), roomy);
  assert.deepEqual(again.probed.sort(), [...archivedDigests].sort());
});

test("a cursor written before positions inside a repository ({ from }) goes on at that repository's first image; one that does not parse starts a round", async () => {
  const container = service.getContainerClient(`cursor-${++counter}`);
  await container.createIfNotExists();
  const blob = container.getBlockBlobClient(referrerProbeCursorBlobName(registry.host));
  await blob.uploadData(Buffer.from(JSON.stringify({ from: "round/c" })));
  assert.deepEqual(await readReferrerProbeCursor(container, registry.host), {
    through: "round/c",
    resume: [{ repository: "round/c" }],
  });
  await blob.uploadData(Buffer.from(JSON.stringify({ through: "../x", resume: "all" })));
  assert.deepEqual(await readReferrerProbeCursor(container, registry.host), {});
});

test("the cursor: a repository reached after the budget ran out does not carry the round past the ones before it; positions past the cap are probed again, never skipped", () => {
  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
  assert.deepEqual(
    advanceReferrerProbeCursor({ through: "a" }, [
      { repository: "b", startedWithBudget: true, complete: false, last: digest(1) },
      { repository: "c", startedWithBudget: true, complete: true },
      { repository: "d", startedWithBudget: true, complete: false },
      { repository: "e", startedWithBudget: true, complete: true },
      { repository: "f", startedWithBudget: false, complete: false },
      // Nothing of its own to probe: done, but reached once the budget was gone.
      { repository: "g", startedWithBudget: false, complete: true },
    ]),
    {
      through: "e",
      resume: [{ repository: "b", after: digest(1) }, { repository: "d" }],
    },
  );
  const names = Array.from({ length: MAX_REFERRER_PROBE_RESUMES + 2 }, (_, i) => `r${String(i).padStart(4, "0")}`);
  const capped = advanceReferrerProbeCursor(
    {},
    names.map((repository, i) => ({ repository, startedWithBudget: true, complete: false, last: digest(i + 1) })),
  );
  assert.equal(capped.resume?.length, MAX_REFERRER_PROBE_RESUMES);
  assert.equal(capped.through, names[MAX_REFERRER_PROBE_RESUMES - 1]);
  assert.deepEqual(capped.resume?.at(-1), { repository: capped.through, after: digest(MAX_REFERRER_PROBE_RESUMES) });
});
