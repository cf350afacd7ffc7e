// The app's real orchestrators in the local Functions host, over activities the test answers itself: a fixture app
// (test/fixtures/orchestrations-app) registers the compiled orchestrators and forwards every activity call to a
// loopback server of this process. Deterministic tests of the orchestrations' decisions, with no registry, storage
// or worker behind them.
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { startFunctionsHost, type LocalFunctionsHost } from "../../tools/localenv/functionsHost.js";
import { repoRoot } from "./repoRoot.js";

const FIXTURE_APP = join(repoRoot(), "test", "fixtures", "orchestrations-app");

export interface ActivityCall {
  name: string;
  input: Record<string, unknown>;
}

/** An activity stand-in: its result, or a throw (the activity fails with that message). */
export type StandIn = (input: Record<string, unknown>, call: number) => unknown;

export interface OrchestrationHarness {
  calls: ActivityCall[];
  /** Replaces the stand-ins (between tests). */
  use(standIns: Record<string, StandIn>): void;
  /** Starts orchestration `name` under `instanceId` with `input` and waits for it to end. */
  run(name: string, input: unknown, instanceId: string): Promise<{ runtimeStatus: string; output: unknown }>;
  /** The host's /admin/host/stats (largest history, replays, …). */
  stats(): Promise<{ maxHistoryEvents: number; maxHistoryInstanceId: string | null }>;
  stop(): Promise<void>;
}

export async function startOrchestrationHarness(): Promise<OrchestrationHarness> {
  const calls: ActivityCall[] = [];
  let standIns: Record<string, StandIn> = {};
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => (body += b.toString()));
    req.on("end", () => {
      const { name, input } = JSON.parse(body) as ActivityCall;
      calls.push({ name, input });
      const send = (status: number, value: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      const standIn = standIns[name];
      if (!standIn) return send(500, { error: `no stand-in for activity ${name}` });
      Promise.resolve()
        .then(() => standIn(input, calls.filter((c) => c.name === name).length))
        .then(
          (result) => send(200, { result }),
          (error: unknown) => send(500, { error: error instanceof Error ? error.message : String(error) }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  let host: LocalFunctionsHost;
  try {
    host = await startFunctionsHost({ appRoot: FIXTURE_APP, timeScale: 0.001, env: { ACTIVITY_STANDIN_URL: url } });
  } catch (error) {
    server.close();
    throw error;
  }
  return {
    calls,
    use(next) {
      standIns = next;
      calls.length = 0;
    },
    async run(name, input, instanceId) {
      const base = "/runtime/webhooks/durabletask";
      const started = await host.request(`${base}/orchestrators/${name}/${encodeURIComponent(instanceId)}`, {
        method: "POST",
        body: JSON.stringify(input),
      });
      if (started.status !== 202) throw new Error(`start of ${name}: HTTP ${started.status} ${await started.text()}`);
      for (let i = 0; i < 1200; i++) {
        const status = (await (await host.request(`${base}/instances/${encodeURIComponent(instanceId)}`)).json()) as {
          runtimeStatus: string;
          output: unknown;
        };
        if (["Completed", "Failed", "Terminated"].includes(status.runtimeStatus)) return status;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`${name} ${instanceId} did not end within 30 s:\n${host.output()}`);
    },
    async stats() {
      return (await (await host.request("/admin/host/stats")).json()) as {
        maxHistoryEvents: number;
        maxHistoryInstanceId: string | null;
      };
    },
    async stop() {
      await host.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
