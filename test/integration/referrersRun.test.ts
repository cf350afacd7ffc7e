// Referrers that arrive later, caught by a run (issue 12.3): `refreshReferrers` probes the images already archived,
// and only an image with new referrers gets a job, whose supplementary archive its sidecar records. Through the local
// Functions host (the app's real registrations), a real registry (Debian's: tag schema and cosign tags) and one behind
// the tests' referrers API stand-in, real Azurite and real worker processes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { discoverReferrers } from "../../src/registry/referrers.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import {
  runNightlyArchive,
  startFunctionsHost,
  waitForRun,
  type LocalFunctionsHost,
} from "../../tools/localenv/functionsHost.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import {
  artifactOf,
  ArtifactTypes,
  cosignSignature,
  pushReferrer,
  putTagSchemaIndex,
  startReferrersApi,
  type ReferrersApiStandIn,
} from "../support/referrers.js";

let registry: TestRegistry;
/** Where the restore runs push: Debian's registry (no referrers API: the restore maintains the tag schema). */
let restoreTarget: TestRegistry;
let apiUpstream: TestRegistry;
let api: ReferrersApiStandIn;
let azurite: AzuriteInstance;
let host: LocalFunctionsHost;
let blobService: BlobServiceClient;

interface Summary {
  requestedBy: string;
  registry: string;
  registryRequests: { listing: number };
  totals: { total: number; archived: number; alreadyArchived: number; failed: number; jobExecutions: number };
  referrers?: {
    checked: number;
    unchecked: number;
    withNew: number;
    requests: number;
    supplements: number;
    newReferrers: number;
    maxRequests?: number;
  };
  images: {
    repository: string;
    digest: string;
    status: string;
    sidecarBlob: string;
    newReferrers?: number;
    referrersSupplementBlob?: string;
    error?: { code: string; message: string };
  }[];
}

interface Sidecar {
  referrers: { digest: string }[];
  supplements?: { archiveBlob: string; referrers: { digest: string; subject: string; artifactType?: string }[] }[];
}

before(async () => {
  [registry, restoreTarget, apiUpstream, azurite] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry(),
    startAzurite(),
  ]);
  api = await startReferrersApi(apiUpstream.host);
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  host = await startFunctionsHost({
    timeScale: 0.02,
    env: {
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      JOB_RUNNER: "local",
      ARCHIVE_CONTAINER: "images",
      TASKHUB_NAME: "referrershub",
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      RESTORE_TARGET_REGISTRIES: "127.0.0.1:*",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      NIGHTLY_REGISTRIES: registry.host,
      NIGHTLY_REFRESH_REFERRERS: "true",
      DEFAULT_MAX_PARALLEL: "2",
      LISTING_PAGE_REPOSITORIES: "2",
    },
  });
});
after(async () => {
  await host?.stop();
  await api?.stop();
  await Promise.all([registry?.stop(), restoreTarget?.stop(), apiUpstream?.stop(), azurite?.stop()]);
});

/** POST /api/<kind>, wait for the run to complete, and read its summary. */
async function completedRun(kind: "archive" | "restore", body: Record<string, unknown>): Promise<Summary> {
  const response = await host.request(`/api/${kind}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const payload = (await response.json()) as { id: string };
  assert.equal(response.status, 202, JSON.stringify(payload));
  const status = await waitForRun(host, payload.id, { kind });
  assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status));
  return readJson<Summary>(String(status.summaryBlob));
}

const run = (body: Record<string, unknown>) => completedRun("archive", body);
const restoreRun = (body: Record<string, unknown>) => completedRun("restore", body);

async function readJson<T>(name: string): Promise<T> {
  const bytes = await blobService.getContainerClient("images").getBlockBlobClient(name).downloadToBuffer();
  return JSON.parse(bytes.toString("utf8")) as T;
}

async function exists(name: string): Promise<boolean> {
  return blobService.getContainerClient("images").getBlockBlobClient(name).exists();
}

const byRepository = (summary: Summary, repository: string) => summary.images.find((i) => i.repository === repository)!;

for (const kind of ["tag schema and cosign tags", "referrers API"] as const) {
  describe(`a late SBOM on a registry with the ${kind}`, () => {
    const host_ = () => (kind === "referrers API" ? api.host : registry.host);
    const prefix = kind === "referrers API" ? "late-api" : "late";
    let signedDigest = "";

    before(async () => {
      const client = new RegistryClient(host_());
      const signed = await pushImage(host_(), `${prefix}/signed:1`, smallImage(`${prefix}-signed`));
      signedDigest = signed.digest;
      await pushReferrer(client, `${prefix}/signed`, cosignSignature(signed.digest));
      await pushImage(host_(), `${prefix}/plain:1`, smallImage(`${prefix}-plain`));
      await pushImage(host_(), `${prefix}/other:1`, smallImage(`${prefix}-other`));
    });

    test("archive; a late SBOM → a dry refresh reports it, a refresh archives it alone in a supplement; the next refresh starts no job", async () => {
      const first = await run({ registry: host_(), repositories: [`${prefix}/**`] });
      assert.equal(first.totals.archived, 3, JSON.stringify(first.images));
      assert.equal(first.referrers, undefined, "no refreshReferrers: no probes");
      const signedSidecar = await readJson<Sidecar>(byRepository(first, `${prefix}/signed`).sidecarBlob);
      assert.equal(signedSidecar.referrers.length, 1, "the signature is archived with the image");

      // An SBOM attached after the archive: on Debian's registry by the tag schema, on the stand-in by its API.
      const client = new RegistryClient(host_());
      const subject = (await client.getManifest(`${prefix}/signed`, signedDigest)).descriptor;
      const sbom = await pushReferrer(
        client,
        `${prefix}/signed`,
        artifactOf(subject, ArtifactTypes.sbom, '{"late":1}'),
      );
      if (kind !== "referrers API")
        await putTagSchemaIndex(client, `${prefix}/signed`, signedDigest, [sbom.descriptor]);

      const dry = await run({
        registry: host_(),
        repositories: [`${prefix}/**`],
        refreshReferrers: true,
        dryRun: true,
      });
      assert.equal(dry.totals.jobExecutions, 0);
      assert.equal(byRepository(dry, `${prefix}/signed`).newReferrers, 1);
      assert.deepEqual(
        { ...dry.referrers, requests: 0 },
        {
          checked: 3,
          unchecked: 0,
          withNew: 1,
          requests: 0,
          supplements: 0,
          newReferrers: 0,
          maxRequests: 10_000,
        },
      );

      const refreshed = await run({ registry: host_(), repositories: [`${prefix}/**`], refreshReferrers: true });
      assert.equal(refreshed.totals.jobExecutions, 1, "one job: the image with a new referrer");
      assert.equal(refreshed.totals.alreadyArchived, 3);
      assert.equal(refreshed.totals.total, 3);
      const signed = byRepository(refreshed, `${prefix}/signed`);
      assert.equal(signed.status, "already-archived", JSON.stringify(signed));
      assert.equal(signed.newReferrers, 1);
      assert.ok(signed.referrersSupplementBlob, JSON.stringify(signed));
      assert.ok(await exists(signed.referrersSupplementBlob));
      assert.equal(refreshed.referrers?.withNew, 1);
      assert.equal(refreshed.referrers?.supplements, 1);
      assert.equal(refreshed.referrers?.newReferrers, 1);
      assert.ok(refreshed.referrers!.requests > 0, "the probes' requests are reported");
      assert.ok(
        refreshed.referrers!.requests <= refreshed.registryRequests.listing,
        "and are among the listing's requests",
      );
      const sidecar = await readJson<Sidecar>(signed.sidecarBlob);
      assert.deepEqual(
        sidecar.supplements?.map((s) => [s.archiveBlob, s.referrers.map((r) => [r.digest, r.subject, r.artifactType])]),
        [[signed.referrersSupplementBlob, [[sbom.descriptor.digest, signedDigest, ArtifactTypes.sbom]]]],
      );

      const again = await run({ registry: host_(), repositories: [`${prefix}/**`], refreshReferrers: true });
      assert.equal(again.totals.jobExecutions, 0, "nothing new: no job");
      assert.equal(again.referrers?.withNew, 0);
      assert.equal(again.totals.alreadyArchived, 3);

      // A restore run brings the late SBOM back too: the archive, then its supplement (each rehydrated by copy). The
      // target already has the image, but not its referrers: that is not "already present".
      const bare = await pushImage(restoreTarget.host, `${prefix}/signed:1`, smallImage(`${prefix}-signed`));
      assert.equal(bare.digest, signedDigest);
      const restored = await restoreRun({
        registry: host_(),
        images: [`${prefix}/signed:1`],
        target: { registry: restoreTarget.host },
      });
      assert.deepEqual(
        restored.images.map((i) => [i.repository, i.status]),
        [[`${prefix}/signed`, "restored"]],
        JSON.stringify(restored.images),
      );
      const there = await discoverReferrers(new RegistryClient(restoreTarget.host), `${prefix}/signed`, [signedDigest]);
      assert.deepEqual(
        there.referrers.map((r) => r.descriptor.digest).sort(),
        [...signedSidecar.referrers.map((r) => r.digest), sbom.descriptor.digest].sort(),
        "the target lists the signature archived with the image and the SBOM that arrived later, same digests",
      );
      assert.equal(
        await exists(`staging/${signed.referrersSupplementBlob}`),
        false,
        "the supplement's staging copy is deleted",
      );
      const twice = await restoreRun({
        registry: host_(),
        images: [`${prefix}/signed:1`],
        target: { registry: restoreTarget.host },
      });
      assert.deepEqual(
        twice.images.map((i) => i.status),
        ["already-present"],
        "the image and every referrer: nothing to do",
      );
    });
  });
}

describe("the nightly run with NIGHTLY_REFRESH_REFERRERS", () => {
  test("probes the archived images' referrers, and with none new starts no job", async () => {
    // After the run above: every image of the registry is archived with its referrers.
    const summary = (await runNightlyArchive(host, blobService.getContainerClient("images"))) as unknown as Summary;
    assert.equal(summary.registry, registry.host);
    assert.ok(summary.referrers, "the nightly run refreshed referrers");
    assert.equal(summary.referrers.checked, summary.totals.alreadyArchived);
    assert.equal(summary.referrers.withNew, 0);
    assert.equal(summary.totals.jobExecutions, 0);
  });
});

// After the nightly run (which would meet this image's failure again).
describe("a bad referrer graph in a run", () => {
  test("fails that image with REFERRER_GRAPH_INVALID, once (not retried), and never the run", async () => {
    const client = new RegistryClient(registry.host);
    const image = await pushImage(registry.host, "bad/cyclic:1", smallImage("bad-cyclic"));
    const signature = await pushReferrer(client, "bad/cyclic", cosignSignature(image.digest));
    // The signature's own cosign tag names the image: image → signature → image.
    const bytes = (await client.getManifest("bad/cyclic", image.digest)).bytes;
    const tag = `${signature.descriptor.digest.replace(":", "-")}.sig`;
    await client.putManifest("bad/cyclic", tag, "application/vnd.oci.image.manifest.v1+json", bytes);
    await pushImage(registry.host, "bad/fine:1", smallImage("bad-fine"));

    const summary = await run({ registry: registry.host, repositories: ["bad/**"] });
    assert.deepEqual(
      summary.images.map((i) => [i.repository, i.status, i.error?.code]),
      [
        ["bad/cyclic", "failed", "REFERRER_GRAPH_INVALID"],
        ["bad/fine", "archived", undefined],
      ],
    );
    assert.match(byRepository(summary, "bad/cyclic").error!.message, /a cycle/);
    assert.equal(summary.totals.jobExecutions, 2, "the bad graph is not retried: another attempt cannot fix it");
    assert.equal(await exists(byRepository(summary, "bad/cyclic").sidecarBlob), false, "nothing of it committed");
  });
});
