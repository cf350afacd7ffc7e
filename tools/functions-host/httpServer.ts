// The host's HTTP front door on 127.0.0.1: HTTP triggers under /<routePrefix>/<route> with function keys, the
// Durable webhooks (/runtime/webhooks/durabletask/...), the admin API (run a timer trigger now, stats), and a
// second, local-only listener for the durable client's rpcBaseUrl, as the extension has.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  FunctionRegistry,
  RegisteredFunction,
  RpcInvocationResponse,
  RpcTypedData,
} from "./captureRegistrations.js";
import { RPC_PREFIX, WEBHOOK_PREFIX, type ApiResponse, type DurableHttpApi } from "./durableHttpApi.js";
import { errorMessage, type FunctionInvoker, type LogFunction } from "./invoke.js";
import type { OrchestrationEngine } from "./orchestrationEngine.js";
import { RouteTemplate } from "./routeTemplate.js";

const MAX_BODY_BYTES = 100 * 1024 * 1024;
const ADMIN_FUNCTIONS = "/admin/functions/";

interface HttpRoute {
  fn: RegisteredFunction;
  template: RouteTemplate;
  methods: Set<string> | undefined;
  anonymous: boolean;
}

export interface HostServices {
  registry: FunctionRegistry;
  invoker: FunctionInvoker;
  engine: OrchestrationEngine;
  api: DurableHttpApi;
  key: string;
  routePrefix: string;
  origin: string;
  log: LogFunction;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/** Binds 127.0.0.1:port (0 = any free port); requests wait for `ready` and then go to `handler`. */
export async function listenLocal(
  port: number,
  ready: Promise<RequestHandler>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void serve(req, res, ready);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function serve(req: IncomingMessage, res: ServerResponse, ready: Promise<RequestHandler>): Promise<void> {
  try {
    const body = await readBody(req);
    if (body === undefined) return send(res, { status: 413, body: "Request body too large" });
    const handler = await ready;
    await handler(req, res, body);
  } catch (error) {
    if (!res.headersSent) send(res, { status: 500, body: `functions-host error: ${errorMessage(error)}` });
    else res.destroy();
  }
}

/** Closes a server and the connections it still holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Serves the main port: HTTP triggers, Durable webhooks and the admin API. */
export function createHostHandler(services: HostServices): RequestHandler {
  const routes = buildRoutes(services.registry);
  const prefix = services.routePrefix ? `/${services.routePrefix}` : "";
  return async (req, res, body) => {
    const url = new URL(req.url ?? "/", services.origin);
    const path = url.pathname;
    const method = (req.method ?? "GET").toUpperCase();
    const authorized = (): boolean => hasKey(req, url, services.key);

    if (path.startsWith(WEBHOOK_PREFIX)) {
      if (!authorized()) return send(res, unauthorized());
      return send(res, services.api.handle(apiRequest(req, url, body, path.slice(WEBHOOK_PREFIX.length))));
    }
    if (path === "/admin/host/stats" && method === "GET") {
      if (!authorized()) return send(res, unauthorized());
      const stats = services.engine.stats;
      return send(
        res,
        jsonResponse(200, {
          ...stats,
          orchestratorCpuMs: Math.round(stats.orchestratorCpuMs * 1000) / 1000,
          maxActivityMs: Math.round(stats.maxActivityMs),
          // The host process's peak resident set (getrusage maxrss), in MiB.
          peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        }),
      );
    }
    if (path.startsWith(ADMIN_FUNCTIONS) && method === "POST") {
      if (!authorized()) return send(res, unauthorized());
      return send(res, runTimerNow(services, decodeURIComponent(path.slice(ADMIN_FUNCTIONS.length))));
    }
    if (prefix === "" || path === prefix || path.startsWith(`${prefix}/`)) {
      const routePath = path.slice(prefix.length) || "/";
      for (const route of routes) {
        if (route.methods && !route.methods.has(method)) continue;
        const params = route.template.match(routePath);
        if (!params) continue;
        if (!route.anonymous && !authorized()) return send(res, unauthorized());
        return invokeHttpTrigger(services, route.fn, req, res, url, params, body);
      }
    }
    return send(res, { status: 404 });
  };
}

/** Serves the local RPC listener: only the durable client's API, no key (it is not reachable from outside). */
export function createRpcHandler(api: DurableHttpApi, origin: string): RequestHandler {
  return async (req, res, body) => {
    const url = new URL(req.url ?? "/", origin);
    if (!url.pathname.startsWith(RPC_PREFIX)) return send(res, { status: 404 });
    send(res, api.handle(apiRequest(req, url, body, url.pathname.slice(RPC_PREFIX.length))));
  };
}

function buildRoutes(registry: FunctionRegistry): HttpRoute[] {
  const routes = registry.byTriggerType("httpTrigger").map((fn) => {
    const methods = Array.isArray(fn.trigger.methods)
      ? new Set((fn.trigger.methods as string[]).map((m) => m.toUpperCase()))
      : undefined;
    const authLevel = String(fn.trigger.authLevel ?? "function").toLowerCase();
    return {
      fn,
      template: new RouteTemplate(String(fn.trigger.route ?? fn.name)),
      methods,
      anonymous: authLevel === "anonymous",
    };
  });
  return routes.sort((a, b) => b.template.precedence - a.template.precedence);
}

async function invokeHttpTrigger(
  services: HostServices,
  fn: RegisteredFunction,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  params: Record<string, string>,
  body: Buffer,
): Promise<void> {
  const http = {
    method: (req.method ?? "GET").toUpperCase(),
    url: url.href,
    headers: flattenHeaders(req),
    params,
    body: body.length > 0 ? ({ bytes: body } as RpcTypedData) : undefined,
  };
  let response: RpcInvocationResponse;
  try {
    response = await services.invoker.invoke(fn, { http });
  } catch (error) {
    services.log("error", "system", `Executed '${fn.name}' (Failed): ${errorMessage(error)}`, fn.name);
    return send(res, { status: 500 });
  }
  const output = response.returnValue?.http
    ? response.returnValue
    : response.outputData?.find((o) => o.data?.http)?.data;
  if (!output?.http) return send(res, { status: 204 });
  const rpc = output.http;
  if ((rpc.cookies ?? []).length > 0)
    services.log("warning", "system", "response cookies are not emulated; dropped", fn.name);
  res.statusCode = Number(rpc.statusCode ?? 200);
  for (const [name, value] of Object.entries(rpc.headers ?? {})) res.setHeader(name, value);
  const bytes = rpc.body?.bytes ?? (rpc.body?.string !== undefined ? Buffer.from(rpc.body.string) : undefined);
  res.end(bytes ? Buffer.from(bytes) : undefined);
}

/** The admin API's "run now" for a timer trigger: fires it in the background with a TimerInfo, as the host does. */
function runTimerNow(services: HostServices, name: string): ApiResponse {
  const fn = services.registry.get(name);
  if (!fn) return { status: 404, body: `No function named '${name}'` };
  if (fn.triggerType !== "timertrigger") {
    return {
      status: 400,
      body: `'${fn.name}' has a ${fn.trigger.type}; functions-host runs only timer triggers on demand`,
    };
  }
  const timerInfo = {
    json: JSON.stringify({ Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false }),
  };
  void services.invoker.invoke(fn, timerInfo).catch((error: unknown) => {
    services.log("error", "system", `Executed '${fn.name}' (Failed): ${errorMessage(error)}`, fn.name);
  });
  return { status: 202 };
}

function apiRequest(req: IncomingMessage, url: URL, body: Buffer, path: string) {
  return { method: req.method ?? "GET", path, query: url.searchParams, body, url: url.href };
}

function hasKey(req: IncomingMessage, url: URL, key: string): boolean {
  const header = req.headers["x-functions-key"];
  const given = url.searchParams.get("code") ?? (Array.isArray(header) ? header[0] : header);
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function unauthorized(): ApiResponse {
  return { status: 401 };
}

function jsonResponse(status: number, body: unknown): ApiResponse {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify(body) };
}

function send(res: ServerResponse, response: ApiResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.end(response.body);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
