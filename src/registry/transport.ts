// HTTP below the registry client: retries with backoff (408/429/5xx, connection errors, honouring Retry-After),
// redirects followed by hand, plain HTTP only for loopback hosts or an explicit insecure flag, and bounded reads.
// Every secret (an Authorization header, a form body with a password or token) goes through `credentials`, the one
// guarded path: it is sent to the origin the request was made to and nowhere else. A redirect elsewhere either fails
// (token services: a realm that redirects credentials away is not followed) or is followed without the secret (the
// registry redirecting blob reads to storage, which carries its own SAS); once dropped it stays dropped for the chain.
// No redirect is followed from https to http. Plain `headers` cannot carry Authorization around that guard.
// Bodies are buffered only through readBodyLimited, which stops reading (and cancels) as soon as a limit is passed:
// a Content-Length is a claim, and a chunked body has none.
import { setTimeout as sleep } from "node:timers/promises";
import { ArchiveError, isArchiveError, type ArchiveErrorCode } from "../errors.js";
import { nodeRequest } from "./nodeRequest.js";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 30_000 };

/**
 * How long a blob read's connection may stay silent (REGISTRY_IDLE_TIMEOUT_SECONDS): a registry streams a blob without
 * pauses and answers in well under a second, while a silent flow otherwise holds a worker until its job times out.
 */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 120;

export interface Credentials {
  /** The Authorization header value. */
  authorization?: string;
  /** A request body that carries a secret (an OAuth2 form with a password or token); replaces SendOptions.body. */
  body?: string | Buffer;
  /**
   * A redirect to another origin: "fail" (the default) or "drop" (follow it as an anonymous request would be sent).
   * A request with a secret body always fails: the body cannot be sent without its secret.
   */
  onRedirectElsewhere?: "fail" | "drop";
  /** Who holds the credentials, for error messages ("the token service of myacr.azurecr.io"). */
  service?: string;
}

/** What every request sent is measured against: the registry's read budget, and who counts the requests. */
export interface RequestMeter {
  /** Waited on before each request to the registry's origin (every attempt and same-origin redirect hop). */
  budget?: RequestBudgetLike;
  /** Called once for each such request, when it is sent. */
  onRequest?: () => void;
}

export interface RequestBudgetLike {
  take(abortSignal?: AbortSignal): Promise<void>;
}

/**
 * A registry's read budget: a token bucket of `requestsPerMinute`, refilled continuously, holding at most `burst`
 * (default one second's worth). Each request takes one token; when none is left it reserves the next and waits for
 * it, so waiters go in arrival order and the rate holds however many wait. Requests past the budget are only delayed,
 * never refused; a registry's 429 is still answered with Retry-After by sendWithRetry.
 */
export class RequestBudget implements RequestBudgetLike {
  private tokens: number;
  private updatedAt: number;
  private readonly perMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly wait: (ms: number, abortSignal?: AbortSignal) => Promise<void>;

  constructor(
    readonly requestsPerMinute: number,
    options: {
      burst?: number;
      /** The clock and the wait (milliseconds), for tests. */
      now?: () => number;
      sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
    } = {},
  ) {
    if (!(requestsPerMinute > 0)) throw new RangeError(`requestsPerMinute must be > 0, got ${requestsPerMinute}`);
    this.now = options.now ?? (() => performance.now());
    this.wait =
      options.sleep ?? ((ms, abortSignal) => sleep(ms, undefined, abortSignal ? { signal: abortSignal } : undefined));
    this.perMs = requestsPerMinute / 60_000;
    this.burst = Math.max(1, options.burst ?? Math.ceil(requestsPerMinute / 60));
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }

  async take(abortSignal?: AbortSignal): Promise<void> {
    abortSignal?.throwIfAborted();
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const wait = -this.tokens / this.perMs;
    try {
      await this.wait(wait, abortSignal);
    } catch (error) {
      this.tokens += 1; // the reservation is given back: the request is not sent
      throw new ArchiveError("ABORTED", "the request was aborted", { cause: error });
    }
  }
}

export interface SendOptions {
  method?: string;
  /** Plain headers, sent on every hop: no Authorization here (it is refused), that is `credentials`. */
  headers?: Record<string, string>;
  body?: string | Buffer | AsyncIterable<Buffer>;
  abortSignal?: AbortSignal;
  /** Secrets, for the origin of `url` only (see the file comment). */
  credentials?: Credentials;
  retry?: RetryPolicy;
  /** The read budget and request count (redirect hops to another origin, such as storage, are not the registry's). */
  meter?: RequestMeter;
  /**
   * Send through node:http/https (nodeRequest.ts), for a large body read as a Node stream: a 2xx answer's bytes are
   * then nodeBodyOf(response), not response.body. Only for requests without a body.
   */
  nodeBody?: boolean;
  /** With nodeBody: the connection may be silent this long while bytes are awaited (nodeRequest.ts); default none. */
  idleTimeoutMs?: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;
// Headers that carry secrets: only `credentials` sets them, so the redirect guard sees every one.
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization"]);

export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The scheme to use for a registry host: https unless the host is loopback or insecure is asked for. */
export function registryBaseUrl(registry: string, insecure: boolean): string {
  return `${insecure || isLoopbackHost(registry) ? "http" : "https"}://${registry}`;
}

/**
 * Sends one logical request with retries. Returns the final response (any status); throws REGISTRY_UNREACHABLE
 * when the host cannot be reached after the retries. The caller owns the returned body.
 */
export async function sendWithRetry(url: string, options: SendOptions = {}): Promise<Response> {
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  for (const name of Object.keys(options.headers ?? {})) {
    if (SECRET_HEADERS.has(name.toLowerCase()))
      throw new ArchiveError("INVALID_ARGUMENT", `the ${name} header goes through credentials, not plain headers`);
  }
  if (options.credentials?.body !== undefined && options.body !== undefined) {
    throw new ArchiveError("INVALID_ARGUMENT", "a request has one body: credentials.body or body");
  }
  let attempt = 0;
  for (;;) {
    options.abortSignal?.throwIfAborted();
    let response: Response | undefined;
    let networkError: unknown;
    try {
      response = await sendFollowingRedirects(url, options);
    } catch (error) {
      if (options.abortSignal?.aborted) throw new ArchiveError("ABORTED", "the request was aborted", { cause: error });
      // A redirect refused (another origin, https → http, too many) is an answer, not a network error to retry.
      if (isArchiveError(error)) throw error;
      // A streamed request body that failed its own check (a digest mismatch) is that error, not a network one.
      const cause = (error as { cause?: unknown }).cause;
      if (isArchiveError(cause)) throw cause;
      networkError = error;
    }
    const retryable = networkError !== undefined || (response !== undefined && RETRYABLE_STATUS.has(response.status));
    if (!retryable || attempt >= policy.maxRetries) {
      if (response) return response;
      throw new ArchiveError(
        "REGISTRY_UNREACHABLE",
        `cannot reach ${new URL(url).host}: ${networkCause(networkError)}`,
        { cause: networkError },
      );
    }
    const delay = retryDelay(attempt, policy, response?.headers.get("retry-after") ?? null);
    await response?.body?.cancel().catch(() => undefined);
    attempt++;
    await sleep(delay, undefined, options.abortSignal ? { signal: options.abortSignal } : undefined).catch((error) => {
      throw new ArchiveError("ABORTED", "the request was aborted", { cause: error });
    });
  }
}

async function sendFollowingRedirects(url: string, options: SendOptions): Promise<Response> {
  const origin = new URL(url).origin;
  const credentials = options.credentials;
  let withSecrets = credentials !== undefined;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { ...options.headers };
    if (withSecrets && credentials?.authorization) headers.authorization = credentials.authorization;
    const body = withSecrets && credentials?.body !== undefined ? credentials.body : options.body;
    if (options.meter && new URL(current).origin === origin) {
      await options.meter.budget?.take(options.abortSignal);
      options.meter.onRequest?.();
    }
    if (options.nodeBody && body !== undefined)
      throw new ArchiveError("INVALID_ARGUMENT", "nodeBody is for requests without a body");
    const response = options.nodeBody
      ? await nodeRequest(current, {
          method: options.method ?? "GET",
          headers,
          ...(options.abortSignal && { signal: options.abortSignal }),
          ...(options.idleTimeoutMs && { idleTimeoutMs: options.idleTimeoutMs }),
        })
      : await fetch(current, {
          method: options.method ?? "GET",
          headers,
          // Async iterables stream (undici needs duplex "half" for a streamed request body).
          ...(body !== undefined &&
            (typeof body === "string" || Buffer.isBuffer(body)
              ? { body }
              : { body: body as unknown as RequestInit["body"], duplex: "half" as const })),
          redirect: "manual",
          ...(options.abortSignal && { signal: options.abortSignal }),
        });
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel().catch(() => undefined);
      const next = redirectTarget(
        current,
        response.headers.get("location")!,
        origin,
        withSecrets ? credentials : undefined,
      );
      current = next.url;
      withSecrets = next.withSecrets;
      continue;
    }
    return response;
  }
  throw new ArchiveError("REGISTRY_ERROR", `too many redirects from ${new URL(url).host}`);
}

/**
 * Where one redirect goes, and whether the credentials go with it: only to `origin`, the origin the request was made
 * to (same scheme, host and port). Throws when the redirect must not be followed. Exported for the tests.
 */
export function redirectTarget(
  from: string,
  location: string,
  origin: string,
  credentials: Credentials | undefined,
): { url: string; withSecrets: boolean } {
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new ArchiveError("REGISTRY_ERROR", `${new URL(from).host} redirected to an invalid location`);
  }
  const elsewhere = target.origin !== origin;
  if (
    credentials &&
    elsewhere &&
    (credentials.body !== undefined || (credentials.onRedirectElsewhere ?? "fail") === "fail")
  ) {
    // Only the target's origin in the message: the Location may carry a signature in its query.
    const who = credentials.service ?? new URL(from).host;
    throw new ArchiveError(
      "REGISTRY_AUTH_FAILED",
      `${who} redirected a request carrying credentials to another origin (${target.origin}); not followed`,
    );
  }
  if (new URL(from).protocol === "https:" && target.protocol !== "https:") {
    const scheme = target.protocol.replace(/:$/, "");
    throw new ArchiveError(
      "REGISTRY_ERROR",
      `${new URL(from).host} redirected from https to ${scheme} (${target.origin}); not followed`,
    );
  }
  return { url: target.toString(), withSecrets: credentials !== undefined && !elsewhere };
}

/**
 * The whole body, at most `maxBytes` of it: reading stops and the body is cancelled as soon as more arrives (or a
 * Content-Length says more will). Too long fails with `code` ("… is larger than …"), or with `truncate` returns the
 * first `maxBytes` (an error body: parse what fits). A body cut off mid-way is REGISTRY_UNREACHABLE.
 */
export async function readBodyLimited(
  response: Response,
  maxBytes: number,
  what: string,
  options: { code?: ArchiveErrorCode; truncate?: boolean; abortSignal?: AbortSignal } = {},
): Promise<Buffer> {
  const tooLarge = () =>
    new ArchiveError(options.code ?? "REGISTRY_ERROR", `${what} is larger than ${formatLimit(maxBytes)}`);
  const declared = Number(response.headers.get("content-length") ?? "");
  if (!options.truncate && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (length + chunk.length > maxBytes) {
        await reader.cancel().catch(() => undefined);
        if (!options.truncate) throw tooLarge();
        chunks.push(chunk.subarray(0, maxBytes - length));
        length = maxBytes;
        break;
      }
      chunks.push(chunk);
      length += chunk.length;
    }
  } catch (error) {
    if (isArchiveError(error)) throw error;
    if (options.abortSignal?.aborted) throw new ArchiveError("ABORTED", "the request was aborted", { cause: error });
    throw new ArchiveError("REGISTRY_UNREACHABLE", `${what} could not be read to its end: ${networkCause(error)}`, {
      cause: error,
    });
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, length);
}

function formatLimit(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

export function retryDelay(attempt: number, policy: RetryPolicy, retryAfter: string | null): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, policy.maxRetryDelayInMs);
  }
  const exponential = policy.retryDelayInMs * 2 ** attempt;
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.min(exponential * jitter, policy.maxRetryDelayInMs);
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
