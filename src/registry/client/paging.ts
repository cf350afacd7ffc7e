// The one way the client pages a listing (the catalog, tags, ACR's _manifests, referrers): an async iterator of items
// with byPage (the Azure SDK's PagedAsyncIterableIterator), each page read with a bound and its RFC 8288 `Link`
// rel="next" followed, resolved against the page that named it; the next page's URL is the continuation token. A link
// back to a page already read, or past the page cap, stops the listing with REGISTRY_ERROR: it never loops.
import { ArchiveError } from "../../errors.js";
import { readBodyLimited } from "../transport.js";
import type { PagedAsyncIterableIterator } from "../types.js";
import { parseNextLink } from "./linkHeader.js";
import type { OperationOptions, RegistrySession } from "./session.js";

// A listing page is JSON names (catalog, tags) or ACR manifest properties, at most ~1000 entries of well under 1 KiB:
// 16 MiB is far above any real page and still small enough to buffer.
const MAX_LISTING_PAGE_BYTES = 16 * 1024 * 1024;

/** One page of a listing's items, with the URL of the next page if the registry linked one. */
export type ListingPage<T> = T[] & { continuationToken?: string };

/** How a listing's pages ended: all read, or "absent" (its first page said the registry has no such listing). */
export type ListingEnd = "listed" | "absent";

export interface PagedListing<T> extends PagedAsyncIterableIterator<T> {
  byPage(settings?: { continuationToken?: string; maxPageSize?: number }): AsyncGenerator<ListingPage<T>, ListingEnd>;
}

/** What one page's answer holds: its items, and its `Link` rel="next" target as sent (relative or absolute). */
export interface PageAnswer<T> {
  items: T[];
  nextLink: string | undefined;
}

export interface ListingSource<T> {
  /** For errors: what is listed (a path, such as /v2/_catalog). */
  what: string;
  /** The first page's path or URL, for a page size (undefined: the listing's default). */
  firstPage(maxPageSize: number | undefined): string;
  /**
   * Reads the page at `url` (its answer's errors thrown). `first`: the listing's first page, which may answer
   * undefined: the registry has no such listing (ACR's _manifests elsewhere, a registry without the referrers API).
   */
  readPage(url: string, first: boolean): Promise<PageAnswer<T> | undefined>;
}

/** The listing's items, paged as the registry links its pages. Lazy: nothing is sent until it is read. */
export function pagedListing<T>(session: RegistrySession, source: ListingSource<T>): PagedListing<T> {
  const byPage = (settings: { continuationToken?: string; maxPageSize?: number } = {}) =>
    pages(session, source, settings);
  async function* items() {
    for await (const page of byPage()) yield* page;
  }
  const iterator = items();
  return Object.assign(iterator, { byPage, [Symbol.asyncIterator]: () => iterator });
}

/** Every item of a listing, or undefined when the registry has no such listing. */
export async function listAll<T>(listing: PagedListing<T>): Promise<T[] | undefined> {
  const all: T[] = [];
  const pages = listing.byPage();
  for (;;) {
    const page = await pages.next();
    if (page.done) return page.value === "absent" ? undefined : all;
    all.push(...page.value);
  }
}

async function* pages<T>(
  session: RegistrySession,
  source: ListingSource<T>,
  settings: { continuationToken?: string; maxPageSize?: number },
): AsyncGenerator<ListingPage<T>, ListingEnd> {
  const trail = new PageTrail(
    session.absolute(settings.continuationToken ?? source.firstPage(settings.maxPageSize)),
    source.what,
    session.maxListingPages,
  );
  for (let url: string | undefined = trail.first; url;) {
    const answer = await source.readPage(url, url === trail.first);
    if (!answer) return "absent";
    url = trail.next(url, answer.nextLink);
    yield Object.assign(answer.items, url ? { continuationToken: url } : {});
  }
  return "listed";
}

/** One listing page's JSON object (after the error check), read with a bound. */
export async function readPageBody(
  session: RegistrySession,
  response: Response,
  what: string,
  options: OperationOptions,
): Promise<Record<string, unknown>> {
  await session.throwIfError(response, what);
  const bytes = await readBodyLimited(response, MAX_LISTING_PAGE_BYTES, `a page of ${what} from ${session.registry}`, {
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
  });
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered a page of ${what} that is not JSON`);
  }
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
}

/** The target of an answer's `Link` rel="next", as sent. */
export function nextLinkOf(response: Response): string | undefined {
  return parseNextLink(response.headers.get("link"));
}

/**
 * The pages of one listing: each next URL resolved against the page that named it (RFC 8288: the link's context), and
 * refused when it was already visited in this listing (a server that keeps answering the same Link) or when the
 * listing passes its page cap.
 */
class PageTrail {
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

  /** The next page's URL, or undefined at the end. */
  next(current: string, link: string | undefined): string | undefined {
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
