// The one registry client (OCI distribution API v2), composed of a module per API resource as regclient's scheme/reg
// is: manifests byte for byte (client/manifests.ts), blobs as verified or ranged streams that resume where a body
// breaks off (client/blobs.ts, client/resumableBody.ts), the listings and the referrers API paged one way
// (client/listings.ts, client/referrersApi.ts, client/paging.ts, client/linkHeader.ts), and ACR's changeable attributes,
// untag and manifest delete (client/acr.ts). Every request goes through one
// session per client (client/session.ts: credentials, the read budget, the request count, error answers); auth and
// retry sit below, in auth.ts and transport.ts.
import type { Readable } from "node:stream";
import type { Descriptor } from "./types.js";
import {
  deleteManifest,
  findManifestAttributes,
  findRepositoryAttributes,
  findTagAttributes,
  listTagAttributes,
  patchManifestAttributes,
  patchRepositoryAttributes,
  patchTagAttributes,
  untag,
  type AcrManifestAttributes,
  type AcrRepositoryAttributes,
  type AcrTagAttributes,
  type ChangeableAttributesPatch,
} from "./client/acr.js";
import {
  blobExists,
  getBlob,
  readBlobRange,
  uploadBlob,
  type BlobExistsOptions,
  type BlobRange,
  type BlobRangeAnswer,
} from "./client/blobs.js";
import {
  listManifestProperties,
  listRepositories,
  listRepositoryPage,
  listTags,
  type AcrManifestProperties,
  type ListingOptions,
} from "./client/listings.js";
import {
  findManifest,
  getManifest,
  getManifestDigest,
  putManifest,
  type GetManifestResult,
  type PutManifestResult,
} from "./client/manifests.js";
import type { PagedListing } from "./client/paging.js";
import { listReferrers, type ListReferrersOptions } from "./client/referrersApi.js";
import { RegistrySession, type OperationOptions, type RegistryClientOptions } from "./client/session.js";

export type {
  AcrManifestAttributes,
  AcrRepositoryAttributes,
  AcrTagAttributes,
  ChangeableAttributes,
  ChangeableAttributesPatch,
} from "./client/acr.js";
export type { BlobExistsOptions, BlobRange, BlobRangeAnswer } from "./client/blobs.js";
export type { AcrManifestProperties, ListingOptions } from "./client/listings.js";
export type { GetManifestResult, PutManifestResult } from "./client/manifests.js";
export type { ListReferrersOptions } from "./client/referrersApi.js";
export type { OperationOptions, RegistryClientOptions } from "./client/session.js";

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly session: RegistrySession;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.session = new RegistrySession(registry, options);
    this.registry = this.session.registry;
    this.baseUrl = this.session.baseUrl;
  }

  /** Requests sent to the registry by this client so far (every operation, token requests included). */
  get requestsSent(): number {
    return this.session.requestsSent;
  }

  /** GET /v2/<name>/manifests/<reference>, verified against the digest it was asked by (or the one the registry names). */
  getManifest(repository: string, tagOrDigest: string, options?: OperationOptions): Promise<GetManifestResult> {
    return getManifest(this.session, repository, tagOrDigest, options);
  }

  /** The digest a tag points at (HEAD, no body), or undefined when the tag does not exist. */
  getManifestDigest(repository: string, tagOrDigest: string, options?: OperationOptions): Promise<string | undefined> {
    return getManifestDigest(this.session, repository, tagOrDigest, options);
  }

  /** The manifest a tag (or digest) names, or undefined when the registry has none (404): for optional tags. */
  findManifest(
    repository: string,
    tagOrDigest: string,
    options?: OperationOptions,
  ): Promise<GetManifestResult | undefined> {
    return findManifest(this.session, repository, tagOrDigest, options);
  }

  /** PUT /v2/<name>/manifests/<reference> with the exact bytes: the registry's digest and its `OCI-Subject` answer. */
  putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
    options?: OperationOptions,
  ): Promise<PutManifestResult> {
    return putManifest(this.session, repository, reference, mediaType, bytes, options);
  }

  /** GET /v2/<name>/referrers/<digest>, every page; undefined when the registry has no referrers API. */
  listReferrers(repository: string, digest: string, options?: ListReferrersOptions): Promise<Descriptor[] | undefined> {
    return listReferrers(this.session, repository, digest, options);
  }

  /** GET /v2/<name>/blobs/<digest> as a stream verified against the descriptor while it flows. */
  getBlob(repository: string, descriptor: Descriptor, options?: OperationOptions): Readable {
    return getBlob(this.session, repository, descriptor, options);
  }

  /** Unverified bytes of a blob's range, after its first answer (whether Range was honoured, when it came). */
  readBlobRange(
    repository: string,
    descriptor: Descriptor,
    range: BlobRange,
    options?: OperationOptions & { what?: string },
  ): Promise<BlobRangeAnswer> {
    return readBlobRange(this.session, repository, descriptor, range, options);
  }

  /** HEAD /v2/<name>/blobs/<digest>: does the repository already have this blob? */
  blobExists(repository: string, digest: string, options?: BlobExistsOptions): Promise<boolean> {
    return blobExists(this.session, repository, digest, options);
  }

  /** Uploads one blob (POST, then one monolithic PUT with `?digest=`); the body streams once. */
  uploadBlob(
    repository: string,
    descriptor: Descriptor,
    body: AsyncIterable<Buffer> | Buffer,
    options?: OperationOptions,
  ): Promise<void> {
    return uploadBlob(this.session, repository, descriptor, body, options);
  }

  /** Repository names from /v2/_catalog, following `Link` pages. */
  listRepositoryNames(options?: ListingOptions): PagedListing<string> {
    return listRepositories(this.session, options);
  }

  /** One page of /v2/_catalog after a repository name, and the name to continue after (for a run's listing). */
  listRepositoryPage(
    options?: ListingOptions & { after?: string },
  ): Promise<{ repositories: string[]; next?: string }> {
    return listRepositoryPage(this.session, options);
  }

  /** Tags of one repository from /v2/<name>/tags/list, following `Link` pages. */
  listTags(repository: string, options?: ListingOptions): PagedListing<string> {
    return listTags(this.session, repository, options);
  }

  /** ACR's `/acr/v1/<name>/_manifests`, every page; undefined on a registry without it. */
  listManifestProperties(repository: string, options?: ListingOptions): Promise<AcrManifestProperties[] | undefined> {
    return listManifestProperties(this.session, repository, options);
  }

  /** ACR's attributes of a repository (GET /acr/v1/<name>); undefined when it is not there or there is no /acr/v1. */
  findRepositoryAttributes(
    repository: string,
    options?: OperationOptions,
  ): Promise<AcrRepositoryAttributes | undefined> {
    return findRepositoryAttributes(this.session, repository, options);
  }

  /** PATCH /acr/v1/<name>: what `patch` names changes (metadata_write); the attributes after. */
  patchRepositoryAttributes(
    repository: string,
    patch: ChangeableAttributesPatch,
    options?: OperationOptions,
  ): Promise<AcrRepositoryAttributes> {
    return patchRepositoryAttributes(this.session, repository, patch, options);
  }

  /** A manifest's tags and attributes (GET /acr/v1/<name>/_manifests/<digest>); undefined: not there, or no /acr/v1. */
  findManifestAttributes(
    repository: string,
    digest: string,
    options?: OperationOptions,
  ): Promise<AcrManifestAttributes | undefined> {
    return findManifestAttributes(this.session, repository, digest, options);
  }

  /** PATCH /acr/v1/<name>/_manifests/<digest> (metadata_write); the attributes after. */
  patchManifestAttributes(
    repository: string,
    digest: string,
    patch: ChangeableAttributesPatch,
    options?: OperationOptions,
  ): Promise<AcrManifestAttributes> {
    return patchManifestAttributes(this.session, repository, digest, patch, options);
  }

  /** A tag's digest and attributes (GET /acr/v1/<name>/_tags/<tag>); undefined: not there, or no /acr/v1. */
  findTagAttributes(
    repository: string,
    tag: string,
    options?: OperationOptions,
  ): Promise<AcrTagAttributes | undefined> {
    return findTagAttributes(this.session, repository, tag, options);
  }

  /** PATCH /acr/v1/<name>/_tags/<tag> (metadata_write); the attributes after. */
  patchTagAttributes(
    repository: string,
    tag: string,
    patch: ChangeableAttributesPatch,
    options?: OperationOptions,
  ): Promise<AcrTagAttributes> {
    return patchTagAttributes(this.session, repository, tag, patch, options);
  }

  /** The tags naming `digest` now, with their attributes (/acr/v1/<name>/_tags?digest=); undefined without /acr/v1. */
  listTagAttributes(
    repository: string,
    digest: string,
    options?: OperationOptions,
  ): Promise<AcrTagAttributes[] | undefined> {
    return listTagAttributes(this.session, repository, digest, options);
  }

  /** DELETE /acr/v1/<name>/_tags/<tag> (delete): the tag goes, its manifest stays; false when it was not there. */
  untag(repository: string, tag: string, options?: OperationOptions): Promise<boolean> {
    return untag(this.session, repository, tag, options);
  }

  /** DELETE /v2/<name>/manifests/<digest> (delete): the manifest and its tags go; false when it was not there. */
  deleteManifest(repository: string, digest: string, options?: OperationOptions): Promise<boolean> {
    return deleteManifest(this.session, repository, digest, options);
  }
}
