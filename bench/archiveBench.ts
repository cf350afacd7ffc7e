// npm run bench: the old pipeline and ours on the same fixtures in the same run.
//   old = skopeo copy docker://… docker-archive:<scratch>/image.tar → pigz -1 → upload (Archive, 8 MiB × 4) → sidecar
//   new = the worker process (registry → tar → adaptive gzip → staged blocks → commit), no scratch
// Median of N runs each on a ≥1 GiB incompressible image and a realistic compressible one; peak scratch bytes
// and the worker's peak RSS at 1 GiB and 2 GiB. The last line is one JSON object for the incompressible image.
// Network-shaped mode (bench/networkProxy.ts, in front of the same registry): every request delayed by one round trip
// (--rtt-ms, default 20) and each TCP connection paced (--rate-mbps MB/s, default 25), for the old pipeline, ours and
// a parallel download (`skopeo copy docker://… oci:<dir>`, the reference), on 8 × 32 MiB incompressible layers and on
// 40 × 1 MiB layers; `wanRatio` and `wanSmallLayersRatio` in the last line. Then the upload side: the storage behind the
// same shape too, the worker with several UPLOAD_BLOCK_SIZE_MIB × UPLOAD_CONCURRENCY settings. `--only loopback|wan|upload`
// runs one part.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../tools/localenv/azurite.js";
import { pushImage, type ImageSpec } from "../tools/localenv/fixtures.js";
import { requireTool } from "../tools/localenv/processes.js";
import { startRegistry } from "../tools/localenv/registry.js";
import { startShapedProxy } from "./networkProxy.js";

const execFileAsync = promisify(execFile);
const WORKER = fileURLToPath(new URL("../src/worker/main.bundle.mjs", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MiB = 1024 * 1024;

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}
const ONLY = flag("only", "");
const RTT_MS = Number(flag("rtt-ms", "20"));
const RATE_MBPS = Number(flag("rate-mbps", "25"));

const randomLayers = (layers: number, bytes: number): ImageSpec => ({
  layers: Array.from({ length: layers }, () => ({ randomBytes: bytes, compression: "gzip-stored" as const })),
});
const randomImage = (layers: number): ImageSpec => randomLayers(layers, 256 * MiB);
const realisticImage: ImageSpec = {
  layers: [
    { textBytes: 160 * MiB },
    { textBytes: 160 * MiB },
    { textBytes: 160 * MiB },
    { files: { "etc/app.conf": "x=1\n" } },
  ],
};

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirBytes(path) : (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function dropCaches(): Promise<void> {
  await execFileAsync("sh", ["-c", "sync; echo 3 > /proc/sys/vm/drop_caches"]).catch(() => undefined);
}

async function oldPipeline(
  image: string,
  connectionString: string,
  container: string,
): Promise<{ seconds: number; scratchBytes: number }> {
  const scratch = await mkdtemp(join(tmpdir(), "old-pipeline-"));
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await dirBytes(scratch).catch(() => 0));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const started = performance.now();
  try {
    const { stdout: inspect } = await execFileAsync("skopeo", ["inspect", "--tls-verify=false", `docker://${image}`], {
      maxBuffer: 64 * MiB,
    });
    const digest = (JSON.parse(inspect) as { Digest: string }).Digest;
    await execFileAsync(
      "skopeo",
      ["copy", "--src-tls-verify=false", `docker://${image}`, `docker-archive:${scratch}/image.tar`],
      { maxBuffer: 64 * MiB },
    );
    await execFileAsync("pigz", ["-1", `${scratch}/image.tar`]);
    const service = BlobServiceClient.fromConnectionString(connectionString);
    const containerClient = service.getContainerClient(container);
    await containerClient.createIfNotExists();
    const base = `${image.split("/").slice(1).join("--").replace(":", "--")}.tar.gz`;
    await containerClient
      .getBlockBlobClient(base)
      .uploadFile(`${scratch}/image.tar.gz`, { blockSize: 8 * MiB, concurrency: 4, tier: "Archive" });
    const sidecar = {
      image,
      archiveBlob: base,
      createdAtUtc: new Date().toISOString(),
      mediaType: "application/x-tar",
      compression: { format: "gzip", level: 1 },
      source: { digest },
    };
    await containerClient
      .getBlockBlobClient(`${base}.json`)
      .uploadData(Buffer.from(JSON.stringify(sidecar)), { tier: "Archive" });
  } finally {
    sampling = false;
    await sampler;
    peak = Math.max(peak, await dirBytes(scratch).catch(() => 0));
    await rm(scratch, { recursive: true, force: true });
  }
  return { seconds: (performance.now() - started) / 1000, scratchBytes: peak };
}

/** The parallel download alone: `skopeo copy docker://… oci:<dir>` (6 blobs at a time), the reference. */
async function parallelDownload(image: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "parallel-download-"));
  const started = performance.now();
  try {
    await execFileAsync("skopeo", ["copy", "--src-tls-verify=false", `docker://${image}`, `oci:${dir}/layout`], {
      maxBuffer: 64 * MiB,
    });
    return (performance.now() - started) / 1000;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function newPipeline(
  image: string,
  connectionString: string,
  container: string,
  extraEnv: Record<string, string> = {},
): Promise<{ seconds: number; peakRssMiB: number; bytes: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      AZURE_STORAGE_CONNECTION_STRING: connectionString,
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      ARCHIVE_CONTAINER: container,
      ARCHIVE_REQUEST: JSON.stringify({ image, blobContainer: container }),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let peakKiB = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      /* exited */
    }
  }, 20);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b));
  child.stderr.on("data", (b: Buffer) => (stderr += b));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`worker failed: ${stderr.trim()}`);
  const result = JSON.parse(stdout) as { bytes: number };
  return { seconds: (performance.now() - started) / 1000, peakRssMiB: Math.round(peakKiB / 1024), bytes: result.bytes };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  for (const tool of ["skopeo", "pigz", "docker-registry"]) requireTool(tool);
  const [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const report: string[] = [];
  try {
    const summary: Record<string, number> = {};
    if (ONLY === "upload") {
      await pushImage(registry.host, "bench/wan8x32:1", randomLayers(8, 32 * MiB));
      await uploadTuning(registry.host, azurite.connectionString, service, report, summary);
    } else {
      if (ONLY !== "wan") await loopbackBench(registry.host, azurite.connectionString, service, report, summary);
      if (ONLY !== "loopback") await wanBench(registry.host, azurite.connectionString, service, report, summary);
    }
    console.log(report.join("\n"));
    await writeFile(join(tmpdir(), "acr-cold-archive-bench.json"), JSON.stringify(summary));
    console.log(JSON.stringify(summary));
  } finally {
    await Promise.all([registry.stop(), azurite.stop()]);
  }
}

async function loopbackBench(
  host: string,
  connectionString: string,
  service: BlobServiceClient,
  report: string[],
  summary: Record<string, number>,
): Promise<void> {
  const registry = { host };
  const azurite = { connectionString };
  console.log("building fixtures (1 GiB random, realistic, 2 GiB random)…");
  await pushImage(registry.host, "bench/random1g:1", randomImage(4));
  await pushImage(registry.host, "bench/realistic:1", realisticImage);
  await pushImage(registry.host, "bench/random2g:1", randomImage(8));
  const results: Record<string, { old: number[]; new: number[]; scratch: number[]; rss: number[]; bytes: number }> = {};
  for (const name of ["random1g", "realistic"]) {
    const image = `${registry.host}/bench/${name}:1`;
    const r: { old: number[]; new: number[]; scratch: number[]; rss: number[]; bytes: number } = {
      old: [],
      new: [],
      scratch: [],
      rss: [],
      bytes: 0,
    };
    results[name] = r;
    for (let i = 0; i < RUNS; i++) {
      await dropCaches();
      const old = await oldPipeline(image, azurite.connectionString, `old-${name}-${i}`);
      r.old.push(old.seconds);
      r.scratch.push(old.scratchBytes);
      await service.getContainerClient(`old-${name}-${i}`).delete();
      await dropCaches();
      const ours = await newPipeline(image, azurite.connectionString, `new-${name}-${i}`);
      r.new.push(ours.seconds);
      r.rss.push(ours.peakRssMiB);
      r.bytes = ours.bytes;
      await service.getContainerClient(`new-${name}-${i}`).delete();
      console.log(
        `  ${name} run ${i + 1}: old ${round(old.seconds)} s (scratch ${round(old.scratchBytes / 1e9)} GB), new ${round(ours.seconds)} s (peak RSS ${ours.peakRssMiB} MiB)`,
      );
    }
  }
  await dropCaches();
  const twoGiB = await newPipeline(`${registry.host}/bench/random2g:1`, azurite.connectionString, "new-random2g");
  await service.getContainerClient("new-random2g").delete();

  report.push(
    "",
    "| image | old s (median) | new s (median) | old/new | old peak scratch | new scratch | new peak RSS |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const [name, r] of Object.entries(results)) {
    report.push(
      `| ${name} | ${round(median(r.old))} | ${round(median(r.new))} | ${round(median(r.old) / median(r.new))}× | ${round(median(r.scratch) / 1e9)} GB | 0 | ${Math.max(...r.rss)} MiB |`,
    );
  }
  report.push(`| random2g (RSS check) | — | ${round(twoGiB.seconds)} | — | — | 0 | ${twoGiB.peakRssMiB} MiB |`);
  const r1 = results.random1g!;
  Object.assign(summary, {
    oldSeconds: round(median(r1.old)),
    newSeconds: round(median(r1.new)),
    ratio: round(median(r1.old) / median(r1.new)),
    scratchBytes: 0,
    oldScratchBytes: median(r1.scratch),
    peakRssMiB: Math.max(...r1.rss),
    peakRssMiB2GiB: twoGiB.peakRssMiB,
    realisticRatio: round(median(results.realistic!.old) / median(results.realistic!.new)),
  });
}

async function wanBench(
  registryHost: string,
  connectionString: string,
  service: BlobServiceClient,
  report: string[],
  summary: Record<string, number>,
): Promise<void> {
  console.log(
    `building fixtures (8 × 32 MiB random, 40 × 1 MiB random); network shape: ${RTT_MS} ms per request, ${RATE_MBPS} MB/s per connection…`,
  );
  await pushImage(registryHost, "bench/wan8x32:1", randomLayers(8, 32 * MiB));
  await pushImage(registryHost, "bench/wan40x1:1", randomLayers(40, MiB));
  const proxy = await startShapedProxy(registryHost, { rttMs: RTT_MS, bytesPerSecond: RATE_MBPS * 1e6 });
  const rows: Record<string, { old: number[]; new: number[]; parallel: number[]; rss: number[] }> = {};
  try {
    for (const name of ["wan8x32", "wan40x1"]) {
      const image = `${proxy.host}/bench/${name}:1`;
      const r = { old: [] as number[], new: [] as number[], parallel: [] as number[], rss: [] as number[] };
      rows[name] = r;
      for (let i = 0; i < RUNS; i++) {
        const old = await oldPipeline(image, connectionString, `old-${name}-${i}`);
        r.old.push(old.seconds);
        await service.getContainerClient(`old-${name}-${i}`).delete();
        const ours = await newPipeline(image, connectionString, `new-${name}-${i}`);
        r.new.push(ours.seconds);
        r.rss.push(ours.peakRssMiB);
        await service.getContainerClient(`new-${name}-${i}`).delete();
        r.parallel.push(await parallelDownload(image));
        console.log(
          `  ${name} run ${i + 1}: old ${round(old.seconds)} s, new ${round(ours.seconds)} s (peak RSS ${ours.peakRssMiB} MiB), parallel download ${round(r.parallel.at(-1)!)} s`,
        );
      }
    }
  } finally {
    await proxy.stop();
  }
  report.push(
    "",
    `network-shaped (${RTT_MS} ms per request, ${RATE_MBPS} MB/s per connection), median of ${RUNS}:`,
    "| image | old s | new s | old/new | parallel download s | new / parallel | new peak RSS |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const [name, r] of Object.entries(rows)) {
    report.push(
      `| ${name} | ${round(median(r.old))} | ${round(median(r.new))} | ${round(median(r.old) / median(r.new))}× | ${round(median(r.parallel))} | ${round(median(r.new) / median(r.parallel))}× | ${Math.max(...r.rss)} MiB |`,
    );
  }
  await uploadTuning(registryHost, connectionString, service, report, summary);
  const big = rows.wan8x32!;
  const small = rows.wan40x1!;
  Object.assign(summary, {
    wanOldSeconds: round(median(big.old)),
    wanNewSeconds: round(median(big.new)),
    wanParallelDownloadSeconds: round(median(big.parallel)),
    wanRatio: round(median(big.old) / median(big.new)),
    wanSmallLayersRatio: round(median(small.old) / median(small.new)),
    wanSmallLayersNewSeconds: round(median(small.new)),
    wanSmallLayersParallelDownloadSeconds: round(median(small.parallel)),
  });
}

/** Upload settings with the storage behind the same network shape too (Put Block paced per connection, one RTT each). */
const UPLOAD_SETTINGS: [blockMiB: number, concurrency: number][] = [
  [8, 4], // the defaults before this was measured
  [4, 8],
  [8, 8],
  [16, 4],
  [4, 16],
];

async function uploadTuning(
  registryHost: string,
  connectionString: string,
  service: BlobServiceClient,
  report: string[],
  summary: Record<string, number>,
): Promise<void> {
  const endpoint = /BlobEndpoint=http:\/\/([^/;]+)\//.exec(connectionString)![1]!;
  const shape = { rttMs: RTT_MS, bytesPerSecond: RATE_MBPS * 1e6 };
  const [registryProxy, storageProxy] = await Promise.all([
    startShapedProxy(registryHost, shape),
    startShapedProxy(endpoint, shape),
  ]);
  const shapedStorage = connectionString.replace(endpoint, storageProxy.host);
  const image = `${registryProxy.host}/bench/wan8x32:1`;
  const rows: string[] = [];
  try {
    for (const [blockMiB, concurrency] of UPLOAD_SETTINGS) {
      const seconds: number[] = [];
      let rss = 0;
      for (let i = 0; i < RUNS; i++) {
        const container = `upload-${blockMiB}x${concurrency}-${i}`;
        const ours = await newPipeline(image, shapedStorage, container, {
          UPLOAD_BLOCK_SIZE_MIB: String(blockMiB),
          UPLOAD_CONCURRENCY: String(concurrency),
        });
        seconds.push(ours.seconds);
        rss = Math.max(rss, ours.peakRssMiB);
        await service.getContainerClient(container).delete();
      }
      console.log(
        `  upload ${blockMiB} MiB × ${concurrency}: ${seconds.map((x) => round(x)).join(", ")} s (peak RSS ${rss} MiB)`,
      );
      rows.push(`| ${blockMiB} MiB × ${concurrency} | ${round(median(seconds))} | ${rss} MiB |`);
      if (blockMiB === 4 && concurrency === 8) summary.wanUploadShapedSeconds = round(median(seconds)); // the defaults
    }
  } finally {
    await Promise.all([registryProxy.stop(), storageProxy.stop()]);
  }
  report.push(
    "",
    `upload side: registry and storage both behind the network shape, 8 × 32 MiB, median of ${RUNS}:`,
    "| UPLOAD_BLOCK_SIZE_MIB × UPLOAD_CONCURRENCY | new s | new peak RSS |",
    "| --- | --- | --- |",
    ...rows,
  );
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
