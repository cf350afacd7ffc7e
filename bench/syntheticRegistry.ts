// A loopback registry with N synthetic images (repositories × tags, one digest each) for the scale benchmark, shaped
// like ACR where a listing feels it: every request answered after a delay (20 ms by default), a requests-per-minute
// limit answered with 429 + Retry-After, Bearer token challenges (one token per scope, as ACR's), and ACR's
// /acr/v1/<repo>/_manifests beside the distribution API calls a listing makes (_catalog and tags/list with Link
// paging, HEAD manifests). It counts what it was asked. As a restore's target (repositories: 0), it keeps what was
// pushed to it: `PUT /v2/<repo>/manifests/<tag or digest>` with the manifest's digest in Docker-Content-Digest (the
// bench's instant worker stands in for a real push), and HEAD answers those; a digest it does not hold is a 404.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";

export interface SyntheticRegistryOptions {
  repositories: number;
  tagsPerRepository: number;
  /** Milliseconds before each answer (default 20). */
  delayMs?: number;
  /** Requests a minute it answers; beyond that 429 + Retry-After, per one-second window (default: no limit). */
  limitPerMinute?: number;
}

export interface SyntheticRegistryStats {
  requests: number;
  throttled: number;
  byKind: Record<string, number>;
}

export interface SyntheticRegistry {
  host: string;
  stats: () => SyntheticRegistryStats;
  stop: () => Promise<void>;
}

export async function startSyntheticRegistry(options: SyntheticRegistryOptions): Promise<SyntheticRegistry> {
  const { repositories, tagsPerRepository } = options;
  const delayMs = options.delayMs ?? 20;
  const repos = Array.from({ length: repositories }, (_, i) => `synthetic/repo${String(i).padStart(5, "0")}`);
  const tags = Array.from({ length: tagsPerRepository }, (_, i) => `v${String(i).padStart(4, "0")}`);
  const digestOf = (repository: string, tag: string) =>
    `sha256:${createHash("sha256").update(`${repository}:${tag}`).digest("hex")}`;
  const page = <T>(items: T[], url: URL, key: (item: T) => string, defaultSize: number) => {
    const n = Number(url.searchParams.get("n") ?? defaultSize);
    const last = url.searchParams.get("last");
    const start = last ? items.findIndex((i) => key(i) === last) + 1 : 0;
    return { items: items.slice(start, start + n), more: start + n < items.length, n };
  };

  // Pushed manifests: `<repository>:<tag or digest>` → digest. The source's own digests, for HEAD by digest.
  const pushed = new Map<string, string>();
  const repoSet = new Set(repos);
  let sourceDigests: Set<string> | undefined;
  const isSourceDigest = (repository: string, digest: string) => {
    sourceDigests ??= new Set(repos.flatMap((r) => tags.map((t) => `${r}@${digestOf(r, t)}`)));
    return sourceDigests.has(`${repository}@${digest}`);
  };

  const stats: SyntheticRegistryStats = { requests: 0, throttled: 0, byKind: {} };
  const perSecond = options.limitPerMinute ? Math.max(1, Math.floor(options.limitPerMinute / 60)) : Infinity;
  let windowStart = 0;
  let inWindow = 0;
  let host = "";

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    stats.requests++;
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    if (++inWindow > perSecond) {
      stats.throttled++;
      const retryAfter = String(Math.max(1, Math.ceil((windowStart + 1000 - now) / 1000)));
      return void setTimeout(() => res.writeHead(429, { "retry-after": retryAfter }).end(), delayMs);
    }
    const kind = (name: string) => (stats.byKind[name] = (stats.byKind[name] ?? 0) + 1);
    const answer = (status: number, headers: Record<string, string>, body?: string) =>
      void setTimeout(() => res.writeHead(status, headers).end(body), delayMs);
    const json = { "content-type": "application/json" };

    if (path === "/oauth2/token") {
      kind("token");
      return answer(200, json, JSON.stringify({ token: "synthetic", expires_in: 3600 }));
    }
    if (req.headers.authorization !== "Bearer synthetic") {
      kind("challenge");
      const scope = url.pathname === "/v2/_catalog" ? "registry:catalog:*" : "";
      return answer(401, {
        "www-authenticate": `Bearer realm="http://${host}/oauth2/token",service="synthetic"${scope && `,scope="${scope}"`}`,
      });
    }
    if (path === "/v2/") return answer(200, json, "{}");
    if (path === "/v2/_catalog") {
      kind("catalog");
      const { items, more, n } = page(repos, url, String, 100);
      const headers: Record<string, string> = { ...json };
      if (more) headers.link = `</v2/_catalog?n=${n}&last=${items[items.length - 1]}>; rel="next"`;
      return answer(200, headers, JSON.stringify({ repositories: items }));
    }
    const acr = /^\/acr\/v1\/(.+)\/_manifests$/.exec(path);
    if (acr) {
      kind("acrManifests");
      const repository = acr[1]!;
      if (!repos.includes(repository)) return answer(404, json, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN" }] }));
      const { items, more, n } = page(tags, url, (t) => digestOf(repository, t), 1000);
      const manifests = items.map((tag) => ({
        digest: digestOf(repository, tag),
        tags: [tag],
        lastUpdateTime: "2026-01-01T00:00:00Z",
        mediaType: "application/vnd.oci.image.manifest.v1+json",
      }));
      const headers: Record<string, string> = { ...json };
      if (more)
        headers.link = `</acr/v1/${repository}/_manifests?n=${n}&last=${manifests[manifests.length - 1]!.digest}>; rel="next"`;
      return answer(200, headers, JSON.stringify({ registry: host, imageName: repository, manifests }));
    }
    const tagsMatch = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tagsMatch) {
      kind("tags");
      const { items, more, n } = page(tags, url, String, 100);
      const headers: Record<string, string> = { ...json };
      if (more) headers.link = `</v2/${tagsMatch[1]}/tags/list?n=${n}&last=${items[items.length - 1]}>; rel="next"`;
      return answer(200, headers, JSON.stringify({ name: tagsMatch[1], tags: items }));
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest && req.method === "PUT") {
      kind("push");
      const digest = req.headers["docker-content-digest"];
      if (typeof digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(digest))
        return answer(400, json, JSON.stringify({ errors: [{ code: "DIGEST_INVALID" }] }));
      pushed.set(`${manifest[1]}:${manifest[2]}`, digest);
      pushed.set(`${manifest[1]}:${digest}`, digest);
      req.resume();
      return answer(201, { "docker-content-digest": digest });
    }
    if (manifest && req.method === "HEAD") {
      kind("head");
      const [, repository, reference] = manifest as unknown as [string, string, string];
      const isDigest = reference.startsWith("sha256:");
      const digest =
        pushed.get(`${repository}:${reference}`) ??
        (repoSet.has(repository)
          ? isDigest
            ? isSourceDigest(repository, reference)
              ? reference
              : undefined
            : digestOf(repository, reference)
          : undefined);
      if (!digest) return answer(404, json);
      return answer(200, {
        "docker-content-digest": digest,
        "content-type": "application/vnd.oci.image.manifest.v1+json",
      });
    }
    kind("other");
    answer(404, json, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "not here" }] }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  host = `127.0.0.1:${port}`;
  return {
    host,
    stats: () => ({ ...stats, byKind: { ...stats.byKind } }),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
