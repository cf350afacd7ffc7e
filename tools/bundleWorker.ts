// npm run build's last step: the worker (dist/src/worker/main.js, what tsc compiled) bundled by esbuild into one file,
// dist/src/worker/main.bundle.mjs, with every dependency inside. A worker is started for each image, so its start-up is
// paid once per image: node resolves and compiles ~720 modules to load main.js (~280 ms here), one file in ~110 ms.
// The bundle is what the Dockerfile ships and what LocalJobRunner, the tests and the bench start; it needs no
// node_modules (test/integration/worker.smoke.test.ts runs it from an empty directory).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

/** The bundled worker: the Container Apps Job's entrypoint. */
export const WORKER_BUNDLE = fileURLToPath(new URL("../src/worker/main.bundle.mjs", import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL("../src/worker/main.js", import.meta.url));

async function main(): Promise<void> {
  const result = await build({
    entryPoints: [WORKER_MAIN],
    outfile: WORKER_BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // CommonJS dependencies (tar-stream, picomatch, …) call require() for Node's own modules: an ESM bundle has none.
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
    // main.ts sets the heap policy, then imports job.js: esbuild keeps that import lazy (the modules still load after).
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)?.bytes ?? 0;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(`worker bundle: ${inputs} modules, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
}

main().catch((error: unknown) => {
  console.error(`bundling the worker failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
