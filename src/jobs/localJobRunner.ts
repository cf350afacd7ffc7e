// Runs each image's worker as a local child process (`node dist/src/worker/main.bundle.mjs`, the bundled worker): the
// same entrypoint and env contract as the Container Apps Job, for development and tests. Executions live in memory, by
// generated name.
import { randomBytes } from "node:crypto";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { ArchiveError, firstLine } from "../errors.js";
import {
  assertEnvOverrides,
  TERMINAL_JOB_STATUSES,
  type ExecutionEnvMatch,
  type JobExecution,
  type JobRunner,
  type JobRunnerOperationOptions,
} from "./jobRunner.js";

export interface LocalJobRunnerOptions {
  /** The worker entrypoint; default: the bundled worker, `../worker/main.bundle.mjs` (npm run build makes it). */
  workerPath?: string;
  /** Node.js binary; default: the one running this process. */
  nodePath?: string;
  /** Env the per-image vars are added to; default: this process's env, read at each start. */
  env?: NodeJS.ProcessEnv;
  /** What a Container Apps job's template would set (the worker's scope: ALLOWED_REGISTRIES, ARCHIVE_CONTAINER), over `env`. */
  templateEnv?: Record<string, string>;
  /** First part of execution names `<prefix>-<counter>-<random>`; default `local`. */
  namePrefix?: string;
  /** Time between SIGTERM and SIGKILL on stop; default 10 s. */
  stopGracePeriodInMs?: number;
}

interface LocalExecution {
  name: string;
  status: JobExecution["status"];
  startTime: string;
  endTime?: string;
  error?: string;
  stopRequested: boolean;
  /** The per-execution env overrides (what Azure lists as the execution's template env). */
  overrides: Record<string, string>;
  subprocess: ResultPromise;
  done: Promise<void>;
}

const DEFAULT_WORKER = fileURLToPath(new URL("../worker/main.bundle.mjs", import.meta.url));
const MAX_ERROR_LENGTH = 2000;

export class LocalJobRunner implements JobRunner {
  private readonly executions = new Map<string, LocalExecution>();
  private counter = 0;
  private readonly workerPath: string;
  private readonly nodePath: string;
  private readonly prefix: string;
  private readonly gracePeriodInMs: number;

  constructor(private readonly options: LocalJobRunnerOptions = {}) {
    this.workerPath = options.workerPath ?? DEFAULT_WORKER;
    this.nodePath = options.nodePath ?? process.execPath;
    this.prefix = options.namePrefix ?? "local";
    this.gracePeriodInMs = options.stopGracePeriodInMs ?? 10_000;
  }

  async startExecution(env: Record<string, string>, options: JobRunnerOperationOptions = {}): Promise<JobExecution> {
    assertEnvOverrides(env); // the same contract as Container Apps, so local runs catch what Azure would expose
    throwIfAborted(options.abortSignal, "start");
    await access(this.workerPath).catch(() => {
      throw new ArchiveError(
        "CONFIG_INVALID",
        `local job runner: worker not found at ${this.workerPath} (build first: npm run build)`,
      );
    });
    throwIfAborted(options.abortSignal, "start");

    const name = `${this.prefix}-${++this.counter}-${randomBytes(4).toString("hex")}`;
    // Not tied to abortSignal: it cancels this call, not the execution (as with Azure); stopExecution ends it.
    const subprocess = execa(this.nodePath, [this.workerPath], {
      env: { ...(this.options.env ?? process.env), ...this.options.templateEnv, ...env },
      extendEnv: false,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      buffer: false,
      reject: false,
      forceKillAfterDelay: this.gracePeriodInMs,
    });
    const execution: LocalExecution = {
      name,
      status: "Running",
      startTime: new Date().toISOString(),
      stopRequested: false,
      overrides: { ...env },
      subprocess,
      done: Promise.resolve(),
    };

    let lastLine: string | undefined;
    const stderrClosed = subprocess.stderr
      ? new Promise<void>((resolve) => {
          const lines = createInterface({ input: subprocess.stderr!, crlfDelay: Infinity });
          lines.on("line", (line) => {
            if (line.trim()) lastLine = line.trim().slice(0, MAX_ERROR_LENGTH);
          });
          lines.once("close", () => resolve());
        })
      : Promise.resolve();
    execution.done = Promise.all([subprocess, stderrClosed]).then(([result]) => {
      execution.endTime = new Date().toISOString();
      if (result.exitCode === 0) {
        execution.status = "Succeeded";
      } else {
        execution.status = execution.stopRequested ? "Stopped" : "Failed";
        const reason =
          lastLine ??
          (result.signal
            ? `worker terminated by ${result.signal}`
            : firstLine(
                result.originalMessage ?? result.shortMessage ?? `worker exited with code ${result.exitCode}`,
                MAX_ERROR_LENGTH,
              ));
        execution.error = reason;
      }
    });
    this.executions.set(name, execution);
    return snapshot(execution);
  }

  async findExecution(
    match: ExecutionEnvMatch,
    options: JobRunnerOperationOptions = {},
  ): Promise<JobExecution | undefined> {
    throwIfAborted(options.abortSignal, "list executions");
    const found = [...this.executions.values()].filter((e) => match(e.overrides)).at(-1);
    return found && snapshot(found);
  }

  async getExecution(name: string, options: JobRunnerOperationOptions = {}): Promise<JobExecution> {
    throwIfAborted(options.abortSignal, `read execution ${name}`);
    return snapshot(this.find(name));
  }

  /** SIGTERM (the worker aborts its work and exits 1), SIGKILL after the grace period; resolves once it has exited. */
  async stopExecution(name: string, options: JobRunnerOperationOptions = {}): Promise<void> {
    throwIfAborted(options.abortSignal, `stop execution ${name}`);
    const execution = this.find(name);
    if (TERMINAL_JOB_STATUSES.has(execution.status)) return;
    // Already exited on its own (its status is being settled): its own outcome stands.
    const exited = execution.subprocess.exitCode !== null || execution.subprocess.signalCode !== null;
    if (!exited) {
      execution.stopRequested = true;
      execution.subprocess.kill("SIGTERM");
    }
    await untilAborted(execution.done, options.abortSignal, `stop execution ${name}`);
  }

  /** Resolves when the execution has ended (local runs only: tests and the demo wait on it instead of polling). */
  async waitForExecution(name: string, options: JobRunnerOperationOptions = {}): Promise<JobExecution> {
    const execution = this.find(name);
    await untilAborted(execution.done, options.abortSignal, `wait for execution ${name}`);
    return snapshot(execution);
  }

  private find(name: string): LocalExecution {
    const execution = this.executions.get(name);
    if (!execution)
      throw new ArchiveError("JOB_FAILED", `local job runner: no execution named ${name}`, {
        statusCode: 404,
        retryable: false,
      });
    return execution;
  }
}

function snapshot(execution: LocalExecution): JobExecution {
  return {
    name: execution.name,
    status: execution.status,
    startTime: execution.startTime,
    ...(execution.endTime !== undefined && { endTime: execution.endTime }),
    ...(execution.error !== undefined && { error: execution.error }),
  };
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new ArchiveError("ABORTED", `local job runner: ${what}: aborted`);
}

async function untilAborted(done: Promise<void>, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (!signal) return done;
  throwIfAborted(signal, what);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ArchiveError("ABORTED", `local job runner: ${what}: aborted`));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([done, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}
