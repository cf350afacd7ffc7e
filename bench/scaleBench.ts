// npm run bench:scale — 1,000 and 10,000 synthetic images through the local host with an instant job runner:
// replays, the largest history of any orchestration instance, and orchestrator CPU seconds. The target is linear
// growth (CPU at 10,000 ≤ 12× CPU at 1,000) and no instance history above ~2,000 events.
import { fileURLToPath } from "node:url";
import { startAzurite } from "../tools/localenv/azurite.js";
import { startFunctionsHost, waitForRun } from "../tools/localenv/functionsHost.js";
import { startSyntheticRegistry } from "./syntheticRegistry.js";

const INSTANT_RUNNER = fileURLToPath(new URL("./registerInstantJobRunner.js", import.meta.url));

interface ScaleResult {
  images: number;
  wallSeconds: number;
  replays: number;
  orchestratorCpuSeconds: number;
  maxHistoryEvents: number;
  maxHistoryInstanceId: string;
  archived: number;
}

async function measure(repositories: number, tagsPerRepository: number): Promise<ScaleResult> {
  const images = repositories * tagsPerRepository;
  const [registry, azurite] = await Promise.all([
    startSyntheticRegistry(repositories, tagsPerRepository),
    startAzurite(),
  ]);
  const host = await startFunctionsHost({
    timeScale: 0.001,
    logLevel: "error",
    nodeArgs: ["--import", INSTANT_RUNNER],
    env: {
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      JOB_RUNNER: "local",
      TASKHUB_NAME: "scale",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      ALLOWED_REGISTRIES: "127.0.0.1:*",
    },
  });
  try {
    const started = performance.now();
    const response = await host.request("/api/archive", {
      method: "POST",
      body: JSON.stringify({ registry: registry.host, maxParallel: 10 }),
    });
    const { id } = (await response.json()) as { id: string };
    if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
    const status = await waitForRun(host, id, { timeoutInMs: 60 * 60_000 });
    const wallSeconds = (performance.now() - started) / 1000;
    if (status.runtimeStatus !== "Completed")
      throw new Error(`run ended ${String(status.runtimeStatus)}: ${String(status.error)}`);
    const stats = (await (await host.request("/admin/host/stats")).json()) as {
      replays: number;
      orchestratorCpuMs: number;
      maxHistoryEvents: number;
      maxHistoryInstanceId: string;
    };
    const archived = (status.progress as { archived: number }).archived;
    if (archived !== images) throw new Error(`${archived} of ${images} images archived`);
    return {
      images,
      wallSeconds: round(wallSeconds),
      replays: stats.replays,
      orchestratorCpuSeconds: round(stats.orchestratorCpuMs / 1000),
      maxHistoryEvents: stats.maxHistoryEvents,
      maxHistoryInstanceId: stats.maxHistoryInstanceId,
      archived,
    };
  } finally {
    await host.stop();
    await Promise.all([registry.stop(), azurite.stop()]);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const small = await measure(10, 100);
  console.log(JSON.stringify(small));
  const large = await measure(100, 100);
  console.log(JSON.stringify(large));
  console.log(
    "\n| images | wall s | replays | orchestrator CPU s | largest history (events) |\n| --- | --- | --- | --- | --- |",
  );
  for (const r of [small, large])
    console.log(
      `| ${r.images} | ${r.wallSeconds} | ${r.replays} | ${r.orchestratorCpuSeconds} | ${r.maxHistoryEvents} (${r.maxHistoryInstanceId.replace(/^archive-.*?-\d{8}T\d{9}Z-[a-f0-9]{6}/, "<run>")}) |`,
    );
  console.log(
    JSON.stringify({
      cpuRatio10kTo1k: round(large.orchestratorCpuSeconds / small.orchestratorCpuSeconds),
      maxHistoryEvents10k: large.maxHistoryEvents,
      replays10k: large.replays,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(`scale bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
