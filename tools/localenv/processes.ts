// Background processes for tests: started in their own process group, waited for on a port, stopped by PID.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A free TCP port on 127.0.0.1, chosen by the kernel (no fixed ports, no clashes between test files). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Fails with a message naming the missing tool (tests never skip silently). */
export function requireTool(name: string, hint = `apt-get install ${name}`): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`required tool "${name}" is not installed (${hint}); .ci/run installs it`);
  }
}

export interface BackgroundProcess {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startBackground(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): BackgroundProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = sleep(5000).then(() => "timeout");
      if ((await Promise.race([exited.then(() => "exited"), timer])) === "timeout") {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* already gone */
        }
        await exited;
      }
    },
  };
}

/** Polls an HTTP URL until it answers (any status), or fails with the process's output. */
export async function waitForHttp(url: string, proc: BackgroundProcess, timeoutInMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null)
      throw new Error(`process exited (${proc.child.exitCode}) before ${url} answered:\n${proc.output()}`);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      await sleep(100);
    }
  }
  await proc.stop();
  throw new Error(`${url} did not answer within ${timeoutInMs} ms:\n${proc.output()}`);
}
