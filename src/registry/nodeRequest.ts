// One HTTP hop through node:http/https instead of fetch, for the large bodies of blob reads. fetch (undici) copies
// every body chunk into a fresh Uint8Array and moves it through a web ReadableStream (a promise and a buffer
// transfer per chunk); Readable.fromWeb then turns it back into a Node stream. Measured on a 1 GiB archive: ~0.5 s
// of CPU per GiB, and twice the freshly allocated ArrayBuffer bytes, each of which V8 counts against its old
// generation limit until a GC frees it. Here a 2xx body is the socket's own chunks (IncomingMessage), taken with
// nodeBodyOf(response); every other answer (redirects, errors: small) is an ordinary Response whose body is a web
// stream, so the callers' redirect, retry and error handling read it as they read fetch's.
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

// Keep-alive like fetch's pool: a blob read of many ranged parts reuses its connections. Idle sockets are unref'd by
// the agent, so they keep no process alive.
const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };
const bodies = new WeakMap<Response, IncomingMessage>();
// Statuses a Response may not carry a body with (the constructor throws).
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export interface NodeRequestInit {
  method: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
  /**
   * The connection may be silent this long while an answer is awaited (connecting, the status line and headers, the
   * body while its reader waits for bytes) before the request ends with a network error (retried, or resumed with
   * Range by a blob read). A body its reader is not taking (its buffer full) is not idle. Default: none.
   */
  idleTimeoutMs?: number;
}

/**
 * Sends one request (no body, no redirect followed) and resolves with its answer as a Response: a 2xx one has no web
 * body, its bytes are nodeBodyOf(response) (the caller reads or destroys it). A network error rejects as fetch's do
 * (an Error whose `cause` is the socket's error, with its `code`), so sendWithRetry retries it the same way.
 */
export function nodeRequest(url: string, init: NodeRequestInit): Promise<Response> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const agent = agents[target.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new TypeError(`unsupported protocol ${target.protocol}`));
  return new Promise<Response>((resolve, reject) => {
    const request = client.request(
      target,
      { method: init.method, headers: init.headers, agent, ...(init.signal && { signal: init.signal }) },
      (message) => {
        watch?.answered(message);
        const status = message.statusCode ?? 0;
        const headers = new Headers();
        for (const [name, value] of Object.entries(message.headers)) {
          if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          else if (value !== undefined) headers.set(name, value);
        }
        if (status >= 200 && status < 300 && !NULL_BODY_STATUS.has(status)) {
          const response = new Response(null, { status, headers });
          bodies.set(response, message);
          resolve(response);
          return;
        }
        if (status < 200 || status > 599) {
          message.destroy();
          reject(new Error(`${target.host} answered with HTTP status ${status}`));
          return;
        }
        if (NULL_BODY_STATUS.has(status)) {
          message.resume();
          resolve(new Response(null, { status, headers }));
          return;
        }
        const body = Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status, headers }));
      },
    );
    const watch = init.idleTimeoutMs ? watchIdle(request, init.idleTimeoutMs, target.host) : undefined;
    // Errors after the answer (the body breaking off) reach its stream; here they only settle a request not yet answered.
    request.on("error", (error) => reject(new Error(`request to ${target.host} failed`, { cause: error })));
    request.end();
  });
}

/**
 * Ends `request` (before its answer) or its answer's body with an error once the socket has brought no bytes for
 * `ms` while they were awaited: a registry gone silent, or a flow a load balancer dropped without a reset, would
 * otherwise hold a read forever (node:http has no such timeout; fetch's was a 300 s body timeout). Not while the
 * body's reader leaves it unread (its buffer full: the socket is paused on our side), nor once the body is complete.
 */
function watchIdle(request: http.ClientRequest, ms: number, host: string) {
  let message: IncomingMessage | undefined;
  let socket: import("node:net").Socket | undefined;
  const onData = () => timer.refresh();
  const stop = () => {
    clearTimeout(timer);
    socket?.off("data", onData);
    socket = undefined;
  };
  const timer = setTimeout(() => {
    if (message?.complete) return stop();
    if (message && message.readableLength >= message.readableHighWaterMark) return void timer.refresh();
    stop();
    const error = new Error(`the connection to ${host} was silent for ${ms / 1000} s (idle timeout)`);
    // A body read fails with it (a blob read resumes with Range); a request not yet answered is retried.
    if (message) message.destroy(error);
    request.destroy(error);
  }, ms);
  timer.unref();
  request.on("socket", (s) => {
    socket = s;
    s.on("data", onData);
  });
  request.once("close", stop);
  return {
    answered(answer: IncomingMessage) {
      message = answer;
      timer.refresh();
      answer.once("close", stop);
    },
  };
}

/** The Node stream of a 2xx answer from nodeRequest (undefined for a fetch Response or another status). */
export function nodeBodyOf(response: Response): IncomingMessage | undefined {
  return bodies.get(response);
}
