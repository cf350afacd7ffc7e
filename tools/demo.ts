// README command 1: the whole main job, locally. A registry seeded with sample images, Azurite, and this app in
// the local Functions host with the local job runner (each image archived by a real worker process):
// POST /api/archive, a progress bar from the status endpoint, the run summary; then, after an SBOM was attached to a
// signed sample, the same run again with refreshReferrers, which archives no image and only the SBOM; then
// POST /api/restore of the first run into a second registry, checked digest by digest, referrers included; then the
// status page's URL, with everything left running until Enter (or, with --keep, until Ctrl-C).
import { once } from "node:events";
import { createInterface } from "node:readline";
import cliProgress from "cli-progress";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "./localenv/azurite.js";
import { pushImage } from "./localenv/fixtures.js";
import { startFunctionsHost, waitForRun, type LocalFunctionsHost } from "./localenv/functionsHost.js";
import { startRegistry } from "./localenv/registry.js";
import { SAMPLE_IMAGES } from "./localenv/samples.js";
import { firstLine } from "../src/errors.js";
import type { RunSummary } from "../src/runs/archiveRun.js";
import type { RestoreSummary } from "../src/runs/restoreRun.js";
import { RegistryClient } from "../src/registry/registryClient.js";
import { discoverReferrers } from "../src/registry/referrers.js";
import { ArtifactTypes, artifactOf, cosignSignature, pushReferrer, putTagSchemaIndex } from "./localenv/referrers.js";

/** The sample that is signed at seeding, and gets an SBOM between the runs. */
const SIGNED = "samples/hello";

// Durable timers (the 5-60 s polling of each job execution) run 20× faster here; everything else is real time.
const TIME_SCALE = 0.05;

async function runOnce(
  host: LocalFunctionsHost,
  registry: string,
  blobService: BlobServiceClient,
  label: string,
  options: { refreshReferrers?: boolean } = {},
): Promise<RunSummary> {
  const response = await host.request("/api/archive", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registry, ...options }),
  });
  const accepted = (await response.json()) as { id: string; statusQueryGetUri: string };
  if (response.status !== 202)
    throw new Error(`POST /api/archive answered ${response.status}: ${JSON.stringify(accepted)}`);
  console.log(`\n${label}: POST /api/archive → 202, instance ${accepted.id}`);
  const bar = new cliProgress.SingleBar(
    {
      format:
        "  {phase} [{bar}] {value}/{total} images | archived {archived} | already {already} | failed {failed} | running {running}",
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const status = await waitForRun(host, accepted.id, {
    onProgress: (s) => {
      const p = s.progress as {
        total: number;
        archived: number;
        alreadyArchived: number;
        failed: number;
        running: number;
        phase: string;
      };
      const done = p.archived + p.alreadyArchived + p.failed;
      const payload = {
        phase: p.phase.padEnd(11),
        archived: p.archived,
        already: p.alreadyArchived,
        failed: p.failed,
        running: p.running,
      };
      if (!started && p.total > 0) {
        bar.start(p.total, done, payload);
        started = true;
      } else if (started) bar.update(done, payload);
    },
  });
  if (started) bar.stop();
  if (status.runtimeStatus !== "Completed")
    throw new Error(`the run ended ${String(status.runtimeStatus)}: ${String(status.error ?? "")}`);
  const summaryBlob = blobService
    .getContainerClient(String(status.container))
    .getBlockBlobClient(String(status.summaryBlob));
  const summary = JSON.parse((await summaryBlob.downloadToBuffer()).toString()) as RunSummary;
  console.log(`  summary: ${status.container}/${status.summaryBlob}`);
  for (const image of summary.images) {
    const size = image.bytes !== undefined ? `${(image.bytes / 1024).toFixed(1).padStart(8)} KiB` : "".padStart(12);
    console.log(
      `  ${image.status.padEnd(16)} ${`${image.repository}:${image.tags.join(",")}`.padEnd(36)} ${size}  ${image.archiveBlob}${image.newReferrers ? `  (+${image.newReferrers} referrer(s) → ${image.referrersSupplementBlob ?? "reported"})` : ""}${image.error ? `  (${image.error.code}: ${image.error.message})` : ""}`,
    );
  }
  const t = summary.totals;
  console.log(
    `  totals: ${t.total} images, ${t.archived} archived (${(t.bytesArchived / 1024).toFixed(1)} KiB), ${t.alreadyArchived} already archived, ${t.failed} failed, ${t.jobExecutions} job executions`,
  );
  const r = summary.referrers;
  if (r)
    console.log(
      `  referrers: ${r.checked} archived images probed (${r.requests} registry requests), ${r.withNew} with new referrers, ${r.newReferrers} archived in ${r.supplements} supplement(s)`,
    );
  return summary;
}

/** POST /api/restore of everything an archive run archived, into `target`; then every tag and digest compared. */
async function restoreRun(
  host: LocalFunctionsHost,
  archived: RunSummary,
  target: string,
  blobService: BlobServiceClient,
  expectedReferrers: string[],
): Promise<boolean> {
  const response = await host.request("/api/restore", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registry: archived.registry, runId: archived.runId, target: { registry: target } }),
  });
  const accepted = (await response.json()) as { id: string };
  if (response.status !== 202)
    throw new Error(`POST /api/restore answered ${response.status}: ${JSON.stringify(accepted)}`);
  console.log(`
restore of run 1 into ${target}: POST /api/restore → 202, instance ${accepted.id}`);
  let last = "";
  const status = await waitForRun(host, accepted.id, {
    kind: "restore",
    onProgress: (s) => {
      const p = s.progress as Record<string, number | string>;
      const line = `  ${String(p.phase).padEnd(11)} ${p.total} images | rehydrating ${p.rehydrating} | restoring ${p.restoring} | restored ${p.restored} | already there ${p.alreadyPresent} | failed ${p.failed}`;
      if (line !== last) console.log(line);
      last = line;
    },
  });
  if (status.runtimeStatus !== "Completed")
    throw new Error(`the restore ended ${String(status.runtimeStatus)}: ${String(status.error ?? "")}`);
  const summaryBlob = blobService
    .getContainerClient(String(status.container))
    .getBlockBlobClient(String(status.summaryBlob));
  const summary = JSON.parse((await summaryBlob.downloadToBuffer()).toString()) as RestoreSummary;
  console.log(`  summary: ${status.container}/${status.summaryBlob}`);
  const client = new RegistryClient(target);
  let matching = 0;
  let references = 0;
  for (const image of summary.images) {
    const answers = [];
    for (const reference of [image.digest, ...image.tags]) {
      references++;
      const answered = await client.getManifestDigest(image.repository, reference);
      if (answered === image.digest) matching++;
      answers.push(
        `${reference === image.digest ? "@digest" : `:${reference}`} ${answered === image.digest ? "✓" : `✗ (${answered ?? "missing"})`}`,
      );
    }
    console.log(
      `  ${image.status.padEnd(16)} ${image.target.padEnd(48)} ${image.digest.slice(0, 19)}…  ${answers.join("  ")}`,
    );
  }
  const t = summary.totals;
  console.log(
    `  totals: ${t.total} images, ${t.restored} restored, ${t.alreadyPresent} already there, ${t.failed} failed, ${t.jobExecutions} job executions`,
  );
  // The signed sample's referrers in the target: the signature archived with it and the SBOM that arrived later.
  const signed = summary.images.find((i) => i.repository === SIGNED);
  const wanted = [...expectedReferrers].sort();
  const found = signed
    ? (await discoverReferrers(client, SIGNED, [signed.digest])).referrers.map((r) => r.descriptor.digest).sort()
    : [];
  const referrersOk = JSON.stringify(found) === JSON.stringify(wanted);
  console.log(
    `  referrers of ${target}/${SIGNED}: ${found.length} of ${wanted.length} (signature, SBOM) with the same digests ${referrersOk ? "✓" : "✗"}`,
  );
  const ok = t.failed === 0 && matching === references && referrersOk;
  console.log(
    ok
      ? `
every digest matches: ${matching} of ${references} tags and digests in ${target} answer the archived digests.`
      : `
digests DIFFER: ${matching} of ${references} match`,
  );
  return ok;
}

/**
 * Keeps the local registry, Azurite and the host up for the status page: until Enter in a terminal, or, with --keep,
 * until Ctrl-C or SIGTERM (terminal or not). Elsewhere (CI, a pipe) the demo ends at once.
 */
async function holdOpen(keep: boolean): Promise<void> {
  if (!keep && !process.stdin.isTTY) {
    console.log("(not a terminal: stopping now; `npm run demo -- --keep` leaves it running)");
    return;
  }
  // Ctrl-C ends the wait, and the finally block then stops every process the demo started.
  let onSignal = () => {};
  const interrupted = new Promise<void>((resolve) => (onSignal = resolve));
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const lines = keep ? undefined : createInterface({ input: process.stdin });
  console.log(
    keep ? "--keep: running until Ctrl-C." : "Press Enter to stop (the local registries, Azurite and the host).",
  );
  try {
    await Promise.race([interrupted, ...(lines ? [once(lines, "line")] : [])]);
  } finally {
    lines?.close();
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
}

async function main(): Promise<void> {
  const [registry, restoreTarget, azurite] = await Promise.all([startRegistry(), startRegistry(), startAzurite()]);
  let host: LocalFunctionsHost | undefined;
  try {
    console.log(`registry http://${registry.host} (docker-registry), Azurite blob port ${azurite.port}`);
    console.log(
      `seeding ${SAMPLE_IMAGES.length} sample images: ${SAMPLE_IMAGES.map((s) => s.repositoryAndTag).join(", ")}`,
    );
    for (const sample of SAMPLE_IMAGES) await pushImage(registry.host, sample.repositoryAndTag, sample.image);
    // A cosign-style signature of one sample (cosign's legacy `sha256-<hex>.sig` tag): archived with the image.
    const source = new RegistryClient(registry.host);
    const signedRoot = (await source.getManifest(SIGNED, "latest")).descriptor;
    const signature = await pushReferrer(source, SIGNED, cosignSignature(signedRoot.digest, "release@example.com"));
    console.log(`signed ${SIGNED} (${signature.descriptor.digest.slice(0, 19)}…, cosign's legacy tag)`);
    host = await startFunctionsHost({
      timeScale: TIME_SCALE,
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        JOB_RUNNER: "local",
        ARCHIVE_CONTAINER: "images",
        TASKHUB_NAME: "demo",
        NIGHTLY_SCHEDULE: "0 0 2 * * *",
        ALLOWED_REGISTRIES: "127.0.0.1:*",
        NIGHTLY_REGISTRIES: registry.host,
        RESTORE_TARGET_REGISTRIES: restoreTarget.host,
      },
    });
    console.log(`functions host ${host.baseUrl} (this app's real registrations; durable timers ×${1 / TIME_SCALE})`);
    const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const first = await runOnce(host, registry.host, blobService, "run 1");
    // An SBOM arrives after the archive (the referrers tag schema: Debian's registry has no referrers API).
    const sbom = await pushReferrer(
      source,
      SIGNED,
      artifactOf(signedRoot, ArtifactTypes.sbom, '{"spdxVersion":"SPDX-2.3"}'),
    );
    await putTagSchemaIndex(source, SIGNED, signedRoot.digest, [sbom.descriptor]);
    console.log(`\nattached an SBOM to ${SIGNED} (${sbom.descriptor.digest.slice(0, 19)}…) after run 1`);
    const second = await runOnce(host, registry.host, blobService, "run 2 (nightly re-run, refreshReferrers)", {
      refreshReferrers: true,
    });
    if (second.totals.archived === 0 && second.totals.jobExecutions === (second.referrers?.withNew ?? 0)) {
      console.log(
        `\nrun 2 archived no image again (all ${second.totals.alreadyArchived} were archived) and started ${second.totals.jobExecutions} job execution(s): the SBOM that arrived since, as a supplementary archive.`,
      );
    }
    const restored = await restoreRun(host, first, restoreTarget.host, blobService, [
      signature.descriptor.digest,
      sbom.descriptor.digest,
    ]);
    if (first.totals.failed > 0 || second.totals.failed > 0 || !restored) process.exitCode = 1;
    console.log(`\nstatus page (the runs above, their images, live progress): ${host.baseUrl}/api/ui?code=${host.key}`);
    await holdOpen(process.argv.includes("--keep"));
  } finally {
    await host?.stop();
    await Promise.all([registry.stop(), restoreTarget.stop(), azurite.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${firstLine(error)}`);
  process.exitCode = 1;
});
