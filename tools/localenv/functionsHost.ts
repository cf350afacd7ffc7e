// Starts this app in the local Functions host (tools/functions-host) as a child process on 127.0.0.1 and a
// free port, with the given app settings as its environment; stopped by PID.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ContainerClient } from "@azure/storage-blob";

const HOST_MAIN = fileURLToPath(new URL("../functions-host/main.js", import.meta.url));
// dist/tools/localenv → the repository root, whose package.json "main" names the compiled functions.
const APP_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface LocalFunctionsHost {
  baseUrl: string;
  key: string;
  output: () => string;
  /** fetch() against the host with the function key. */
  request: (path: string, init?: RequestInit) => Promise<Response>;
  stop: () => Promise<void>;
  /** SIGKILL, no shutdown (a crash): with `stateDir`, a host started again resumes from what was stored. */
  kill: () => Promise<void>;
}

export interface StartFunctionsHostOptions {
  env: Record<string, string>;
  timeScale?: number;
  logLevel?: string;
  nodeArgs?: string[];
  /** Another app than this one (a test fixture that runs the real orchestrators over stand-in activities). */
  appRoot?: string;
  /** Keep orchestration state in this directory (--state-dir): a host started again with it resumes. */
  stateDir?: string;
}

export async function startFunctionsHost(options: StartFunctionsHostOptions): Promise<LocalFunctionsHost> {
  const key = randomBytes(16).toString("hex");
  const args = [
    ...(options.nodeArgs ?? []),
    HOST_MAIN,
    "--app",
    options.appRoot ?? APP_ROOT,
    "--port",
    "0",
    "--time-scale",
    String(options.timeScale ?? 1),
    "--key",
    key,
    "--log-level",
    options.logLevel ?? "warning",
    ...(options.stateDir ? ["--state-dir", options.stateDir] : []),
  ];
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(AZURE_|ACR_|STORAGE_|REGISTRY_|ARCHIVE_|JOB_|NIGHTLY_|TASKHUB_|WEBSITE_)/.test(k),
    ),
  );
  const child = spawn(process.execPath, args, {
    env: { ...base, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-200_000);
  };
  child.stderr.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the functions host did not start within 60 s:\n${output}`)),
      60_000,
    );
    child.stdout.on("data", (b: Buffer) => {
      keep(b);
      const match = /functions-host listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the functions host exited (${code}) before it was ready:\n${output}`));
    });
  });
  return {
    baseUrl,
    key,
    output: () => output,
    request: (path, init = {}) =>
      fetch(`${baseUrl}${path}`, {
        ...init,
        headers: { "x-functions-key": key, ...(init.headers as Record<string, string> | undefined) },
      }),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000).unref());
      if ((await Promise.race([exited.then(() => "exited" as const), timeout])) === "timeout") {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    },
  };
}

/** Polls GET /api/archive/{id} until the run ends; `onProgress` sees every status. */
export async function waitForRun(
  host: LocalFunctionsHost,
  instanceId: string,
  options: {
    timeoutInMs?: number;
    onProgress?: (status: Record<string, unknown>) => void;
    /** Which kind of run: its status endpoint (`/api/archive/{id}` or `/api/restore/{id}`). Default archive. */
    kind?: "archive" | "restore";
  } = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutInMs ?? 300_000);
  while (Date.now() < deadline) {
    const response = await host.request(`/api/${options.kind ?? "archive"}/${encodeURIComponent(instanceId)}`);
    if (response.status === 200) {
      const status = (await response.json()) as Record<string, unknown>;
      options.onProgress?.(status);
      if (["Completed", "Failed", "Terminated"].includes(String(status.runtimeStatus))) return status;
    } else {
      await response.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`run ${instanceId} did not finish in time:\n${host.output().slice(-5000)}`);
}

/**
 * Fires the nightly timer (`POST /admin/functions/nightlyArchive`, as the Functions host's admin API does) and waits for
 * the summary of a timer-started run that was not in the container before: the first one written.
 */
export async function runNightlyArchive(
  host: LocalFunctionsHost,
  container: ContainerClient,
  options: { timeoutInMs?: number } = {},
): Promise<Record<string, unknown>> {
  const summaries = async () => {
    const names: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: "runs/archive-" }))
      if (item.name.endsWith("/summary.json")) names.push(item.name);
    return names;
  };
  const before = new Set(await summaries());
  const response = await host.request("/admin/functions/nightlyArchive", {
    method: "POST",
    body: JSON.stringify({ input: "" }),
    headers: { "content-type": "application/json" },
  });
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`the nightly timer was not started: HTTP ${response.status}`);
  const deadline = Date.now() + (options.timeoutInMs ?? 120_000);
  while (Date.now() < deadline) {
    for (const name of (await summaries()).filter((n) => !before.has(n))) {
      const summary = JSON.parse((await container.getBlockBlobClient(name).downloadToBuffer()).toString("utf8"));
      if (summary.requestedBy === "timer") return summary as Record<string, unknown>;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no timer-started run wrote its summary in time:\n${host.output().slice(-5000)}`);
}
