// The referrers API of OCI distribution 1.1 (GET /v2/<name>/referrers/<digest>): the descriptors of the manifests whose
// `subject` is a digest, paged like every listing (paging.ts). How referrers are found and archived (this API or the
// tag schema): ../referrers.ts.
import { isSha256Digest } from "../digest.js";
import { ArchiveError } from "../../errors.js";
import type { Descriptor } from "../types.js";
import { listAll, nextLinkOf, pagedListing, readPageBody } from "./paging.js";
import { discardBody, type OperationOptions, type RegistrySession } from "./session.js";

export interface ListReferrersOptions extends OperationOptions {
  /**
   * Ask for referrers of this `artifactType` only (`?artifactType=`). A registry that filtered says so in
   * `OCI-Filters-Applied`; one that did not is filtered here.
   */
  artifactType?: string;
  /** Descriptors one subject may have before the listing stops with REFERRER_GRAPH_INVALID; default 1,000. */
  maxReferrers?: number;
}

// Referrers of one subject: signatures, SBOMs, attestations, a handful in practice; a listing past this is refused.
const DEFAULT_MAX_REFERRERS = 1000;

/**
 * Every referrer of `digest`, across pages. Undefined when the registry has no referrers API: a registry that has one
 * must not answer 404 (the spec), so a 404 (or 405) to the first page means "use the tag schema".
 */
export async function listReferrers(
  session: RegistrySession,
  repository: string,
  digest: string,
  options: ListReferrersOptions = {},
): Promise<Descriptor[] | undefined> {
  if (!isSha256Digest(digest))
    throw new ArchiveError("INVALID_ARGUMENT", `referrers of "${digest}": not a sha256 digest`);
  const path = `/v2/${repository}/referrers/${digest}`;
  const what = `the referrers of ${digest} in ${repository}`;
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : "";
  const max = options.maxReferrers ?? DEFAULT_MAX_REFERRERS;
  let found = 0;
  const listing = pagedListing<Descriptor>(session, {
    what: path,
    firstPage: () => `${path}${query}`,
    readPage: async (url, first) => {
      const response = await session.request(url, `repository:${repository}:pull`, options);
      if ((response.status === 404 || response.status === 405) && first) {
        await discardBody(response);
        return undefined;
      }
      const page = await readPageBody(session, response, what, options);
      if (!Array.isArray(page.manifests))
        throw new ArchiveError(
          "REGISTRY_ERROR",
          `${session.registry} answered ${what} with something not an image index`,
        );
      const filtered = (response.headers.get("oci-filters-applied") ?? "")
        .split(",")
        .some((f) => f.trim() === "artifactType");
      const items: Descriptor[] = [];
      for (const entry of page.manifests as unknown[]) {
        if (!isDescriptor(entry))
          throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered ${what} with an invalid descriptor`);
        if (options.artifactType && !filtered && entry.artifactType !== options.artifactType) continue;
        items.push(entry);
        if (++found > max)
          throw new ArchiveError("REFERRER_GRAPH_INVALID", `${what}: more than ${max} referrers; stopped`);
      }
      return { items, nextLink: nextLinkOf(response) };
    },
  });
  return listAll(listing);
}

/** A descriptor as a registry answer must have it: a media type, a sha256 digest, a size. */
function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return (
    typeof d === "object" &&
    d !== null &&
    typeof d.mediaType === "string" &&
    typeof d.digest === "string" &&
    isSha256Digest(d.digest) &&
    Number.isSafeInteger(d.size) &&
    (d.size as number) >= 0 &&
    (d.artifactType === undefined || typeof d.artifactType === "string") &&
    (d.annotations === undefined || (typeof d.annotations === "object" && d.annotations !== null))
  );
}
