// A local Azure Container Registry: a loopback HTTP front for Debian's docker-registry (distribution 2.8, delete
// enabled) that serves ACR's data-plane extras as its REST reference (api-version 2021-07-01) describes them, and passes
// every other request through unchanged (bodies streamed, headers kept: auth challenges, Link, Docker-Content-Digest).
//
// What it serves, from the registry's own storage (tools/localenv/registryStorage.ts), so the registry stays the truth:
// - GET /acr/v1/_catalog; GET, PATCH, DELETE /acr/v1/{name}; GET /acr/v1/{name}/_tags (n, last, orderby, digest);
//   GET, PATCH, DELETE (untag) /acr/v1/{name}/_tags/{tag}; GET /acr/v1/{name}/_manifests (n, last, orderby);
//   GET, PATCH /acr/v1/{name}/_manifests/{digest}. Pages end in a `Link: <…>; rel="next"` header.
// - Changeable attributes (deleteEnabled, writeEnabled, readEnabled, listEnabled) on a repository, a manifest and a
//   tag, separately (as ACR keeps them), held here in memory, and enforced as ACR's lock documentation says:
//   a pull (GET/HEAD /v2/{name}/manifests/{ref}) is refused when the repository, the manifest or (by tag) the tag is
//   read-disabled; a manifest push is refused into a write-disabled repository or onto a write-disabled tag;
//   deleting a manifest is refused when the repository is write-disabled or the manifest or any tag on it (deleting a
//   manifest deletes its tags) is delete- or write-disabled; untag when the repository is write-disabled or the tag is
//   delete- or write-disabled; deleting the repository when it, or anything in it, is. A repository's deleteEnabled
//   protects the repository only ("individual images can still be updated or deleted"). A refusal is ACR's answer:
//   405 with REGISTRY_DISALLOWED_OPERATION.
// - createdTime / lastUpdateTime: when the stand-in first saw a manifest or tag (or the registry wrote it, if earlier)
//   and the latest of the registry's last write (a push) and the last PATCH. imageSize: the manifest, its config and
//   layers (an index: its own bytes; its platform manifests are listed on their own, as ACR lists them).
// - Untag and repository delete change the registry's storage (distribution 2.8 has no API for either); a manifest
//   delete goes to the registry (202), which deletes its tags with it, and the stand-in forgets their attributes.
// - On a registry with bearer auth, /acr/v1 takes a token the registry accepts whose access claims grant the request's
//   ACR action (metadata_read to read, metadata_write to PATCH, delete to untag or delete a repository).
// What it does not model: listEnabled (kept, not enforced), blob reads of a read-disabled image, soft delete, the referrers API, quarantine, and attributes surviving a restart of the stand-in.
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { MAX_MANIFEST_BYTES, MediaTypes } from "../../src/registry/types.js";
import {
  isRepositoryName,
  RegistryStorage,
  SHA256_DIGEST,
  TAG_NAME,
  type StoredManifest,
  type StoredTag,
} from "./registryStorage.js";

export interface AcrStandInOptions {
  /** host:port of the registry behind it (plain HTTP on loopback). */
  upstream: string;
  /** The registry's `storage.filesystem.rootdirectory`: listings are read there, tags and repositories removed there. */
  storageDirectory: string;
  /** Port to listen on (127.0.0.1); default 0, a free one. */
  port?: number;
  /** The login server named in answers (`registry`); default the stand-in's own host:port. */
  loginServer?: string;
}

export interface AcrStandIn {
  /** host:port of the stand-in: use it as the registry. */
  host: string;
  stop(): Promise<void>;
}

export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

const ATTRIBUTE_NAMES = ["deleteEnabled", "writeEnabled", "readEnabled", "listEnabled"] as const;
const ENABLED: ChangeableAttributes = { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };
// ACR's answer to an operation a lock forbids (observed on untag and push of a locked tag; its FAQ names the same error
// for pulls): HTTP 405 with this code and message.
const DISALLOWED = {
  code: "REGISTRY_DISALLOWED_OPERATION",
  message:
    "The operation is disallowed on this registry, repository or image. View troubleshooting steps at https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation",
};
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
// Image configs are a few KiB; a bigger one is not read for architecture and os.
const MAX_CONFIG_BYTES = 1024 * 1024;
// PATCH bodies are four booleans.
const MAX_PATCH_BYTES = 64 * 1024;
const IMAGE_CONFIG_TYPES = new Set<string>([MediaTypes.ociConfig, MediaTypes.dockerConfig]);
const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

type OrderBy = "none" | "timedesc" | "timeasc";

/** What a manifest's bytes say, once (they never change for a digest). */
interface ManifestFacts {
  mediaType: string;
  imageSize: number;
  configMediaType?: string;
  architecture?: string;
  os?: string;
  references?: { digest: string; architecture?: string; os?: string }[];
}

interface ManifestView extends StoredManifest {
  facts: ManifestFacts;
  tags: string[];
  createdTime: Date;
  lastUpdateTime: Date;
}

interface TagView extends StoredTag {
  createdTime: Date;
  lastUpdateTime: Date;
}

/** Refusals and not-found answers, as `{ errors: [...] }` bodies. */
class AcrAnswer extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail: unknown = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const disallowed = () => new AcrAnswer(405, DISALLOWED.code, DISALLOWED.message);

/**
 * Created and last-update times of repositories, manifests and tags. The registry's link times say when it wrote
 * something; a PATCH or a push seen here is remembered. A forgotten (deleted) entity keeps its last time for paging only.
 */
class Timeline {
  private readonly created = new Map<string, Date>();
  private readonly changed = new Map<string, Date>();
  /** The last update time last answered, by entity: where it sorted. */
  private readonly lastAnswered = new Map<string, Date>();
  private readonly forgotten = new Map<string, Date>();

  times(key: string, writtenAt: Date): { createdTime: Date; lastUpdateTime: Date } {
    let createdTime = this.created.get(key);
    if (!createdTime) {
      createdTime = new Date(Math.min(writtenAt.getTime(), Date.now()));
      this.created.set(key, createdTime);
      this.forgotten.delete(key);
    }
    const last = Math.max(writtenAt.getTime(), this.changed.get(key)?.getTime() ?? 0, createdTime.getTime());
    const lastUpdateTime = new Date(last);
    this.lastAnswered.set(key, lastUpdateTime);
    return { createdTime, lastUpdateTime };
  }

  touch(key: string, at = new Date()): void {
    if (!this.created.has(key)) this.created.set(key, at);
    this.changed.set(key, at);
    this.forgotten.delete(key);
  }

  forget(key: string): void {
    const last = this.lastAnswered.get(key) ?? this.changed.get(key) ?? this.created.get(key);
    if (last) this.forgotten.set(key, last);
    this.created.delete(key);
    this.changed.delete(key);
    this.lastAnswered.delete(key);
  }

  /** The last known time of an entity that is gone (where a page after it starts). */
  forgottenTime(key: string): Date | undefined {
    return this.forgotten.get(key);
  }
}

const repoKey = (repository: string) => `repository:${repository}`;
const manifestKey = (repository: string, digest: string) => `manifest:${repository}@${digest}`;
const tagKey = (repository: string, tag: string) => `tag:${repository}:${tag}`;

export async function startAcrStandIn(options: AcrStandInOptions): Promise<AcrStandIn> {
  const storage = new RegistryStorage(options.storageDirectory);
  const [upstreamHost, upstreamPort] = splitHost(options.upstream);
  const agent = new Agent({ keepAlive: true });
  const attributes = new Map<string, ChangeableAttributes>();
  const timeline = new Timeline();
  const factsByDigest = new Map<string, ManifestFacts>();
  let loginServer = options.loginServer ?? "";
  /** host:port of the stand-in, once it listens. */
  let host = "";

  // The registry's challenge to an anonymous request: on a registry with auth, /acr/v1 answers with the same realm.
  const challenge = await probeChallenge(options.upstream);

  const attributesOf = (key: string): ChangeableAttributes => attributes.get(key) ?? ENABLED;

  const forgetKey = (key: string) => {
    attributes.delete(key);
    timeline.forget(key);
  };

  async function factsOf(digest: string): Promise<ManifestFacts> {
    const known = factsByDigest.get(digest);
    if (known) return known;
    const facts = await readFacts(storage, digest);
    factsByDigest.set(digest, facts);
    return facts;
  }

  async function manifestViews(repository: string): Promise<ManifestView[]> {
    const [manifests, tags] = await Promise.all([storage.manifests(repository), storage.tags(repository)]);
    const tagsByDigest = new Map<string, string[]>();
    for (const tag of tags) tagsByDigest.set(tag.digest, [...(tagsByDigest.get(tag.digest) ?? []), tag.name]);
    const views: ManifestView[] = [];
    for (const manifest of manifests)
      views.push({
        ...manifest,
        facts: await factsOf(manifest.digest),
        tags: (tagsByDigest.get(manifest.digest) ?? []).sort(),
        ...timeline.times(manifestKey(repository, manifest.digest), manifest.linkedAt),
      });
    return views;
  }

  async function tagViews(repository: string): Promise<TagView[]> {
    return (await storage.tags(repository)).map((tag) => ({
      ...tag,
      ...timeline.times(tagKey(repository, tag.name), tag.linkedAt),
    }));
  }

  async function repositoryOrThrow(repository: string): Promise<ManifestView[]> {
    const manifests = isRepositoryName(repository) ? await manifestViews(repository) : [];
    if (manifests.length === 0)
      throw new AcrAnswer(404, "NAME_UNKNOWN", "repository name not known to registry", { name: repository });
    return manifests;
  }

  async function repositoryAttributes(repository: string) {
    const manifests = await repositoryOrThrow(repository);
    const tags = await tagViews(repository);
    const own = timeline.times(repoKey(repository), new Date(0));
    const times = [...manifests, ...tags];
    const created = Math.min(...manifests.map((m) => m.createdTime.getTime()));
    const updated = Math.max(own.lastUpdateTime.getTime(), ...times.map((t) => t.lastUpdateTime.getTime()));
    return {
      registry: loginServer,
      imageName: repository,
      createdTime: new Date(created).toISOString(),
      lastUpdateTime: new Date(updated).toISOString(),
      manifestCount: manifests.length,
      tagCount: tags.length,
      changeableAttributes: attributesOf(repoKey(repository)),
    };
  }

  const manifestBody = (repository: string, m: ManifestView) => ({
    digest: m.digest,
    imageSize: m.facts.imageSize,
    createdTime: m.createdTime.toISOString(),
    lastUpdateTime: m.lastUpdateTime.toISOString(),
    ...(m.facts.architecture && { architecture: m.facts.architecture }),
    ...(m.facts.os && { os: m.facts.os }),
    ...(m.facts.references && { references: m.facts.references }),
    mediaType: m.facts.mediaType,
    ...(m.facts.configMediaType && { configMediaType: m.facts.configMediaType }),
    ...(m.tags.length > 0 && { tags: m.tags }),
    changeableAttributes: attributesOf(manifestKey(repository, m.digest)),
  });

  const tagBody = (repository: string, t: TagView) => ({
    name: t.name,
    digest: t.digest,
    createdTime: t.createdTime.toISOString(),
    lastUpdateTime: t.lastUpdateTime.toISOString(),
    changeableAttributes: attributesOf(tagKey(repository, t.name)),
  });

  /** Why a manifest may not be deleted now (undefined: it may). */
  async function manifestDeleteLock(repository: string, digest: string): Promise<AcrAnswer | undefined> {
    if (!attributesOf(repoKey(repository)).writeEnabled) return disallowed();
    const locked = (a: ChangeableAttributes) => !a.deleteEnabled || !a.writeEnabled;
    if (locked(attributesOf(manifestKey(repository, digest)))) return disallowed();
    for (const tag of await storage.tags(repository))
      if (tag.digest === digest && locked(attributesOf(tagKey(repository, tag.name)))) return disallowed();
    return undefined;
  }

  // ---- /acr/v1 ----

  async function acrApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let path: string;
    try {
      path = decodeURIComponent(url.pathname.slice("/acr/v1/".length));
    } catch {
      throw new AcrAnswer(400, "NAME_INVALID", "invalid repository name");
    }
    const method = req.method ?? "GET";
    if (path === "_catalog") {
      await requireAuth(req, "registry:catalog:*");
      if (method !== "GET") throw unsupported();
      const all: string[] = [];
      for (const name of await storage.repositoryNames())
        if ((await storage.manifests(name)).length > 0) all.push(name);
      const page = pageOf(all, { key: (n) => n, time: () => 0, url, forgottenTime: () => undefined });
      return sendJson(res, 200, { repositories: page.items }, page.link("/acr/v1/_catalog"));
    }
    let match = /^(.+)\/_tags\/([^/]+)$/.exec(path);
    if (match) return tagRequest(req, res, match[1]!, match[2]!);
    match = /^(.+)\/_tags$/.exec(path);
    if (match) return tagList(req, res, match[1]!, url);
    match = /^(.+)\/_manifests\/([^/]+)$/.exec(path);
    if (match) return manifestRequest(req, res, match[1]!, match[2]!);
    match = /^(.+)\/_manifests$/.exec(path);
    if (match) return manifestList(req, res, match[1]!, url);
    return repositoryRequest(req, res, path);
  }

  async function repositoryRequest(req: IncomingMessage, res: ServerResponse, repository: string): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "GET") {
      await requireAuth(req, `repository:${repository}:metadata_read`);
      return sendJson(res, 200, await repositoryAttributes(repository));
    }
    if (method === "PATCH") {
      await requireAuth(req, `repository:${repository}:metadata_write`);
      const change = await readPatch(req);
      await repositoryOrThrow(repository);
      attributes.set(repoKey(repository), { ...attributesOf(repoKey(repository)), ...change });
      timeline.touch(repoKey(repository));
      return sendJson(res, 200, await repositoryAttributes(repository));
    }
    if (method === "DELETE") {
      await requireAuth(req, `repository:${repository}:delete`);
      const manifests = await repositoryOrThrow(repository);
      const tags = await storage.tags(repository);
      const own = attributesOf(repoKey(repository));
      const locked = (a: ChangeableAttributes) => !a.deleteEnabled || !a.writeEnabled;
      if (
        locked(own) ||
        manifests.some((m) => locked(attributesOf(manifestKey(repository, m.digest)))) ||
        tags.some((t) => locked(attributesOf(tagKey(repository, t.name))))
      )
        throw disallowed();
      await storage.removeRepository(repository);
      for (const m of manifests) forgetKey(manifestKey(repository, m.digest));
      for (const t of tags) forgetKey(tagKey(repository, t.name));
      forgetKey(repoKey(repository));
      return sendJson(res, 202, {
        manifestsDeleted: manifests.map((m) => m.digest).sort(),
        tagsDeleted: tags.map((t) => t.name).sort(),
      });
    }
    throw unsupported();
  }

  async function tagList(req: IncomingMessage, res: ServerResponse, repository: string, url: URL): Promise<void> {
    await requireAuth(req, `repository:${repository}:metadata_read`);
    if (req.method !== "GET") throw unsupported();
    await repositoryOrThrow(repository);
    const digest = url.searchParams.get("digest");
    const tags = (await tagViews(repository)).filter((t) => !digest || t.digest === digest);
    const page = pageOf(tags, {
      key: (t) => t.name,
      time: (t) => t.lastUpdateTime.getTime(),
      url,
      forgottenTime: (name) => timeline.forgottenTime(tagKey(repository, name)),
    });
    return sendJson(
      res,
      200,
      { registry: loginServer, imageName: repository, tags: page.items.map((t) => tagBody(repository, t)) },
      page.link(`/acr/v1/${repository}/_tags`, digest ? { digest } : {}),
    );
  }

  async function tagRequest(req: IncomingMessage, res: ServerResponse, repository: string, tag: string) {
    const method = req.method ?? "GET";
    const scope = { GET: "metadata_read", PATCH: "metadata_write", DELETE: "delete" }[method];
    if (!scope) throw unsupported();
    await requireAuth(req, `repository:${repository}:${scope}`);
    const change = method === "PATCH" ? await readPatch(req) : undefined;
    await repositoryOrThrow(repository);
    const found = TAG_NAME.test(tag) ? (await tagViews(repository)).find((t) => t.name === tag) : undefined;
    if (!found) throw new AcrAnswer(404, "TAG_UNKNOWN", "the specified tag does not exist", { name: tag });
    const key = tagKey(repository, tag);
    if (method === "DELETE") {
      const tagAttributes = attributesOf(key);
      if (
        !attributesOf(repoKey(repository)).writeEnabled ||
        !tagAttributes.deleteEnabled ||
        !tagAttributes.writeEnabled
      )
        throw disallowed();
      if (!(await storage.untag(repository, tag)))
        throw new AcrAnswer(404, "TAG_UNKNOWN", "the specified tag does not exist", { name: tag });
      forgetKey(key);
      res.writeHead(202, { "content-length": "0" }).end();
      return;
    }
    if (change) {
      attributes.set(key, { ...attributesOf(key), ...change });
      timeline.touch(key);
    }
    const view = (await tagViews(repository)).find((t) => t.name === tag) ?? found;
    return sendJson(res, 200, { registry: loginServer, imageName: repository, tag: tagBody(repository, view) });
  }

  async function manifestList(req: IncomingMessage, res: ServerResponse, repository: string, url: URL) {
    await requireAuth(req, `repository:${repository}:metadata_read`);
    if (req.method !== "GET") throw unsupported();
    const manifests = await repositoryOrThrow(repository);
    const page = pageOf(manifests, {
      key: (m) => m.digest,
      time: (m) => m.lastUpdateTime.getTime(),
      url,
      forgottenTime: (digest) => timeline.forgottenTime(manifestKey(repository, digest)),
    });
    return sendJson(
      res,
      200,
      {
        registry: loginServer,
        imageName: repository,
        manifests: page.items.map((m) => manifestBody(repository, m)),
      },
      page.link(`/acr/v1/${repository}/_manifests`),
    );
  }

  async function manifestRequest(req: IncomingMessage, res: ServerResponse, repository: string, digest: string) {
    const method = req.method ?? "GET";
    const scope = { GET: "metadata_read", PATCH: "metadata_write" }[method];
    if (!scope) throw unsupported();
    await requireAuth(req, `repository:${repository}:${scope}`);
    const change = method === "PATCH" ? await readPatch(req) : undefined;
    const manifests = await repositoryOrThrow(repository);
    const unknown = () =>
      new AcrAnswer(404, "MANIFEST_UNKNOWN", "manifest unknown", { name: repository, revision: digest });
    if (!SHA256_DIGEST.test(digest)) throw unknown();
    let found = manifests.find((m) => m.digest === digest);
    if (!found) throw unknown();
    const key = manifestKey(repository, digest);
    if (change) {
      attributes.set(key, { ...attributesOf(key), ...change });
      timeline.touch(key);
      found = (await manifestViews(repository)).find((m) => m.digest === digest) ?? found;
    }
    return sendJson(res, 200, {
      registry: loginServer,
      imageName: repository,
      manifest: manifestBody(repository, found),
    });
  }

  /**
   * On a registry with auth: a request without credentials gets the registry's challenge; credentials it refuses, too;
   * and a bearer token whose access claims do not grant the scope's action (ACR's metadata_read, metadata_write,
   * delete), as ACR refuses a token issued for another scope.
   */
  async function requireAuth(req: IncomingMessage, scope: string): Promise<void> {
    if (!challenge) return;
    const authorization = req.headers.authorization;
    if (
      authorization &&
      tokenGrants(authorization, scope) &&
      (await upstreamAccepts(options.upstream, authorization, agent))
    )
      return;
    const header = /^bearer/i.test(challenge)
      ? `${challenge.replace(/,?\s*scope="[^"]*"/i, "")},scope="${scope}"`
      : challenge;
    throw new AcrAnswer(401, "UNAUTHORIZED", "authentication required", [{ Type: "repository", Action: scope }], {
      "www-authenticate": header,
    });
  }

  // ---- /v2 manifests: enforcement around the pass-through ----

  async function v2Manifest(
    req: IncomingMessage,
    res: ServerResponse,
    repository: string,
    reference: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const byTag = !SHA256_DIGEST.test(reference);
    // Without credentials on a registry that wants them, the registry answers (401) and nothing changes.
    const anonymousToAuthRegistry = Boolean(challenge) && !req.headers.authorization;
    if (method === "GET" || method === "HEAD") {
      return passThrough(req, res, (up) => {
        if ((up.statusCode ?? 500) >= 300) return undefined;
        const digest = String(up.headers["docker-content-digest"] ?? (byTag ? "" : reference));
        const readable =
          attributesOf(repoKey(repository)).readEnabled &&
          attributesOf(manifestKey(repository, digest)).readEnabled &&
          (!byTag || attributesOf(tagKey(repository, reference)).readEnabled);
        return readable ? undefined : disallowed();
      });
    }
    if (method === "PUT" && !anonymousToAuthRegistry) {
      const tagExists = byTag && (await storage.tag(repository, reference)) !== undefined;
      // Attributes of a tag the registry no longer has (removed behind the stand-in's back) do not pass to a new one.
      if (byTag && !tagExists) forgetKey(tagKey(repository, reference));
      if (
        !attributesOf(repoKey(repository)).writeEnabled ||
        (tagExists && !attributesOf(tagKey(repository, reference)).writeEnabled)
      ) {
        req.resume();
        return sendError(res, disallowed(), method);
      }
      return passThrough(req, res, (up) => {
        const digest = up.headers["docker-content-digest"];
        if (up.statusCode === 201 && typeof digest === "string") {
          const now = new Date();
          timeline.touch(manifestKey(repository, digest), now);
          if (byTag) timeline.touch(tagKey(repository, reference), now);
          timeline.touch(repoKey(repository), now);
        }
        return undefined;
      });
    }
    if (method === "DELETE" && !byTag && !anonymousToAuthRegistry) {
      const refusal = await manifestDeleteLock(repository, reference);
      if (refusal) {
        req.resume();
        return sendError(res, refusal, method);
      }
      // The registry deletes the manifest's tags with it: their attributes go too.
      const tags = (await storage.tags(repository)).filter((t) => t.digest === reference);
      return passThrough(req, res, (up) => {
        if (up.statusCode === 202) {
          forgetKey(manifestKey(repository, reference));
          for (const tag of tags) forgetKey(tagKey(repository, tag.name));
        }
        return undefined;
      });
    }
    return passThrough(req, res);
  }

  /**
   * Streams the request to the registry and its answer back. `inspect` sees the answer's status and headers first and
   * may replace it with a refusal (the registry's body is then discarded).
   */
  function passThrough(
    req: IncomingMessage,
    res: ServerResponse,
    inspect?: (up: IncomingMessage) => AcrAnswer | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const upstream = httpRequest(
        {
          host: upstreamHost,
          port: upstreamPort,
          method: req.method,
          path: req.url,
          // The Host header stays the stand-in's: the registry builds its Location URLs from it.
          headers: req.headers,
          agent,
        },
        (up) => {
          const refusal = inspect?.(up);
          if (refusal) {
            up.resume();
            sendError(res, refusal, req.method ?? "GET");
            return resolve();
          }
          const headers = { ...up.headers };
          if (typeof headers.location === "string")
            headers.location = headers.location.replace(`//${options.upstream}/`, `//${host}/`);
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
          up.on("end", () => resolve());
          up.on("error", () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("registry unreachable");
        else res.destroy();
        resolve();
      });
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const handle = async () => {
      if (url.pathname.startsWith("/acr/v1/")) return acrApi(req, res, url);
      const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
      if (manifest && isRepositoryName(manifest[1]!)) return v2Manifest(req, res, manifest[1]!, manifest[2]!);
      return passThrough(req, res);
    };
    handle().catch((error: unknown) => {
      if (error instanceof AcrAnswer) return sendError(res, error, req.method ?? "GET");
      if (!res.headersSent)
        res.writeHead(500, { "content-type": "text/plain" }).end(`ACR stand-in: ${(error as Error).message}`);
      else res.destroy();
    });
  });
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  loginServer ||= host;
  return {
    host,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

// ---- helpers ----

function splitHost(host: string): [string, number] {
  const match = /^(.+):(\d+)$/.exec(host);
  if (!match) throw new Error(`upstream must be host:port, not ${JSON.stringify(host)}`);
  return [match[1]!, Number(match[2])];
}

/** The WWW-Authenticate header of the registry's answer to an anonymous GET /v2/ (undefined: it needs none). */
async function probeChallenge(upstream: string): Promise<string | undefined> {
  const response = await fetch(`http://${upstream}/v2/`);
  await response.body?.cancel();
  return response.status === 401 ? (response.headers.get("www-authenticate") ?? 'Basic realm="registry"') : undefined;
}

/**
 * Whether a bearer token's `access` claims (the distribution token spec's, which ACR's tokens carry too) grant `scope`
 * (`<type>:<name>:<action>`). The registry behind verifies the token's signature; this reads only its claims. Basic
 * credentials carry no scopes: they pass.
 */
function tokenGrants(authorization: string, scope: string): boolean {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (!bearer) return true;
  const parts = scope.split(":");
  const [type, action] = [parts[0], parts[parts.length - 1]];
  const name = parts.slice(1, -1).join(":");
  try {
    const payload = JSON.parse(Buffer.from(bearer.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      access?: { type?: string; name?: string; actions?: string[] }[];
    };
    return (payload.access ?? []).some(
      (a) => a.type === type && a.name === name && (a.actions?.includes(action!) || a.actions?.includes("*")),
    );
  } catch {
    return false;
  }
}

function upstreamAccepts(upstream: string, authorization: string, agent: Agent): Promise<boolean> {
  const [hostname, port] = splitHost(upstream);
  return new Promise((resolve) => {
    const check = httpRequest({ host: hostname, port, path: "/v2/", headers: { authorization }, agent }, (up) => {
      up.resume();
      resolve(up.statusCode === 200);
    });
    check.on("error", () => resolve(false));
    check.end();
  });
}

async function readFacts(storage: RegistryStorage, digest: string): Promise<ManifestFacts> {
  const bytes = await storage.readBlob(digest, MAX_MANIFEST_BYTES);
  let manifest: {
    mediaType?: string;
    config?: { mediaType?: string; digest?: string; size?: number };
    layers?: { size?: number }[];
    manifests?: { digest?: string; platform?: { architecture?: string; os?: string } }[];
  } = {};
  try {
    manifest = bytes ? (JSON.parse(bytes.toString("utf8")) as typeof manifest) : {};
  } catch {
    /* not JSON: listed with what is known */
  }
  const size = bytes?.length ?? 0;
  // Distribution serves a manifest without `mediaType` as OCI (an index when it has `manifests`).
  const mediaType = manifest.mediaType ?? (manifest.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  if (INDEX_TYPES.has(mediaType) || manifest.manifests)
    return {
      mediaType,
      imageSize: size,
      references: (manifest.manifests ?? []).map((m) => ({
        digest: String(m.digest),
        ...(m.platform?.architecture && { architecture: m.platform.architecture }),
        ...(m.platform?.os && { os: m.platform.os }),
      })),
    };
  const sizeOf = (n: unknown) => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0);
  const imageSize =
    size + sizeOf(manifest.config?.size) + (manifest.layers ?? []).reduce((sum, l) => sum + sizeOf(l.size), 0);
  const configMediaType = manifest.config?.mediaType;
  const facts: ManifestFacts = { mediaType, imageSize, ...(configMediaType && { configMediaType }) };
  if (configMediaType && IMAGE_CONFIG_TYPES.has(configMediaType) && manifest.config?.digest) {
    const config = await storage.readBlob(manifest.config.digest, MAX_CONFIG_BYTES);
    try {
      const { architecture, os } = JSON.parse(config?.toString("utf8") ?? "{}") as {
        architecture?: string;
        os?: string;
      };
      if (architecture) facts.architecture = architecture;
      if (os) facts.os = os;
    } catch {
      /* a config that is not JSON has no platform to list */
    }
  }
  return facts;
}

async function readPatch(req: IncomingMessage): Promise<Partial<ChangeableAttributes>> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > MAX_PATCH_BYTES) throw new AcrAnswer(400, "BAD_REQUEST", "the request body is too large");
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    throw new AcrAnswer(400, "BAD_REQUEST", "the request body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new AcrAnswer(400, "BAD_REQUEST", "the request body must be a JSON object of changeable attributes");
  const change: Partial<ChangeableAttributes> = {};
  for (const name of ATTRIBUTE_NAMES) {
    const value = (body as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== "boolean") throw new AcrAnswer(400, "BAD_REQUEST", `${name} must be true or false`);
    change[name] = value;
  }
  return change;
}

interface PageOptions<T> {
  key: (item: T) => string;
  /** Sort time (lastUpdateTime) for orderby=timeasc/timedesc. */
  time: (item: T) => number;
  url: URL;
  /** The time of an item that is gone, so that a page after it still starts where it was. */
  forgottenTime: (key: string) => Date | undefined;
}

/** One page of `items` by `n`, `last` and `orderby`, and the Link to the next one. */
function pageOf<T>(items: T[], options: PageOptions<T>) {
  const { key, time, url } = options;
  const nParam = url.searchParams.get("n");
  const n = nParam === null ? DEFAULT_PAGE_SIZE : Number(nParam);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw new AcrAnswer(400, "PAGINATION_NUMBER_INVALID", `n must be 1 to ${MAX_PAGE_SIZE}`, { n: nParam });
  const orderParam = url.searchParams.get("orderby") ?? "";
  const orderby: OrderBy = orderParam === "" ? "none" : (orderParam as OrderBy);
  if (!["none", "timedesc", "timeasc"].includes(orderby))
    throw new AcrAnswer(400, "UNSUPPORTED", "orderby must be none, timedesc or timeasc", { orderby: orderParam });
  const compare = (a: { key: string; time: number }, b: { key: string; time: number }) => {
    if (orderby === "timedesc" && a.time !== b.time) return b.time - a.time;
    if (orderby === "timeasc" && a.time !== b.time) return a.time - b.time;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
  const sorted = items.map((item) => ({ item, key: key(item), time: time(item) })).sort((a, b) => compare(a, b));
  const last = url.searchParams.get("last");
  let start = 0;
  if (last !== null) {
    const index = sorted.findIndex((s) => s.key === last);
    if (index >= 0) start = index + 1;
    else {
      const lastTime = orderby === "none" ? 0 : options.forgottenTime(last)?.getTime();
      if (lastTime === undefined)
        throw new AcrAnswer(400, "PAGINATION_INVALID", `no item ${last} to continue after`, { last });
      start = sorted.findIndex((s) => compare(s, { key: last, time: lastTime }) > 0);
      if (start < 0) start = sorted.length;
    }
  }
  const page = sorted.slice(start, start + n);
  const more = start + n < sorted.length;
  return {
    items: page.map((p) => p.item),
    link: (path: string, extra: Record<string, string> = {}): Record<string, string> => {
      if (!more || page.length === 0) return {};
      const query = new URLSearchParams({
        last: page[page.length - 1]!.key,
        n: String(n),
        ...(orderby !== "none" && { orderby }),
        ...extra,
      });
      return { link: `<${path}?${query}>; rel="next"` };
    },
  };
}

const unsupported = () => new AcrAnswer(405, "UNSUPPORTED", "The operation is unsupported.");

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res
    .writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": bytes.length,
      ...headers,
    })
    .end(bytes);
}

function sendError(res: ServerResponse, error: AcrAnswer, method: string): void {
  if (res.headersSent) return void res.destroy();
  const bytes = Buffer.from(
    JSON.stringify({ errors: [{ code: error.code, message: error.message, detail: error.detail }] }),
  );
  const headers: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": bytes.length,
    "docker-distribution-api-version": "registry/2.0",
    ...error.headers,
  };
  res.writeHead(error.status, headers).end(method === "HEAD" ? undefined : bytes);
}
