// README command 1 (at this stage): a local registry seeded with sample images, Azurite, and the real worker
// archiving every image; run twice to show that the second pass archives nothing.
import { startAzurite } from "./localenv/azurite.js";
import { pushImage } from "./localenv/fixtures.js";
import { startRegistry } from "./localenv/registry.js";
import { SAMPLE_IMAGES } from "./localenv/samples.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const WORKER = fileURLToPath(new URL("../src/worker/main.js", import.meta.url));

function runWorker(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b));
    child.stderr.on("data", (b: Buffer) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  try {
    console.log(`registry ${registry.host}, Azurite blob port ${azurite.port}: seeding ${SAMPLE_IMAGES.length} sample images`);
    for (const sample of SAMPLE_IMAGES) await pushImage(registry.host, sample.repositoryAndTag, sample.image);
    for (const pass of [1, 2]) {
      console.log(`\npass ${pass}`);
      for (const sample of SAMPLE_IMAGES) {
        const run = await runWorker({
          AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
          ARCHIVE_REQUEST: JSON.stringify({ image: `${registry.host}/${sample.repositoryAndTag}`, blobContainer: "images" }),
        });
        if (run.code !== 0) {
          console.log(`  failed    ${sample.repositoryAndTag}: ${run.stderr.trim()}`);
          continue;
        }
        const r = JSON.parse(run.stdout) as { status: string; bytes: number; archiveBlob: string };
        console.log(`  ${r.status.padEnd(16)} ${sample.repositoryAndTag.padEnd(34)} ${String(r.bytes).padStart(9)} B  ${r.archiveBlob}`);
      }
    }
  } finally {
    await Promise.all([registry.stop(), azurite.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
