// HTTP below the registry client: retries with backoff (408/429/5xx, connection errors, honouring Retry-After),
// redirects followed by hand so the registry's Authorization never reaches another host (ACR redirects blob
// reads to storage), and plain HTTP only for loopback hosts or an explicit insecure flag.
import { setTimeout as sleep } from "node:timers/promises";
import { ArchiveError, isArchiveError } from "../errors.js";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 30_000 };

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | AsyncIterable<Buffer>;
  abortSignal?: AbortSignal;
  /** The Authorization header for requests to the registry's own host; dropped on a redirect elsewhere. */
  authorization?: string;
  retry?: RetryPolicy;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;

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
  let attempt = 0;
  for (;;) {
    options.abortSignal?.throwIfAborted();
    let response: Response | undefined;
    let networkError: unknown;
    try {
      response = await sendFollowingRedirects(url, options);
    } catch (error) {
      if (options.abortSignal?.aborted) throw new ArchiveError("ABORTED", "the request was aborted", { cause: error });
      // A streamed request body that failed its own check (a digest mismatch) is that error, not a network one.
      const cause = (error as { cause?: unknown }).cause;
      if (isArchiveError(cause)) throw cause;
      networkError = error;
    }
    const retryable = networkError !== undefined || (response !== undefined && RETRYABLE_STATUS.has(response.status));
    if (!retryable || attempt >= policy.maxRetries) {
      if (response) return response;
      throw new ArchiveError("REGISTRY_UNREACHABLE", `cannot reach ${new URL(url).host}: ${networkCause(networkError)}`, { cause: networkError });
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
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { ...options.headers };
    // The registry's credentials go to the registry's host only (a blob redirect to storage carries its own SAS).
    // Same scheme, host and port: an https → http redirect to the same host must not carry it in clear text either.
    if (options.authorization && new URL(current).origin === origin) headers.authorization = options.authorization;
    const body = options.body;
    const response = await fetch(current, {
      method: options.method ?? "GET",
      headers,
      // Async iterables stream (undici needs duplex "half" for a streamed request body).
      ...(body !== undefined && (typeof body === "string" || Buffer.isBuffer(body) ? { body } : { body: body as unknown as RequestInit["body"], duplex: "half" as const })),
      redirect: "manual",
      ...(options.abortSignal && { signal: options.abortSignal }),
    });
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel().catch(() => undefined);
      current = new URL(response.headers.get("location")!, current).toString();
      continue;
    }
    return response;
  }
  throw new ArchiveError("REGISTRY_ERROR", `too many redirects from ${url}`);
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
