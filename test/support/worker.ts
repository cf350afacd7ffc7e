// Runs the real worker and CLI as child processes (what the Container Apps Job and a person run).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

// The bundled worker (npm run build): what the Dockerfile ships.
export const WORKER_MAIN = fileURLToPath(new URL("../../src/worker/main.bundle.mjs", import.meta.url));
export const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: the parent's minus anything that would change which storage/registry it talks to. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(AZURE_|ACR_|STORAGE_|REGISTRY_|ARCHIVE_|ALLOWED_REGISTRIES|QUEUE_MESSAGE_FILE|GZIP_LEVEL|PIGZ_LEVEL|UPLOAD_)/.test(
          k,
        ),
    ),
  );
  return { ...base, ...extra };
}

export function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { onStart?: (pid: number) => void } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("spawn", () => options.onStart?.(child.pid!));
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * The worker job's env as deployed: it may read the tests' loopback registries and write the container its request
 * names (ALLOWED_REGISTRIES and ARCHIVE_CONTAINER, as the Bicep sets them for its registry and container).
 */
export function workerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  let container = "images";
  try {
    const named = (JSON.parse(extra.ARCHIVE_REQUEST ?? "{}") as { blobContainer?: unknown }).blobContainer;
    if (typeof named === "string" && /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(named)) container = named;
  } catch {
    /* a test of a request that is not JSON */
  }
  return childEnv({ ALLOWED_REGISTRIES: "127.0.0.1:*", ARCHIVE_CONTAINER: container, ...extra });
}

export function runWorker(env: Record<string, string>): Promise<ProcessResult> {
  return runNode(WORKER_MAIN, [], workerEnv(env));
}

export function runCli(args: string[], env: Record<string, string>): Promise<ProcessResult> {
  return runNode(CLI_MAIN, args, childEnv(env));
}
