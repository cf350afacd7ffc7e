// A local Azure Functions host for this app, since Core Tools cannot be installed here: it loads the app's real
// registrations like the Node worker, serves HTTP triggers, the Durable client API and admin endpoints on
// 127.0.0.1, and runs orchestrations in memory. Tests start it and wait for its one stdout line. See README.md.
//
//   node dist/tools/functions-host/main.js --app <appRoot> [--port 0] [--time-scale 1] [--key <functionKey>] [--log-level information]
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  FunctionRegistry,
  installCoreApi,
  type RegisteredFunction,
  type RpcParameterBinding,
} from "./captureRegistrations.js";
import { DurableHttpApi } from "./durableHttpApi.js";
import { closeServer, createHostHandler, createRpcHandler, listenLocal, type RequestHandler } from "./httpServer.js";
import { errorMessage, FunctionInvoker, type LogFunction } from "./invoke.js";
import { loadApp, readHostSettings } from "./loadApp.js";
import { OrchestrationEngine } from "./orchestrationEngine.js";
import { ScaledClock } from "./scaledClock.js";
import { InstanceStore } from "./instanceStore.js";

const USAGE =
  "usage: functions-host --app <appRoot> [--port 0] [--time-scale 1] [--key <functionKey>] [--state-dir <dir>] [--log-level none|error|warning|information|debug]";
const LOG_LEVELS = ["none", "critical", "error", "warning", "information", "debug", "trace"];
const DURABLE_CLIENT_TYPES = new Set(["durableclient", "orchestrationclient"]);

interface CliOptions {
  appRoot: string;
  port: number;
  timeScale: number;
  key: string;
  logLevel: number;
  /** Where orchestration state is kept between runs of the host; none: in memory only. */
  stateDir?: string;
}

function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      app: { type: "string" },
      port: { type: "string", default: "0" },
      "time-scale": { type: "string", default: "1" },
      key: { type: "string" },
      "log-level": { type: "string", default: "information" },
      "state-dir": { type: "string" },
    },
    strict: true,
  });
  if (!values.app) throw new UsageError("--app is required");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0-65535, got ${values.port}`);
  const timeScale = Number(values["time-scale"]);
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new UsageError(`--time-scale must be a positive number, got ${values["time-scale"]}`);
  const logLevel = LOG_LEVELS.indexOf(String(values["log-level"]).toLowerCase());
  if (logLevel < 0) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  if (values.key !== undefined && !/^[\w\-=.~]{1,256}$/.test(values.key))
    throw new UsageError("--key must be 1-256 URL-safe characters");
  return {
    appRoot: resolve(values.app),
    port,
    timeScale,
    key: values.key ?? randomBytes(24).toString("base64url"),
    logLevel,
    ...(values["state-dir"] !== undefined && { stateDir: resolve(values["state-dir"]) }),
  };
}

class UsageError extends Error {}

function createLogger(maxLevel: number): LogFunction {
  return (level, category, message, functionName) => {
    const rank = LOG_LEVELS.indexOf(level.toLowerCase());
    if (maxLevel === 0 || (rank > 0 ? rank : LOG_LEVELS.indexOf("information")) > maxLevel) return;
    const source = functionName ? ` ${functionName}` : "";
    process.stderr.write(
      `[functions-host] ${level}${source}${category === "user" ? "" : ` (${category})`}: ${message}\n`,
    );
  };
}

/** Non-trigger bindings this host supplies (durable client) or ignores (everything else), for a startup warning. */
function unsupportedBindings(fn: RegisteredFunction): string[] {
  return Object.entries(fn.metadata.bindings)
    .filter(
      ([name, b]) =>
        name !== fn.triggerName &&
        !DURABLE_CLIENT_TYPES.has(String(b.type).toLowerCase()) &&
        !(name === "$return" && b.type === "http"),
    )
    .filter(([name, b]) => !(name === "$return" && b.direction === "out" && fn.triggerType !== "httptrigger"))
    .map(([name, b]) => `${name} (${b.type}, ${b.direction})`);
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  const log = createLogger(options.logLevel);
  const registry = new FunctionRegistry();
  installCoreApi(registry, (level, category, message) => log(level, category, message));

  let openMain: (handler: RequestHandler) => void = () => undefined;
  let openRpc: (handler: RequestHandler) => void = () => undefined;
  const mainListener = await listenLocal(options.port, new Promise((r) => (openMain = r)));
  const rpcListener = await listenLocal(0, new Promise((r) => (openRpc = r)));
  const servers = [mainListener.server, rpcListener.server];
  const origin = `http://127.0.0.1:${mainListener.port}`;
  process.env.WEBSITE_HOSTNAME = `127.0.0.1:${mainListener.port}`;

  let engine: OrchestrationEngine | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    engine?.close();
    await Promise.race([Promise.all(servers.map(closeServer)), new Promise((r) => setTimeout(r, 5_000).unref())]);
    process.exit(code);
  };
  process.once("SIGTERM", () => void stop(0));
  process.once("SIGINT", () => void stop(0));

  try {
    const settings = await readHostSettings(options.appRoot);
    for (const warning of settings.warnings) log("warning", "system", warning);
    const invoker = new FunctionInvoker(registry, log);
    await loadApp(options.appRoot);
    const model = registry.requireProgrammingModel();
    const capabilities = (await model.getCapabilities?.({})) ?? {};
    if (capabilities.HttpUri)
      throw new Error("app.setup({ enableHttpStream: true }) is not supported by functions-host");
    for (const fn of registry.functions.values()) {
      for (const binding of unsupportedBindings(fn))
        log("warning", "system", `binding ${binding} is not emulated; it gets no data`, fn.name);
    }

    const store = options.stateDir ? new InstanceStore(options.stateDir) : undefined;
    const clock = new ScaledClock(options.timeScale, store?.clockOrigin(Date.now()));
    engine = new OrchestrationEngine({
      registry,
      invoker,
      clock,
      log,
      maxConcurrentActivities: settings.maxConcurrentActivityFunctions,
      ...(store && { store }),
    });
    const restored = engine.restore();
    if (store) log("information", "system", `state in ${store.dir}: ${restored} instances restored`);
    const api = new DurableHttpApi(engine, {
      origin,
      rpcOrigin: `http://127.0.0.1:${rpcListener.port}`,
      taskHubName: settings.taskHubName,
      key: options.key,
    });
    const clientData = { string: JSON.stringify(api.clientBindingData()) };
    invoker.addInputBindingProvider((fn): RpcParameterBinding[] =>
      Object.entries(fn.metadata.bindings)
        .filter(([, b]) => b.direction === "in" && DURABLE_CLIENT_TYPES.has(String(b.type).toLowerCase()))
        .map(([name]) => ({ name, data: clientData })),
    );

    openMain(
      createHostHandler({
        registry,
        invoker,
        engine,
        api,
        key: options.key,
        routePrefix: settings.routePrefix,
        origin,
        log,
      }),
    );
    openRpc(createRpcHandler(api, `http://127.0.0.1:${rpcListener.port}`));
    const names = [...registry.functions.values()].map((f) => f.name).join(", ");
    log("information", "system", `loaded ${registry.functions.size} functions from ${options.appRoot}: ${names}`);
    process.stdout.write(`functions-host listening on ${origin}\n`);
  } catch (error) {
    process.stderr.write(
      `functions-host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await stop(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`functions-host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
