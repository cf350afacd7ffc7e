// Loopback HTTP stand-ins for what a registry or token service does (or should never do): a server on a free port,
// its close, a request body read whole, a retry policy that does not wait, and the ArchiveError a call must fail with.
import assert from "node:assert/strict";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { isArchiveError } from "../../src/errors.js";

/** Registry retries for stand-ins that answer at once: three, 10-50 ms apart. */
export const FAST_RETRY = { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

/** Serves `handler` on `host` (127.0.0.1 by default) and a free port; `host` in the result carries the port. */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = "127.0.0.1",
): Promise<{ server: Server; host: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return { server, host: `${host}:${(server.address() as { port: number }).port}` };
}

/** Stops `server` and ends its connections: a client's kept-alive one would hold `close` for seconds. */
export const close = (server?: Server) =>
  new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });

export const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => resolve(body));
  });

/** Rejects unless `promise` fails with an ArchiveError of `code` (and a message matching `message`). */
export async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isArchiveError(error), `not an ArchiveError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

export interface RequestLog {
  /** host:port of the front door. */
  host: string;
  /** Every request passed on, in arrival order: "GET /v2/…". */
  requests: string[];
  /** When each arrived (performance.now(), milliseconds), in the same order. */
  arrivals: number[];
  close: () => Promise<void>;
}

/**
 * A front door that records every HTTP request it passes to `upstreamHost` (a real registry) and passes it on; one
 * whose path matches `hold` is recorded and never answered (a registry that hangs); one `forge` answers itself (it
 * returns true) is not passed on (a registry that answers what it should not); one `delay` returns a promise for is
 * passed on once that settles (a registry slow to answer).
 */
export async function startRequestLog(
  upstreamHost: string,
  options: {
    hold?: RegExp;
    forge?: (req: IncomingMessage, res: ServerResponse) => boolean;
    delay?: (req: IncomingMessage) => Promise<unknown> | undefined;
  } = {},
): Promise<RequestLog> {
  const requests: string[] = [];
  const arrivals: number[] = [];
  const [upstreamName, upstreamPort] = upstreamHost.split(":");
  const { server, host } = await listen((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    arrivals.push(performance.now());
    if (options.hold?.test(req.url ?? "")) return;
    if (options.forge?.(req, res)) return;
    const wait = options.delay?.(req);
    if (wait) {
      req.pause();
      void wait.then(() => passOn(req, res));
    } else passOn(req, res);
  });
  const passOn = (req: IncomingMessage, res: ServerResponse) => {
    if (res.destroyed) return;
    const upstream = httpRequest(
      { host: upstreamName, port: Number(upstreamPort), path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  };
  return {
    host,
    requests,
    arrivals,
    close: () => {
      server.closeAllConnections();
      return close(server);
    },
  };
}
