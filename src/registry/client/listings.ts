// The registry's listings, paged one way (paging.ts): repositories (/v2/_catalog), one repository's tags
// (/v2/<name>/tags/list) and ACR's manifest listing (/acr/v1/<name>/_manifests: every manifest with its tags and
// lastUpdateTime, untagged ones included). A run's listing reads the catalog one page at a time across activities
// (listRepositoryPage), continued by a repository name rather than a URL.
import { ArchiveError } from "../../errors.js";
import { listAll, nextLinkOf, pagedListing, readPageBody, type PagedListing, type PageAnswer } from "./paging.js";
import { discardBody, type OperationOptions, type RegistrySession } from "./session.js";

/** One manifest as ACR's `/acr/v1/<name>/_manifests` lists it. */
export interface AcrManifestProperties {
  digest: string;
  tags?: string[];
  lastUpdateTime?: string;
  createdTime?: string;
  mediaType?: string;
}

export interface ListingOptions extends OperationOptions {
  /** Items per page asked for (`?n=`). */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 100;
const CATALOG = "/v2/_catalog";
const CATALOG_SCOPE = "registry:catalog:*";

/** Repository names from /v2/_catalog. */
export function listRepositories(session: RegistrySession, options: ListingOptions = {}): PagedListing<string> {
  return pagedListing(session, {
    what: CATALOG,
    firstPage: (maxPageSize) => `${CATALOG}?n=${maxPageSize ?? options.pageSize ?? DEFAULT_PAGE_SIZE}`,
    readPage: (url) => readCatalogPage(session, url, options),
  });
}

/**
 * One page of /v2/_catalog: the names after `after` (distribution's and ACR's `last` parameter), and the name to
 * continue after when the registry links a next page. The continuation is a repository name, never the registry's
 * Link URL: it can be kept in orchestration history (which can be forged) and only ever names this registry's page.
 * Across pages read this way (one per activity) no page trail is kept: a name that does not move on is refused instead.
 */
export async function listRepositoryPage(
  session: RegistrySession,
  options: ListingOptions & { after?: string } = {},
): Promise<{ repositories: string[]; next?: string }> {
  const n = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const after = options.after === undefined ? "" : `&last=${encodeURIComponent(options.after)}`;
  const { items: repositories, nextLink } = await readCatalogPage(session, `${CATALOG}?n=${n}${after}`, options);
  if (nextLink === undefined || repositories.length === 0) return { repositories };
  // Where the registry says to go on from (its Link's `last`), else after the page's last name.
  let last: string | null;
  try {
    last = new URL(nextLink, session.baseUrl).searchParams.get("last");
  } catch {
    throw new ArchiveError("REGISTRY_ERROR", `the next page of ${CATALOG} has an invalid Link`);
  }
  const next = last ?? repositories[repositories.length - 1]!;
  if (options.after !== undefined && next <= options.after)
    throw new ArchiveError(
      "REGISTRY_ERROR",
      `the catalog of ${session.registry} does not move past ${options.after}; stopped`,
    );
  return { repositories, next };
}

async function readCatalogPage(
  session: RegistrySession,
  url: string,
  options: OperationOptions,
): Promise<PageAnswer<string>> {
  const response = await session.request(url, CATALOG_SCOPE, options);
  const body = await readPageBody(session, response, CATALOG, options);
  const items = (Array.isArray(body.repositories) ? (body.repositories as unknown[]) : []).filter(
    (r): r is string => typeof r === "string",
  );
  return { items, nextLink: nextLinkOf(response) };
}

/** Tags of one repository from /v2/<name>/tags/list; a repository the registry does not have is REGISTRY_NOT_FOUND. */
export function listTags(
  session: RegistrySession,
  repository: string,
  options: ListingOptions = {},
): PagedListing<string> {
  const path = `/v2/${repository}/tags/list`;
  return pagedListing(session, {
    what: path,
    firstPage: (maxPageSize) => `${path}?n=${maxPageSize ?? options.pageSize ?? DEFAULT_PAGE_SIZE}`,
    readPage: async (url) => {
      const response = await session.request(url, `repository:${repository}:pull`, options);
      if (response.status === 404) {
        await discardBody(response);
        throw new ArchiveError("REGISTRY_NOT_FOUND", `repository ${repository} not found in ${session.registry}`, {
          statusCode: 404,
        });
      }
      const body = await readPageBody(session, response, path, options);
      const items = Array.isArray(body.tags) ? (body.tags as string[]) : [];
      return { items, nextLink: nextLinkOf(response) };
    },
  });
}

/**
 * ACR's manifest listing (`/acr/v1/<name>/_manifests`): every manifest with its tags and `lastUpdateTime`, untagged
 * ones included. Plain registries do not have it: they answer 404 to its first page, and this answers undefined.
 */
export function listManifestProperties(
  session: RegistrySession,
  repository: string,
  options: ListingOptions = {},
): Promise<AcrManifestProperties[] | undefined> {
  const what = `manifests of ${repository}`;
  const listing = pagedListing<AcrManifestProperties>(session, {
    what,
    firstPage: (maxPageSize) => `/acr/v1/${repository}/_manifests?n=${maxPageSize ?? options.pageSize ?? 1000}`,
    readPage: async (url, first) => {
      const response = await session.request(url, `repository:${repository}:metadata_read`, options);
      if (response.status === 404 && first) {
        await discardBody(response);
        return undefined;
      }
      const body = await readPageBody(session, response, what, options);
      const items = Array.isArray(body.manifests) ? (body.manifests as AcrManifestProperties[]) : [];
      return { items, nextLink: nextLinkOf(response) };
    },
  });
  return listAll(listing);
}
