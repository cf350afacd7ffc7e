// Registry authentication: Basic, the Bearer token challenge (anonymous, username/password, refresh token),
// and ACR with Entra ID (an AAD token exchanged at /oauth2/exchange for an ACR refresh token).
// Tokens are cached per scope; concurrent requests for one scope share one token request.
// Every secret sent to a token service (Basic credentials, refresh token, AAD token) goes as transport `credentials`:
// a token service that redirects to another origin is not followed. Token responses are read through a 128 KiB bound.
import type { TokenCredential } from "@azure/identity";
import { ArchiveError } from "../errors.js";
import {
  readBodyLimited,
  sendWithRetry,
  type RequestBudgetLike,
  type RequestMeter,
  type RetryPolicy,
} from "./transport.js";

export type RegistryCredential =
  | { kind: "anonymous" }
  | { kind: "password"; username: string; password: string }
  | { kind: "refreshToken"; refreshToken: string }
  | { kind: "entra"; tokenCredential: TokenCredential; audience?: string };

export interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and `Basic realm="…"`). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(match[2]!); m; m = re.exec(match[2]!))
    params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme, params };
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

// Token endpoints answer with a small JSON object; anything bigger is not a token response.
const MAX_TOKEN_RESPONSE_BYTES = 128 * 1024;

export class RegistryAuthenticator {
  private readonly cache = new Map<string, Promise<CachedToken>>();
  // ACR refresh tokens expire (about 3 h): kept with their expiry, exchanged again before it or when refused.
  private acrRefreshToken?: { token: Promise<string>; expiresAt: number };

  private readonly tokenService: string;
  /** The registry's last usable challenge (its realm and service), to fetch tokens for new scopes up front. */
  private lastChallenge: string | undefined;

  constructor(
    private readonly registry: string,
    private readonly baseUrl: string,
    private readonly credential: RegistryCredential,
    private readonly retry: RetryPolicy,
    /** The registry's read budget: token requests spend it like any other. */
    private readonly budget?: RequestBudgetLike,
  ) {
    this.tokenService = `the token service of ${registry}`;
  }

  /** The Authorization header already known for this scope, if any. */
  async cachedAuthorization(scope: string): Promise<string | undefined> {
    const entry = this.cache.get(scope);
    if (!entry) return undefined;
    try {
      const token = await entry;
      if (token.expiresAt > Date.now()) return token.header;
    } catch {
      /* a failed token request is retried on the next challenge */
    }
    this.cache.delete(scope);
    return undefined;
  }

  /**
   * The Authorization header to send for `scope` before any challenge: the cached one, or, once this registry has
   * challenged, a token fetched with that challenge (its realm and service serve every scope). That spares each new
   * scope (one per repository) its unauthenticated request and 401: a listing makes 2 requests a repository, not 3.
   */
  async authorizationFor(scope: string, abortSignal?: AbortSignal, meter?: RequestMeter): Promise<string | undefined> {
    const cached = await this.cachedAuthorization(scope);
    if (cached || !this.lastChallenge) return cached;
    return this.authorize(this.lastChallenge, scope, abortSignal, meter);
  }

  /** Answers a 401 challenge for `scope` and caches the result. */
  async authorize(
    challengeHeader: string | null,
    scope: string,
    abortSignal?: AbortSignal,
    meter: RequestMeter = this.budget ? { budget: this.budget } : {},
  ): Promise<string> {
    const challenge = parseChallenge(challengeHeader);
    if (!challenge)
      throw new ArchiveError(
        "REGISTRY_AUTH_FAILED",
        `${this.registry} asked for authentication without a usable challenge`,
        { statusCode: 401 },
      );
    this.lastChallenge = challengeHeader ?? undefined;
    const pending = this.fetchToken(challenge, scope, abortSignal, meter);
    this.cache.set(scope, pending);
    try {
      return (await pending).header;
    } catch (error) {
      this.cache.delete(scope);
      throw error;
    }
  }

  private async fetchToken(
    challenge: Challenge,
    scope: string,
    abortSignal: AbortSignal | undefined,
    meter: RequestMeter,
  ): Promise<CachedToken> {
    const credential = this.credential;
    if (challenge.scheme === "basic") {
      if (credential.kind !== "password")
        throw new ArchiveError(
          "REGISTRY_AUTH_FAILED",
          `${this.registry} requires a username and password (set ACR_USERNAME and ACR_PASSWORD)`,
          { statusCode: 401 },
        );
      const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
      return { header, expiresAt: Number.MAX_SAFE_INTEGER };
    }
    const realm = challenge.params.realm;
    if (!realm)
      throw new ArchiveError("REGISTRY_AUTH_FAILED", `${this.registry} sent a Bearer challenge without a realm`, {
        statusCode: 401,
      });
    // Credentials go to the realm: never in clear text when the registry itself is reached over https.
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new ArchiveError(
        "REGISTRY_AUTH_FAILED",
        `${this.registry} sent a Bearer challenge whose realm is not a URL`,
        { statusCode: 401 },
      );
    }
    if (realmUrl.protocol !== "https:" && (realmUrl.protocol !== "http:" || this.baseUrl.startsWith("https:"))) {
      throw new ArchiveError(
        "REGISTRY_AUTH_FAILED",
        `${this.registry} names a token realm over ${realmUrl.protocol.replace(":", "")}; credentials are sent over https only`,
        { statusCode: 401 },
      );
    }
    const service = challenge.params.service ?? this.registry;
    let response: Response;
    if (credential.kind === "anonymous" || credential.kind === "password") {
      // Docker token spec: GET realm?service=&scope= with Basic credentials (or none for anonymous pulls).
      const url = new URL(realm);
      url.searchParams.set("service", service);
      url.searchParams.set("scope", scope);
      const authorization =
        credential.kind === "password"
          ? `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`
          : undefined;
      response = await sendWithRetry(url.toString(), {
        retry: this.retry,
        meter,
        ...(abortSignal && { abortSignal }),
        ...(authorization && { credentials: { authorization, service: this.tokenService } }),
      });
    } else {
      const exchange = (refreshToken: string) =>
        sendWithRetry(realm, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          credentials: {
            body: new URLSearchParams({
              grant_type: "refresh_token",
              service,
              scope,
              refresh_token: refreshToken,
            }).toString(),
            service: this.tokenService,
          },
          retry: this.retry,
          meter,
          ...(abortSignal && { abortSignal }),
        });
      // OAuth2 form flow (what ACR and the distribution token spec accept for refresh tokens).
      if (credential.kind === "refreshToken") response = await exchange(credential.refreshToken);
      else {
        response = await exchange(await this.exchangeEntraToken(credential, service, abortSignal, meter));
        if (response.status === 401) {
          // The ACR refresh token expired or was revoked: one fresh exchange, then give up.
          await response.body?.cancel().catch(() => undefined);
          this.acrRefreshToken = undefined;
          response = await exchange(await this.exchangeEntraToken(credential, service, abortSignal, meter));
        }
      }
    }
    const body = await readTokenResponse(response, this.registry, abortSignal);
    const token = (body.token ?? body.access_token) as string | undefined;
    if (!token)
      throw new ArchiveError("REGISTRY_AUTH_FAILED", `the token service of ${this.registry} returned no token`);
    // The token spec's default lifetime is 60 s; renew a little early.
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(expiresIn - 10, 5) * 1000 };
  }

  private exchangeEntraToken(
    credential: Extract<RegistryCredential, { kind: "entra" }>,
    service: string,
    abortSignal: AbortSignal | undefined,
    meter: RequestMeter,
  ): Promise<string> {
    if (this.acrRefreshToken && this.acrRefreshToken.expiresAt > Date.now()) return this.acrRefreshToken.token;
    const token = (async () => {
      const audience = credential.audience ?? "https://containerregistry.azure.net/.default";
      const aad = await credential.tokenCredential.getToken(audience, abortSignal ? { abortSignal } : {});
      if (!aad) throw new ArchiveError("REGISTRY_AUTH_FAILED", "Entra ID returned no token for the registry");
      const response = await sendWithRetry(`${this.baseUrl}/oauth2/exchange`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        credentials: {
          body: new URLSearchParams({ grant_type: "access_token", service, access_token: aad.token }).toString(),
          service: `${this.registry}'s /oauth2/exchange`,
        },
        retry: this.retry,
        meter,
        ...(abortSignal && { abortSignal }),
      });
      const body = await readTokenResponse(response, this.registry, abortSignal);
      if (typeof body.refresh_token !== "string")
        throw new ArchiveError(
          "REGISTRY_AUTH_FAILED",
          `${this.registry} returned no refresh token from /oauth2/exchange`,
        );
      return body.refresh_token;
    })();
    const entry = { token, expiresAt: Date.now() + REFRESH_TOKEN_LIFETIME_MS };
    this.acrRefreshToken = entry;
    token.then(
      (value) => {
        entry.expiresAt = jwtExpiry(value) ?? entry.expiresAt;
      },
      () => {
        if (this.acrRefreshToken === entry) this.acrRefreshToken = undefined;
      },
    );
    return token;
  }
}

// When a refresh token's own expiry cannot be read: well inside ACR's ~3 h lifetime.
const REFRESH_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/** The `exp` of a JWT, five minutes early, or undefined when the token is not a readable JWT. */
function jwtExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number" ? payload.exp * 1000 - 5 * 60 * 1000 : undefined;
  } catch {
    return undefined;
  }
}

async function readTokenResponse(
  response: Response,
  registry: string,
  abortSignal?: AbortSignal,
): Promise<Record<string, unknown>> {
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ArchiveError(
      "REGISTRY_AUTH_FAILED",
      `the token service of ${registry} refused the credentials (HTTP ${response.status})`,
      { statusCode: response.status },
    );
  }
  const bytes = await readBodyLimited(response, MAX_TOKEN_RESPONSE_BYTES, `the token response of ${registry}`, {
    code: "REGISTRY_AUTH_FAILED",
    ...(abortSignal && { abortSignal }),
  });
  try {
    return JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new ArchiveError("REGISTRY_AUTH_FAILED", `the token service of ${registry} did not answer with JSON`);
  }
}
