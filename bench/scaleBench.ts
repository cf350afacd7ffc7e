// npm run bench:scale — synthetic registries through the local host with an instant job runner, against a
// latency-shaped registry (bench/syntheticRegistry.ts: a delay per request, a requests-per-minute limit with 429 +
// Retry-After, ACR's token challenges and manifest listing). For each size: an archive run, then a nightly re-run of
// the archived registry. Reported: wall time, registry requests, the longest single activity, the largest history of
// any instance, orchestrator CPU seconds, the host's peak RSS; for the re-run, jobs started and registry requests
// per repository. Targets (issue 13): no activity over 5 minutes, no history over 2,000 events, CPU at 100,000 ≤ 12×
// CPU at 10,000, a re-run starting zero jobs with at most 2 requests per repository plus catalog pages.
// Then (issue 11) a restore run of the first run's images (POST /api/restore with its runId) into a second, empty
// synthetic registry, in a fresh host: its archives are in Archive tier, so each image is rehydrated by copy (Azurite
// completes the copy at once) and pushed by the instant runner's restore mode. Reported from that host's stats alone:
// wall time, jobs started, the largest history of any instance, orchestrator CPU seconds, peak host RSS.
//
// Flags: --sizes 1000:50,10000:500,100000:5000 (images:repositories), --delay-ms 20, --limit-rpm 3000 (the
// registry's), --reads-per-minute 1500 (the app's REGISTRY_READS_PER_MINUTE), --max-parallel 10, --dry-run (the
// listing and summary only: no job, no re-run, no restore), --restore / --no-restore (default: a restore for sizes of
// at most 10,000 images).
import { loadavg } from "node:os";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startAzurite } from "../tools/localenv/azurite.js";
import { startFunctionsHost, waitForRun, type LocalFunctionsHost } from "../tools/localenv/functionsHost.js";
import { startSyntheticRegistry, type SyntheticRegistry } from "./syntheticRegistry.js";

const INSTANT_RUNNER = fileURLToPath(new URL("./registerInstantJobRunner.js", import.meta.url));

interface HostStats {
  replays: number;
  orchestratorCpuMs: number;
  maxHistoryEvents: number;
  maxHistoryInstanceId: string;
  maxActivityMs: number;
  maxActivityName: string;
  peakRssMiB: number;
}

interface RunFigures {
  wallSeconds: number;
  /** Counted by the synthetic registry (every request the listing and the workers sent it). */
  registryRequests: number;
  /** What the run's summary says it made: its listing's and its workers' (the instant runner reads no registry). */
  summaryRegistryRequests: { listing: number; workers: number };
  throttled: number;
  jobExecutions: number;
  archived: number;
  alreadyArchived: number;
}

interface RestoreFigures {
  wallSeconds: number;
  jobExecutions: number;
  restored: number;
  alreadyPresent: number;
  failed: number;
  /** Requests to the target registry (HEAD checks, token challenges, the instant runner's pushes) and its 429s. */
  targetRegistryRequests: number;
  targetThrottled: number;
  replays: number;
  orchestratorCpuSeconds: number;
  maxHistoryEvents: number;
  maxHistoryInstanceId: string;
  maxActivitySeconds: number;
  maxActivityName: string;
  peakHostRssMiB: number;
  /** The first failed image's error, when one failed. */
  firstError?: string;
}

interface ScaleResult {
  images: number;
  repositories: number;
  first: RunFigures;
  rerun: RunFigures & { requestsPerRepository: number; catalogPages: number };
  replays: number;
  orchestratorCpuSeconds: number;
  maxHistoryEvents: number;
  maxHistoryInstanceId: string;
  maxActivitySeconds: number;
  maxActivityName: string;
  peakHostRssMiB: number;
  restore?: RestoreFigures;
  loadAverage: number[];
}

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000:50,10000:500,100000:5000" },
    "delay-ms": { type: "string", default: "20" },
    "limit-rpm": { type: "string", default: "3000" },
    "reads-per-minute": { type: "string", default: "1500" },
    "max-parallel": { type: "string", default: "10" },
    // The listing alone (dryRun: every image would-archive, no job, no re-run): for sizes whose archiving does not fit.
    "dry-run": { type: "boolean", default: false },
    // Unset: a restore run for sizes of at most 10,000 images.
    restore: { type: "boolean" },
    "no-restore": { type: "boolean", default: false },
  },
});

const RESTORE_BY_DEFAULT_UP_TO = 10_000;
const HOST_HEAP_MIB = 12 * 1024;

async function archiveRun(
  host: LocalFunctionsHost,
  registry: SyntheticRegistry,
  container: ContainerClient,
  maxParallel: number,
): Promise<RunFigures & { catalogPages: number; runId: string }> {
  const before = registry.stats();
  const started = performance.now();
  const response = await host.request("/api/archive", {
    method: "POST",
    body: JSON.stringify({ registry: registry.host, maxParallel, ...(flags["dry-run"] && { dryRun: true }) }),
  });
  const { id } = (await response.json()) as { id: string };
  if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
  const status = await waitForRun(host, id, { timeoutInMs: 3 * 60 * 60_000 });
  const wallSeconds = (performance.now() - started) / 1000;
  if (status.runtimeStatus !== "Completed")
    throw new Error(`run ended ${String(status.runtimeStatus)}: ${JSON.stringify(status.output)}`);
  // The run's own record of what it did: its summary blob.
  const summaryBlob = await container
    .getBlockBlobClient(String((status as { summaryBlob?: string }).summaryBlob))
    .downloadToBuffer();
  const output = JSON.parse(summaryBlob.toString("utf8")) as {
    totals: { archived: number; alreadyArchived: number; jobExecutions: number };
    registryRequests: { listing: number; workers: number };
    images: { status: string }[];
  };
  const after = registry.stats();
  return {
    runId: id,
    wallSeconds: round(wallSeconds),
    registryRequests: after.requests - before.requests,
    summaryRegistryRequests: output.registryRequests,
    throttled: after.throttled - before.throttled,
    jobExecutions: output.totals.jobExecutions,
    archived: flags["dry-run"]
      ? output.images.filter((i) => i.status === "would-archive").length
      : output.totals.archived,
    alreadyArchived: output.totals.alreadyArchived,
    catalogPages: (after.byKind.catalog ?? 0) - (before.byKind.catalog ?? 0),
  };
}

/** A restore run of everything archive run `runId` archived, into `target`; figures from this host's stats alone. */
async function restoreRun(
  host: LocalFunctionsHost,
  source: SyntheticRegistry,
  target: SyntheticRegistry,
  container: ContainerClient,
  runId: string,
  maxParallel: number,
): Promise<RestoreFigures> {
  const before = target.stats();
  const started = performance.now();
  const response = await host.request("/api/restore", {
    method: "POST",
    body: JSON.stringify({ registry: source.host, runId, target: { registry: target.host }, maxParallel }),
  });
  const answer = (await response.json()) as { id: string };
  if (response.status !== 202)
    throw new Error(`POST /api/restore answered ${response.status}: ${JSON.stringify(answer)}`);
  const status = await waitForRun(host, answer.id, { kind: "restore", timeoutInMs: 3 * 60 * 60_000 });
  const wallSeconds = (performance.now() - started) / 1000;
  if (status.runtimeStatus !== "Completed")
    throw new Error(`restore run ended ${String(status.runtimeStatus)}: ${JSON.stringify(status)}`);
  const summaryBlob = await container
    .getBlockBlobClient(String((status as { summaryBlob?: string }).summaryBlob))
    .downloadToBuffer();
  const { totals, images } = JSON.parse(summaryBlob.toString("utf8")) as {
    totals: { restored: number; alreadyPresent: number; failed: number; jobExecutions: number };
    images: { status: string; error?: { code: string; message: string } }[];
  };
  const firstError = images.find((i) => i.error)?.error;
  const after = target.stats();
  const stats = await hostStats(host);
  return {
    wallSeconds: round(wallSeconds),
    jobExecutions: totals.jobExecutions,
    restored: totals.restored,
    alreadyPresent: totals.alreadyPresent,
    failed: totals.failed,
    targetRegistryRequests: after.requests - before.requests,
    targetThrottled: after.throttled - before.throttled,
    replays: stats.replays,
    orchestratorCpuSeconds: round(stats.orchestratorCpuMs / 1000),
    maxHistoryEvents: stats.maxHistoryEvents,
    maxHistoryInstanceId: stats.maxHistoryInstanceId,
    maxActivitySeconds: round(stats.maxActivityMs / 1000),
    maxActivityName: stats.maxActivityName,
    peakHostRssMiB: stats.peakRssMiB,
    ...(firstError && { firstError: `${firstError.code}: ${firstError.message}` }),
  };
}

const hostStats = async (host: LocalFunctionsHost) =>
  (await (await host.request("/admin/host/stats")).json()) as HostStats;

async function measure(images: number, repositories: number): Promise<ScaleResult> {
  const tagsPerRepository = Math.round(images / repositories);
  const withRestore =
    !flags["dry-run"] &&
    !flags["no-restore"] &&
    (flags.restore ?? tagsPerRepository * repositories <= RESTORE_BY_DEFAULT_UP_TO);
  const shape = { delayMs: Number(flags["delay-ms"]), limitPerMinute: Number(flags["limit-rpm"]) };
  const [registry, target, azurite] = await Promise.all([
    startSyntheticRegistry({ repositories, tagsPerRepository, ...shape }),
    // The restore's target: empty, so every "already present?" check answers 404 until the image is pushed.
    withRestore ? startSyntheticRegistry({ repositories: 0, tagsPerRepository: 0, ...shape }) : undefined,
    startAzurite({ scale: true }),
  ]);
  const startHost = () =>
    startFunctionsHost({
      timeScale: 0.001,
      logLevel: "error",
      // The local host keeps every instance's history in memory (the Azure backends keep it in storage): at 100,000
      // images that is past V8's default heap limit, so the host gets room for it.
      nodeArgs: ["--import", INSTANT_RUNNER, `--max-old-space-size=${HOST_HEAP_MIB}`],
      env: {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        JOB_RUNNER: "local",
        TASKHUB_NAME: "scale",
        NIGHTLY_SCHEDULE: "0 0 2 * * *",
        ALLOWED_REGISTRIES: "127.0.0.1:*",
        RESTORE_TARGET_REGISTRIES: "127.0.0.1:*",
        REGISTRY_READS_PER_MINUTE: String(flags["reads-per-minute"]),
      },
    });
  const maxParallel = Number(flags["max-parallel"]);
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  let host: LocalFunctionsHost | undefined;
  try {
    host = await startHost();
    const first = await archiveRun(host, registry, container, maxParallel);
    if (first.archived !== tagsPerRepository * repositories)
      throw new Error(`${first.archived} of ${tagsPerRepository * repositories} images archived`);
    const stats = await hostStats(host);
    if (flags["dry-run"]) {
      const none = { ...first, wallSeconds: 0, registryRequests: 0, jobExecutions: 0, requestsPerRepository: 0 };
      return {
        images: tagsPerRepository * repositories,
        repositories,
        first,
        rerun: { ...none, catalogPages: 0 },
        replays: stats.replays,
        orchestratorCpuSeconds: round(stats.orchestratorCpuMs / 1000),
        maxHistoryEvents: stats.maxHistoryEvents,
        maxHistoryInstanceId: stats.maxHistoryInstanceId,
        maxActivitySeconds: round(stats.maxActivityMs / 1000),
        maxActivityName: stats.maxActivityName,
        peakHostRssMiB: stats.peakRssMiB,
        loadAverage: loadavg().map(round),
      };
    }
    await host.stop();
    // The nightly re-run in a fresh host, as a night later: no registry token or client survives from the first run.
    host = await startHost();
    const rerun = await archiveRun(host, registry, container, maxParallel);
    const rerunStats = await hostStats(host);
    let restore: RestoreFigures | undefined;
    if (target) {
      await host.stop();
      // The restore in a fresh host too: its stats (history, CPU, RSS) are the restore run's alone.
      host = await startHost();
      restore = await restoreRun(host, registry, target, container, first.runId, maxParallel);
      if (restore.restored !== tagsPerRepository * repositories)
        throw new Error(
          `${restore.restored} of ${tagsPerRepository * repositories} images restored: ${JSON.stringify(restore)}`,
        );
    }
    const longest = rerunStats.maxActivityMs > stats.maxActivityMs ? rerunStats : stats;
    return {
      images: tagsPerRepository * repositories,
      repositories,
      first,
      rerun: {
        ...rerun,
        requestsPerRepository: round((rerun.registryRequests - rerun.catalogPages) / repositories),
      },
      replays: stats.replays,
      orchestratorCpuSeconds: round(stats.orchestratorCpuMs / 1000),
      maxHistoryEvents: Math.max(stats.maxHistoryEvents, rerunStats.maxHistoryEvents),
      maxHistoryInstanceId:
        stats.maxHistoryEvents >= rerunStats.maxHistoryEvents
          ? stats.maxHistoryInstanceId
          : rerunStats.maxHistoryInstanceId,
      maxActivitySeconds: round(longest.maxActivityMs / 1000),
      maxActivityName: longest.maxActivityName,
      peakHostRssMiB: Math.max(stats.peakRssMiB, rerunStats.peakRssMiB),
      ...(restore && { restore }),
      loadAverage: loadavg().map(round),
    };
  } finally {
    await host?.stop();
    await Promise.all([registry.stop(), target?.stop(), azurite.stop()]);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const sizes = String(flags.sizes)
    .split(",")
    .map((s) => s.split(":").map(Number) as [number, number]);
  console.log(
    `latency ${flags["delay-ms"]} ms a request, registry limit ${flags["limit-rpm"]}/min, ` +
      `REGISTRY_READS_PER_MINUTE ${flags["reads-per-minute"]}, maxParallel ${flags["max-parallel"]}; load before: ${loadavg().map(round).join(" ")}`,
  );
  const results: ScaleResult[] = [];
  for (const [images, repositories] of sizes) {
    const result = await measure(images, repositories);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  console.log(
    "\n| images (repositories) | wall s | registry requests (429s) | longest activity s | largest history | orchestrator CPU s | peak host RSS MiB | re-run: jobs, requests / repository, wall s | load avg |" +
      "\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const r of results)
    console.log(
      `| ${r.images} (${r.repositories}) | ${r.first.wallSeconds} | ${r.first.registryRequests} (${r.first.throttled}) | ` +
        `${r.maxActivitySeconds} (${r.maxActivityName}) | ${r.maxHistoryEvents} | ${r.orchestratorCpuSeconds} | ${r.peakHostRssMiB} | ` +
        `${r.rerun.jobExecutions}, ${r.rerun.requestsPerRepository} + ${r.rerun.catalogPages} catalog pages, ${r.rerun.wallSeconds} | ${r.loadAverage.join(" ")} |`,
    );
  const restored = results.filter((r) => r.restore);
  if (restored.length)
    console.log(
      "\n| restore of images | wall s | jobs started | restored, already present, failed | largest history | orchestrator CPU s | peak host RSS MiB | target requests (429s) |" +
        "\n| --- | --- | --- | --- | --- | --- | --- | --- |",
    );
  for (const { images, restore: f } of restored)
    console.log(
      `| ${images} | ${f!.wallSeconds} | ${f!.jobExecutions} | ${f!.restored}, ${f!.alreadyPresent}, ${f!.failed} | ` +
        `${f!.maxHistoryEvents} | ${f!.orchestratorCpuSeconds} | ${f!.peakHostRssMiB} | ${f!.targetRegistryRequests} (${f!.targetThrottled}) |`,
    );
  const byImages = new Map(results.map((r) => [r.images, r]));
  const tenK = byImages.get(10_000);
  const hundredK = byImages.get(100_000);
  console.log(
    JSON.stringify({
      ...(tenK &&
        hundredK && { cpuRatio100kTo10k: round(hundredK.orchestratorCpuSeconds / tenK.orchestratorCpuSeconds) }),
      maxHistoryEvents: Math.max(...results.map((r) => r.maxHistoryEvents)),
      maxActivitySeconds: Math.max(...results.map((r) => r.maxActivitySeconds)),
      rerunJobs: results.map((r) => r.rerun.jobExecutions),
      rerunRequestsPerRepository: results.map((r) => r.rerun.requestsPerRepository),
      restore: restored.map(({ images, restore: f }) => ({
        images,
        wallSeconds: f!.wallSeconds,
        jobExecutions: f!.jobExecutions,
        maxHistoryEvents: f!.maxHistoryEvents,
        orchestratorCpuSeconds: f!.orchestratorCpuSeconds,
        peakHostRssMiB: f!.peakHostRssMiB,
      })),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(`scale bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
