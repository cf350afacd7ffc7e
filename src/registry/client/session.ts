// One registry's requests, under every API resource of the client (manifests.ts, blobs.ts, listings.ts, …): the
// credential (a cached token first, a 401 challenge answered once), the read budget and the count of requests sent,
// credentials kept to the registry's own origin, and error answers turned into ArchiveErrors that keep the registry's
// own error code (MANIFEST_BLOB_UNKNOWN, …): the body is read, with a bound, before it is let go. Retries and redirects
// sit below, in transport.ts; the token flows in auth.ts.
import { ArchiveError, firstLine } from "../../errors.js";
import { RegistryAuthenticator, type RegistryCredential } from "../auth.js";
import {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_RETRY_POLICY,
  readBodyLimited,
  registryBaseUrl,
  sendWithRetry,
  type RequestBudgetLike,
  type RequestMeter,
  type RetryPolicy,
} from "../transport.js";

export interface RegistryClientOptions {
  credential?: RegistryCredential;
  /** Plain HTTP to a non-loopback host. Loopback hosts always use HTTP. */
  insecure?: boolean;
  retry?: RetryPolicy;
  userAgent?: string;
  /** Pages one listing may take before it stops with REGISTRY_ERROR; default MAX_LISTING_PAGES (100,000). */
  maxListingPages?: number;
  /** The registry's read budget, shared by every request of this client (token requests included). */
  budget?: RequestBudgetLike;
  /**
   * A blob read whose connection brings no bytes for this long (before its answer, or while its body is awaited) ends
   * with a network error: retried, or resumed with Range from the byte it had. Default DEFAULT_IDLE_TIMEOUT_SECONDS.
   */
  idleTimeoutMs?: number;
}

export interface OperationOptions {
  abortSignal?: AbortSignal;
  /** Called for every request this operation sends to the registry (token requests and retries included). */
  onRequest?: () => void;
}

export interface RegistryRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | AsyncIterable<Buffer>;
  abortSignal?: AbortSignal;
  onRequest?: () => void;
  /** A 2xx answer's bytes as a Node stream: nodeBodyOf(response) (transport's SendOptions.nodeBody). */
  nodeBody?: boolean;
}

// 100,000 pages of the default 100 names are 10 million repositories or tags, more than any registry holds. The visited
// check catches a repeated link only: this cap ends a server that hands out ever-new next links.
export const MAX_LISTING_PAGES = 100_000;
// Error bodies are a small JSON `errors` array; the first 64 KiB is read, parsed if it is whole, ignored if not.
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** ACR's error code for an operation a read-, write- or delete-disabled repository, manifest or tag forbids (405). */
export const ACR_DISALLOWED = "REGISTRY_DISALLOWED_OPERATION";

export class RegistrySession {
  readonly registry: string;
  readonly baseUrl: string;
  /** Pages one listing may take (RegistryClientOptions.maxListingPages). */
  readonly maxListingPages: number;
  private readonly auth: RegistryAuthenticator;
  private readonly retry: RetryPolicy;
  private readonly userAgent: string;
  private readonly budget: RequestBudgetLike | undefined;
  private readonly idleTimeoutMs: number;
  /** Requests sent to the registry so far (every operation, token requests included). */
  requestsSent = 0;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.budget = options.budget;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_SECONDS * 1000;
    this.maxListingPages = options.maxListingPages ?? MAX_LISTING_PAGES;
    this.registry = registry;
    this.baseUrl = registryBaseUrl(registry, options.insecure ?? false);
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.userAgent = options.userAgent ?? "acr-cold-archive";
    this.auth = new RegistryAuthenticator(
      registry,
      this.baseUrl,
      options.credential ?? { kind: "anonymous" },
      this.retry,
      this.budget,
    );
  }

  /** One authenticated request: cached token first, then answer a 401 challenge once and replay. */
  async request(pathOrUrl: string, scope: string, init: RegistryRequestInit): Promise<Response> {
    const url = this.absolute(pathOrUrl);
    const meter = this.meter(init.onRequest);
    // A streamed body can be sent once: no retries, and it must not meet a 401 (callers authenticate first).
    const streamed = init.body !== undefined && !Buffer.isBuffer(init.body);
    const send = (authorization?: string) =>
      sendWithRetry(url, {
        method: init.method ?? "GET",
        headers: { "user-agent": this.userAgent, ...init.headers },
        retry: streamed ? { ...this.retry, maxRetries: 0 } : this.retry,
        ...(init.body !== undefined && { body: init.body }),
        // A redirect elsewhere (ACR sends blob reads to storage) is followed without the registry's credentials.
        ...(authorization && {
          credentials: { authorization, onRedirectElsewhere: "drop" as const, service: this.registry },
        }),
        ...(init.abortSignal && { abortSignal: init.abortSignal }),
        ...(init.nodeBody && { nodeBody: true, idleTimeoutMs: this.idleTimeoutMs }),
        meter,
      });
    // Credentials go to the registry's own origin only (an absolute Link or Location may name another host).
    if (new URL(url).origin !== new URL(this.baseUrl).origin) return send();
    let response = await send(await this.auth.authorizationFor(scope, init.abortSignal, meter));
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate");
      await discardBody(response);
      if (streamed)
        throw new ArchiveError("REGISTRY_AUTH_FAILED", `${this.registry} refused the upload's credentials (HTTP 401)`, {
          statusCode: 401,
        });
      const authorization = await this.auth.authorize(challenge, scope, init.abortSignal, meter);
      response = await send(authorization);
    }
    return response;
  }

  /** A path on the registry made a URL; a URL (a Link, a Location) is left as it is. */
  absolute(pathOrUrl: string): string {
    return /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
  }

  /** Throws the ArchiveError for a non-2xx answer, with the registry's error code; the body is read (bounded) or let go. */
  async throwIfError(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    const text = await readBodyLimited(response, MAX_ERROR_BODY_BYTES, `the error body for ${what}`, {
      truncate: true,
    }).then(
      (bytes) => bytes.toString("utf8"),
      () => "",
    );
    let registryCode: string | undefined;
    let detail = "";
    try {
      const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
      registryCode = errors?.[0]?.code;
      // The registry's own words, one line and bounded: an error body can hold anything up to its 64 KiB cap.
      detail = errors?.[0]?.message ? `: ${firstLine(errors[0].message, 300)}` : "";
    } catch {
      /* not a distribution error body */
    }
    const status = response.status;
    const options = { statusCode: status, ...(registryCode && { registryCode }) };
    const code = registryCode ? ` ${registryCode}` : "";
    if (status === 401 || status === 403)
      throw new ArchiveError(
        "REGISTRY_AUTH_FAILED",
        `${this.registry} denied access to ${what} (HTTP ${status}${code})`,
        options,
      );
    if (status === 404)
      throw new ArchiveError("REGISTRY_NOT_FOUND", `${what} not found in ${this.registry}${detail}`, options);
    // ACR's answer to what a lock (a changeable attribute set to false) forbids: no other attempt will get past it.
    if (registryCode === ACR_DISALLOWED)
      throw new ArchiveError(
        "REGISTRY_LOCKED",
        `${this.registry} refused ${what}: the repository, the manifest or a tag is locked (HTTP ${status}${code})`,
        options,
      );
    throw new ArchiveError("REGISTRY_ERROR", `${this.registry} answered HTTP ${status}${code} for ${what}${detail}`, {
      ...options,
      retryable: status >= 500 || status === 429,
    });
  }

  /** The meter of one operation's requests: the client's budget, its count, and the operation's own count. */
  private meter(onRequest: (() => void) | undefined): RequestMeter {
    return {
      ...(this.budget && { budget: this.budget }),
      onRequest: () => {
        this.requestsSent++;
        onRequest?.();
      },
    };
  }
}

/** Lets an answer's body go unread (an answer whose status says all, a 404 that means "none"). */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
