// The one registry client (OCI distribution API v2): manifests byte for byte, blobs as verified streams,
// repositories and tags as paged async iterators. Auth and retry sit below, in auth.ts and transport.ts.
// Every body it buffers (manifest, listing page, error) is read with a bound; listings follow RFC 8288 `Link`
// headers and stop with an error on a link already visited or past a page cap, never loop. Error answers keep the
// registry's own error code (MANIFEST_BLOB_UNKNOWN, …): the body is read before it is let go.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { ArchiveError, firstLine, isArchiveError } from "../errors.js";
import { RegistryAuthenticator, type RegistryCredential } from "./auth.js";
import { SHA256_DIGEST } from "./digest.js";
import {
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_RETRY_POLICY,
  readBodyLimited,
  registryBaseUrl,
  sendWithRetry,
  type RequestBudgetLike,
  type RequestMeter,
  type RetryPolicy,
} from "./transport.js";
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  MediaTypes,
  type Descriptor,
  type Manifest,
  type PagedAsyncIterableIterator,
} from "./types.js";
import { nodeBodyOf } from "./nodeRequest.js";
import { verifyingReader } from "./verifyingReader.js";

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

export interface BlobExistsOptions extends OperationOptions {
  /** Ask with the push scope (restore, default) or the pull scope only (archive: a pull-only identity). */
  forPush?: boolean;
}

/** One manifest as ACR's `/acr/v1/<name>/_manifests` lists it. */
export interface AcrManifestProperties {
  digest: string;
  tags?: string[];
  lastUpdateTime?: string;
  createdTime?: string;
  mediaType?: string;
}

export interface ListReferrersOptions extends OperationOptions {
  /**
   * Ask for referrers of this `artifactType` only (`?artifactType=`). A registry that filtered says so in
   * `OCI-Filters-Applied`; one that did not is filtered here.
   */
  artifactType?: string;
  /** Descriptors one subject may have before the listing stops with REFERRER_GRAPH_INVALID; default 1,000. */
  maxReferrers?: number;
}

export interface PutManifestResult {
  /** `Docker-Content-Digest`: the digest the registry computed. */
  digest?: string;
  /** `OCI-Subject`: the registry indexed the manifest's subject for its referrers API (OCI distribution 1.1). */
  ociSubject?: string;
}

export interface GetManifestResult {
  /** Descriptor of the manifest itself: media type, digest and size of the exact bytes. */
  descriptor: Descriptor;
  /** The bytes as the registry stores them: archived unchanged so a restore pushes the same digest. */
  bytes: Buffer;
  manifest: Manifest;
}

const DEFAULT_PAGE_SIZE = 100;
// Referrers of one subject: signatures, SBOMs, attestations, a handful in practice; a listing past this is refused.
const DEFAULT_MAX_REFERRERS = 1000;
// A listing page is JSON names (catalog, tags) or ACR manifest properties, at most ~1000 entries of well under 1 KiB:
// 16 MiB is far above any real page and still small enough to buffer.
const MAX_LISTING_PAGE_BYTES = 16 * 1024 * 1024;
// 100,000 pages of the default 100 names are 10 million repositories or tags, more than any registry holds. The visited
// check catches a repeated link only: this cap ends a server that hands out ever-new next links.
const MAX_LISTING_PAGES = 100_000;
// Error bodies are a small JSON `errors` array; the first 64 KiB is read, parsed if it is whole, ignored if not.
const MAX_ERROR_BODY_BYTES = 64 * 1024;
// A Link header with a few link-values is well under 1 KiB; undici already refuses headers past 16 KiB in all.
const MAX_LINK_HEADER_LENGTH = 8 * 1024;
// Bytes re-requested with Range after a body ends early, before the blob fails.
const MAX_BLOB_RESUMES = 3;
/**
 * A break after at least this many bytes since the last one starts the resume count again: a long read (a blob streamed
 * in one GET) gets MAX_BLOB_RESUMES per stretch, not for its whole length, while a server that breaks every few bytes
 * still runs out (at most one request per this many bytes, as ranged parts cost).
 */
const RESUME_PROGRESS_BYTES = 4 * 1024 * 1024;

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly auth: RegistryAuthenticator;
  private readonly retry: RetryPolicy;
  private readonly userAgent: string;
  private readonly maxListingPages: number;
  private readonly budget: RequestBudgetLike | undefined;
  private readonly idleTimeoutMs: number;
  /** Requests sent to the registry by this client so far (every operation, token requests included). */
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

  /** GET /v2/<name>/manifests/<reference>, verified against the digest it was asked by (or the one the registry names). */
  async getManifest(
    repository: string,
    tagOrDigest: string,
    options: OperationOptions = {},
  ): Promise<GetManifestResult> {
    const response = await this.request(`/v2/${repository}/manifests/${tagOrDigest}`, `repository:${repository}:pull`, {
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      ...options,
    });
    await this.throwIfError(response, `manifest ${repository}:${tagOrDigest}`);
    const bytes = await readBodyLimited(response, MAX_MANIFEST_BYTES, `manifest ${repository}:${tagOrDigest}`, {
      code: "UNSUPPORTED_MEDIA_TYPE",
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const expected = tagOrDigest.startsWith("sha256:") ? tagOrDigest : response.headers.get("docker-content-digest");
    if (expected && expected.startsWith("sha256:") && expected !== digest) {
      throw new ArchiveError(
        "DIGEST_MISMATCH",
        `manifest ${repository}:${tagOrDigest} hashes to ${digest}, expected ${expected}`,
      );
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    } catch {
      throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `manifest ${repository}:${tagOrDigest} is not JSON`);
    }
    const mediaType = manifest.mediaType ?? response.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number])) {
      throw new ArchiveError(
        "UNSUPPORTED_MEDIA_TYPE",
        `manifest ${repository}:${tagOrDigest} has media type "${mediaType}", which cannot be archived faithfully`,
      );
    }
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes, manifest };
  }

  /** The digest a tag points at (HEAD, no body), or undefined when the tag does not exist. */
  async getManifestDigest(
    repository: string,
    tagOrDigest: string,
    options: OperationOptions = {},
  ): Promise<string | undefined> {
    const response = await this.request(`/v2/${repository}/manifests/${tagOrDigest}`, `repository:${repository}:pull`, {
      method: "HEAD",
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      ...options,
    });
    if (response.status === 404) return undefined;
    await this.throwIfError(response, `manifest ${repository}:${tagOrDigest}`);
    return (
      response.headers.get("docker-content-digest") ??
      (await this.getManifest(repository, tagOrDigest, options)).descriptor.digest
    );
  }

  /** The manifest a tag (or digest) names, or undefined when the registry has none (404): for optional tags. */
  async findManifest(
    repository: string,
    tagOrDigest: string,
    options: OperationOptions = {},
  ): Promise<GetManifestResult | undefined> {
    try {
      return await this.getManifest(repository, tagOrDigest, options);
    } catch (error) {
      if (isArchiveError(error) && error.code === "REGISTRY_NOT_FOUND") return undefined;
      throw error;
    }
  }

  /**
   * GET /v2/<name>/referrers/<digest> (OCI distribution 1.1), every page (RFC 8288 `Link`, as listings): the
   * descriptors of the manifests whose `subject` is `digest`. Undefined when the registry has no referrers API: a
   * registry that has one must not answer 404 (the spec), so a 404 (or 405) to the first page means "use the tag schema".
   */
  async listReferrers(
    repository: string,
    digest: string,
    options: ListReferrersOptions = {},
  ): Promise<Descriptor[] | undefined> {
    if (!SHA256_DIGEST.test(digest))
      throw new ArchiveError("INVALID_ARGUMENT", `referrers of "${digest}": not a sha256 digest`);
    const path = `/v2/${repository}/referrers/${digest}`;
    const what = `the referrers of ${digest} in ${repository}`;
    const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : "";
    const max = options.maxReferrers ?? DEFAULT_MAX_REFERRERS;
    const listing = new Listing(this.absolute(`${path}${query}`), path, this.maxListingPages);
    const found: Descriptor[] = [];
    for (let url: string | undefined = listing.first; url;) {
      const response = await this.request(url, `repository:${repository}:pull`, options);
      if ((response.status === 404 || response.status === 405) && url === listing.first) {
        await response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      const page = await this.readListingPage(response, what, options);
      if (!Array.isArray(page.manifests))
        throw new ArchiveError("REGISTRY_ERROR", `${this.registry} answered ${what} with something not an image index`);
      const filtered = (response.headers.get("oci-filters-applied") ?? "")
        .split(",")
        .some((f) => f.trim() === "artifactType");
      for (const entry of page.manifests as unknown[]) {
        if (!isDescriptor(entry))
          throw new ArchiveError("REGISTRY_ERROR", `${this.registry} answered ${what} with an invalid descriptor`);
        if (options.artifactType && !filtered && entry.artifactType !== options.artifactType) continue;
        found.push(entry);
        if (found.length > max)
          throw new ArchiveError("REFERRER_GRAPH_INVALID", `${what}: more than ${max} referrers; stopped`);
      }
      url = listing.next(url, response.headers.get("link"));
    }
    return found;
  }

  /**
   * GET /v2/<name>/blobs/<digest> as a stream that checks size and digest while it flows (verifyingReader.ts): it errors
   * with SIZE_MISMATCH as soon as more bytes arrive than the descriptor says, and with DIGEST_MISMATCH or SIZE_MISMATCH
   * at the end. A body that ends early is resumed with a Range request.
   */
  getBlob(repository: string, descriptor: Descriptor, options: OperationOptions = {}): Readable {
    const what = `blob ${descriptor.digest} of ${repository}`;
    const bytes = this.blobBytes(repository, descriptor, what, options);
    const verified = verifyingReader(bytes, descriptor, { what, corruption: "its bytes in the registry are corrupt" });
    return Readable.from(verified, { objectMode: false, highWaterMark: 1 << 20 });
  }

  /** The blob's bytes in order, across Range resumes of a body that ends early; verified by the caller. */
  private blobBytes(
    repository: string,
    descriptor: Descriptor,
    what: string,
    options: OperationOptions,
  ): AsyncGenerator<Buffer> {
    return this.blobRangeBytes(
      repository,
      descriptor,
      { start: 0, end: descriptor.size, ranged: false },
      { ...options, what },
    );
  }

  /**
   * UNVERIFIED bytes [start, end) of a blob, for a caller that verifies the whole blob in order (BlobPrefetcher over
   * verifyingReader). `ranged` asks for the range itself (`Range: bytes=start-end-1`); otherwise the first request is a
   * plain GET of the whole blob. A body that breaks off (or goes silent for the idle timeout) is resumed with Range
   * from the byte it broke at (at most
   * MAX_BLOB_RESUMES times in a row without RESUME_PROGRESS_BYTES between breaks), and a registry that answers 200 to a
   * Range has the bytes before the range dropped. The first answer is reported to `onFirstAnswer(honoured)`: returning true turns a ranged request the registry answered
   * with 200 (the whole blob) into a read of the whole blob (the fallback to one stream). The range's bytes after `end`
   * are cut off and not read, except at the blob's end, where one byte more is yielded (the caller's verifier fails it
   * with SIZE_MISMATCH) and then the reading stops: never more than the range and one byte, whatever the answer's length.
   */
  async *blobRangeBytes(
    repository: string,
    descriptor: Descriptor,
    range: { start: number; end: number; ranged: boolean },
    options: OperationOptions & { what?: string; onFirstAnswer?: (rangeHonoured: boolean) => boolean } = {},
  ): AsyncGenerator<Buffer> {
    const what = options.what ?? `blob ${descriptor.digest} of ${repository}`;
    const request = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    let end = range.end;
    let position = range.start;
    let resumes = 0;
    let brokeAt = range.start;
    const broke = () => {
      if (position - brokeAt >= RESUME_PROGRESS_BYTES) resumes = 0;
      brokeAt = position;
      return ++resumes > MAX_BLOB_RESUMES;
    };
    let first = true;
    while (position < end || (first && end === 0)) {
      const askRange = position > range.start || range.ranged;
      const headers: Record<string, string> = askRange
        ? { range: end === descriptor.size ? `bytes=${position}-` : `bytes=${position}-${end - 1}` }
        : {};
      // node:http, not fetch, for the bytes (nodeRequest.ts: no copy per chunk, no web stream).
      const response = await this.request(
        `/v2/${repository}/blobs/${descriptor.digest}`,
        `repository:${repository}:pull`,
        { headers, nodeBody: true, ...request },
      );
      await this.throwIfError(response, what);
      const nodeBody = nodeBodyOf(response);
      let skip = 0;
      if (response.status === 206) {
        const start = Number(/bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1] ?? NaN);
        if (start !== position) {
          nodeBody?.destroy();
          await response.body?.cancel().catch(() => undefined);
          throw new ArchiveError(
            "REGISTRY_ERROR",
            `${what}: the registry resumed at byte ${start}, expected ${position}`,
          );
        }
      } else if (position > 0) skip = position; // the server ignored Range: drop what comes before
      if (first) {
        first = false;
        if (
          range.ranged &&
          options.onFirstAnswer?.(response.status === 206) === true &&
          response.status !== 206 &&
          position === 0
        )
          end = descriptor.size;
      }
      // Inside the blob, bytes past the range belong to the next range; at its end one byte more is passed on, for the
      // verifier's SIZE_MISMATCH. Nothing past that is read: a registry may send any length, the caller holds the range.
      const limit = end === descriptor.size ? end + 1 : end;
      try {
        const body =
          nodeBody ??
          (response.body && Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>));
        if (!body) break;
        for await (const raw of body) {
          let chunk = raw as Buffer;
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
            if (chunk.length === 0) continue;
          }
          const overrun = position + chunk.length > limit;
          if (overrun) chunk = chunk.subarray(0, limit - position);
          position += chunk.length;
          // An overrun may also end this generator from the verifier (return at the yield), never through the catch.
          if (chunk.length > 0) yield chunk;
          // The rest of a 200 answer is not ours, nor more than a 206 promised: let the body go (the loop's end destroys it).
          if (overrun || (position >= limit && response.status !== 206)) break;
        }
      } catch (error) {
        if (options.abortSignal?.aborted)
          throw new ArchiveError("ABORTED", `${what}: the read was aborted`, { cause: error });
        if (broke())
          throw new ArchiveError("REGISTRY_UNREACHABLE", `${what}: the download kept failing at byte ${position}`, {
            cause: error,
          });
        continue;
      }
      if (position < end) {
        if (broke()) break;
        continue;
      }
      break;
    }
  }

  /** HEAD /v2/<name>/blobs/<digest>: does the repository already have this blob? */
  async blobExists(repository: string, digest: string, options: BlobExistsOptions = {}): Promise<boolean> {
    // A restore asks with the push scope it is about to use (one token); an archive only reads.
    const scope = options.forPush === false ? `repository:${repository}:pull` : `repository:${repository}:pull,push`;
    const response = await this.request(`/v2/${repository}/blobs/${digest}`, scope, {
      method: "HEAD",
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      return false;
    }
    await this.throwIfError(response, `blob ${digest} of ${repository}`);
    await response.body?.cancel().catch(() => undefined);
    return true;
  }

  /**
   * Uploads one blob (POST to open an upload, then one monolithic PUT with `?digest=`). The body streams and is not
   * retried; the POST answers the auth challenge first, so the PUT goes out with a token.
   */
  async uploadBlob(
    repository: string,
    descriptor: Descriptor,
    body: AsyncIterable<Buffer> | Buffer,
    options: OperationOptions = {},
  ): Promise<void> {
    const scope = `repository:${repository}:pull,push`;
    const opened = await this.request(`/v2/${repository}/blobs/uploads/`, scope, { method: "POST", ...options });
    await this.throwIfError(opened, `an upload to ${repository}`);
    await opened.body?.cancel().catch(() => undefined);
    const location = opened.headers.get("location");
    if (!location) throw new ArchiveError("REGISTRY_ERROR", `${this.registry} opened an upload without a Location`);
    const url = new URL(location, this.baseUrl);
    url.searchParams.set("digest", descriptor.digest);
    const response = await this.request(url.toString(), scope, {
      method: "PUT",
      headers: { "content-type": MediaTypes.octetStream, "content-length": String(descriptor.size) },
      body,
      ...options,
    });
    await this.throwIfError(response, `blob ${descriptor.digest} of ${repository}`);
    await response.body?.cancel().catch(() => undefined);
  }

  /** PUT /v2/<name>/manifests/<reference> with the exact bytes; returns the digest the registry computed. */
  async putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
    options: OperationOptions = {},
  ): Promise<string | undefined> {
    return (await this.pushManifest(repository, reference, mediaType, bytes, options)).digest;
  }

  /** putManifest, with the registry's `OCI-Subject` answer (a manifest with a `subject` was indexed as a referrer). */
  async pushManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
    options: OperationOptions = {},
  ): Promise<PutManifestResult> {
    const response = await this.request(
      `/v2/${repository}/manifests/${reference}`,
      `repository:${repository}:pull,push`,
      {
        method: "PUT",
        headers: { "content-type": mediaType },
        body: bytes,
        ...options,
      },
    );
    await this.throwIfError(response, `manifest ${repository}:${reference}`);
    await response.body?.cancel().catch(() => undefined);
    const digest = response.headers.get("docker-content-digest");
    const ociSubject = response.headers.get("oci-subject");
    return { ...(digest && { digest }), ...(ociSubject && { ociSubject }) };
  }

  /**
   * ACR's manifest listing (`/acr/v1/<name>/_manifests`): every manifest with its tags and `lastUpdateTime`,
   * untagged ones included, in pages. Plain registries do not have it: they answer 404, and this returns undefined.
   */
  async listManifestProperties(
    repository: string,
    options: OperationOptions & { pageSize?: number } = {},
  ): Promise<AcrManifestProperties[] | undefined> {
    const all: AcrManifestProperties[] = [];
    const what = `manifests of ${repository}`;
    const listing = new Listing(
      this.absolute(`/acr/v1/${repository}/_manifests?n=${options.pageSize ?? 1000}`),
      what,
      this.maxListingPages,
    );
    for (let url: string | undefined = listing.first; url;) {
      const response = await this.request(url, `repository:${repository}:metadata_read`, options);
      if (response.status === 404 && listing.pages === 1) {
        await response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      const body = await this.readListingPage(response, what, options);
      all.push(...(Array.isArray(body.manifests) ? (body.manifests as AcrManifestProperties[]) : []));
      url = listing.next(url, response.headers.get("link"));
    }
    return all;
  }

  /** Repository names from /v2/_catalog, following `Link` pages. */
  listRepositoryNames(options: OperationOptions & { pageSize?: number } = {}): PagedAsyncIterableIterator<string> {
    return this.paged(`/v2/_catalog`, "registry:catalog:*", "repositories", options);
  }

  /**
   * One page of /v2/_catalog: the names after `after` (distribution's and ACR's `last` parameter), and the name to
   * continue after when the registry links a next page. The continuation is a repository name, never the registry's
   * Link URL: it can be kept in orchestration history (which can be forged) and only ever names this registry's page.
   */
  async listRepositoryPage(
    options: OperationOptions & { after?: string; pageSize?: number } = {},
  ): Promise<{ repositories: string[]; next?: string }> {
    const n = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const path = `/v2/_catalog?n=${n}${options.after === undefined ? "" : `&last=${encodeURIComponent(options.after)}`}`;
    const response = await this.request(path, "registry:catalog:*", options);
    const body = await this.readListingPage(response, "/v2/_catalog", options);
    const repositories = (Array.isArray(body.repositories) ? (body.repositories as unknown[]) : []).filter(
      (r): r is string => typeof r === "string",
    );
    const link = parseNextLink(response.headers.get("link"));
    if (link === undefined || repositories.length === 0) return { repositories };
    // Where the registry says to go on from (its Link's `last`), else after the page's last name.
    let last: string | null;
    try {
      last = new URL(link, this.baseUrl).searchParams.get("last");
    } catch {
      throw new ArchiveError("REGISTRY_ERROR", "the next page of /v2/_catalog has an invalid Link");
    }
    const next = last ?? repositories[repositories.length - 1]!;
    if (options.after !== undefined && next <= options.after)
      throw new ArchiveError(
        "REGISTRY_ERROR",
        `the catalog of ${this.registry} does not move past ${options.after}; stopped`,
      );
    return { repositories, next };
  }

  /** Tags of one repository from /v2/<name>/tags/list, following `Link` pages. */
  listTags(
    repository: string,
    options: OperationOptions & { pageSize?: number } = {},
  ): PagedAsyncIterableIterator<string> {
    return this.paged(`/v2/${repository}/tags/list`, `repository:${repository}:pull`, "tags", options);
  }

  private paged(
    path: string,
    scope: string,
    field: "repositories" | "tags",
    options: OperationOptions & { pageSize?: number },
  ): PagedAsyncIterableIterator<string> {
    const pages = (settings: { continuationToken?: string; maxPageSize?: number } = {}) =>
      this.pages(path, scope, field, settings, options);
    async function* items() {
      for await (const page of pages()) yield* page;
    }
    const iterator = items();
    return Object.assign(iterator, { byPage: pages, [Symbol.asyncIterator]: () => iterator });
  }

  private async *pages(
    path: string,
    scope: string,
    field: string,
    settings: { continuationToken?: string; maxPageSize?: number },
    options: OperationOptions & { pageSize?: number },
  ) {
    const first =
      settings.continuationToken ?? `${path}?n=${settings.maxPageSize ?? options.pageSize ?? DEFAULT_PAGE_SIZE}`;
    const listing = new Listing(this.absolute(first), path, this.maxListingPages);
    for (let url: string | undefined = listing.first; url;) {
      const response = await this.request(url, scope, options);
      if (response.status === 404 && field === "tags") {
        await response.body?.cancel().catch(() => undefined);
        throw new ArchiveError(
          "REGISTRY_NOT_FOUND",
          `repository ${path.split("/").slice(2, -2).join("/")} not found in ${this.registry}`,
          { statusCode: 404 },
        );
      }
      const body = await this.readListingPage(response, path, options);
      const values = Array.isArray(body[field]) ? (body[field] as string[]) : [];
      url = listing.next(url, response.headers.get("link"));
      yield Object.assign(values, url ? { continuationToken: url } : {});
    }
  }

  /** One authenticated request: cached token first, then answer a 401 challenge once and replay. */
  private async request(
    pathOrUrl: string,
    scope: string,
    init: {
      method?: string;
      headers?: Record<string, string>;
      body?: Buffer | AsyncIterable<Buffer>;
      abortSignal?: AbortSignal;
      onRequest?: () => void;
      /** A 2xx answer's bytes as a Node stream: nodeBodyOf(response) (transport's SendOptions.nodeBody). */
      nodeBody?: boolean;
    },
  ): Promise<Response> {
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
      await response.body?.cancel().catch(() => undefined);
      if (streamed)
        throw new ArchiveError("REGISTRY_AUTH_FAILED", `${this.registry} refused the upload's credentials (HTTP 401)`, {
          statusCode: 401,
        });
      const authorization = await this.auth.authorize(challenge, scope, init.abortSignal, meter);
      response = await send(authorization);
    }
    return response;
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

  private absolute(pathOrUrl: string): string {
    return /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
  }

  /** One listing page's JSON object (after the error check), read with a bound. */
  private async readListingPage(
    response: Response,
    what: string,
    options: OperationOptions,
  ): Promise<Record<string, unknown>> {
    await this.throwIfError(response, what);
    const bytes = await readBodyLimited(response, MAX_LISTING_PAGE_BYTES, `a page of ${what} from ${this.registry}`, {
      ...(options.abortSignal && { abortSignal: options.abortSignal }),
    });
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new ArchiveError("REGISTRY_ERROR", `${this.registry} answered a page of ${what} that is not JSON`);
    }
    return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  }

  /** Throws the ArchiveError for a non-2xx answer, with the registry's error code; the body is read (bounded) or let go. */
  private async throwIfError(response: Response, what: string): Promise<void> {
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
    throw new ArchiveError("REGISTRY_ERROR", `${this.registry} answered HTTP ${status}${code} for ${what}${detail}`, {
      ...options,
      retryable: status >= 500 || status === 429,
    });
  }
}

/** A descriptor as a registry answer must have it: a media type, a sha256 digest, a size. */
function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return (
    typeof d === "object" &&
    d !== null &&
    typeof d.mediaType === "string" &&
    typeof d.digest === "string" &&
    SHA256_DIGEST.test(d.digest) &&
    Number.isSafeInteger(d.size) &&
    (d.size as number) >= 0 &&
    (d.artifactType === undefined || typeof d.artifactType === "string") &&
    (d.annotations === undefined || (typeof d.annotations === "object" && d.annotations !== null))
  );
}

/**
 * The pages of one listing: each next URL resolved against the page that named it (RFC 8288: the link's context), and
 * refused when it was already visited in this listing (a server that keeps answering the same Link) or when the
 * listing passes MAX_LISTING_PAGES.
 */
class Listing {
  private readonly visited = new Set<string>();
  readonly first: string;

  constructor(
    first: string,
    private readonly what: string,
    private readonly maxPages: number,
  ) {
    this.first = new URL(first).toString();
    this.visited.add(this.first);
  }

  get pages(): number {
    return this.visited.size;
  }

  /** The next page's URL, or undefined at the end. */
  next(current: string, linkHeader: string | null): string | undefined {
    const link = parseNextLink(linkHeader);
    if (link === undefined) return undefined;
    let url: string;
    try {
      url = new URL(link, current).toString();
    } catch {
      throw new ArchiveError("REGISTRY_ERROR", `the next page of ${this.what} has an invalid Link`);
    }
    if (this.visited.has(url)) {
      throw new ArchiveError(
        "REGISTRY_ERROR",
        `the listing of ${this.what} links back to a page already read (${new URL(url).pathname}); stopped`,
      );
    }
    if (this.visited.size >= this.maxPages) {
      throw new ArchiveError(
        "REGISTRY_ERROR",
        `the listing of ${this.what} goes on past ${this.maxPages} pages; stopped`,
      );
    }
    this.visited.add(url);
    return url;
  }
}

export interface LinkValue {
  target: string;
  /** Relation types, lower case (the rel parameter is a space-separated list). */
  rels: string[];
}

/**
 * Parses an RFC 8288 `Link` header: link-values separated by commas (a comma inside `<…>` or a quoted string is
 * not a separator), each `<target>` followed by `; param` or `; param=token` or `; param="quoted"`. Only the first
 * rel parameter of a link-value counts (RFC 8288 §3.3). One pass over the header; malformed link-values are skipped.
 * Throws REGISTRY_ERROR for a header longer than MAX_LINK_HEADER_LENGTH.
 */
export function parseLinkHeader(header: string | null): LinkValue[] {
  if (!header) return [];
  if (header.length > MAX_LINK_HEADER_LENGTH)
    throw new ArchiveError("REGISTRY_ERROR", `the registry sent a Link header of ${header.length} characters`);
  const links: LinkValue[] = [];
  const n = header.length;
  let i = 0;
  const isSpace = (c: string | undefined) => c === " " || c === "\t";
  const skipSpace = () => {
    while (i < n && isSpace(header[i])) i++;
  };
  // Past the end of the current link-value (its next top-level comma), after a malformed part.
  const skipValue = () => {
    while (i < n && header[i] !== ",") {
      if (header[i] === '"') readQuoted();
      else i++;
    }
  };
  const readQuoted = () => {
    let value = "";
    i++; // the opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // the closing quote
    return value;
  };
  const readToken = () => {
    const start = i;
    while (i < n && !isSpace(header[i]) && header[i] !== ";" && header[i] !== "," && header[i] !== "=") i++;
    return header.slice(start, i);
  };
  while (i < n) {
    while (i < n && (isSpace(header[i]) || header[i] === ",")) i++;
    if (i >= n) break;
    if (header[i] !== "<") {
      skipValue();
      continue;
    }
    const end = header.indexOf(">", i + 1);
    if (end < 0) break;
    const target = header.slice(i + 1, end).trim();
    i = end + 1;
    let rels: string[] | undefined;
    for (;;) {
      skipSpace();
      if (i >= n || header[i] === ",") break;
      if (header[i] !== ";") {
        skipValue();
        break;
      }
      i++;
      skipSpace();
      const name = readToken().toLowerCase();
      skipSpace();
      let value = "";
      if (header[i] === "=") {
        i++;
        skipSpace();
        value = header[i] === '"' ? readQuoted() : readToken();
      }
      if (name === "rel" && rels === undefined)
        rels = value
          .toLowerCase()
          .split(/[ \t]+/)
          .filter((r) => r !== "");
    }
    links.push({ target, rels: rels ?? [] });
  }
  return links;
}

/** The target of the first link-value whose relation types include "next" (relative targets stay relative). */
export function parseNextLink(header: string | null): string | undefined {
  return parseLinkHeader(header).find((link) => link.rels.includes("next"))?.target;
}
