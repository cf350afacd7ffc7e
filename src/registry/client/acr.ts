// ACR's data-plane extras a purge needs (REST api-version 2021-07-01): the changeable attributes of a repository
// (/acr/v1/<name>), a manifest (/acr/v1/<name>/_manifests/<digest>) and a tag (/acr/v1/<name>/_tags/<tag>), read and
// patched; a digest's tags with theirs (/acr/v1/<name>/_tags?digest=); untag (DELETE /acr/v1/<name>/_tags/<tag>) and
// a manifest's delete (DELETE /v2/<name>/manifests/<digest>, OCI distribution, which ACR serves). Token scopes are ACR's
// own actions: metadata_read to read attributes, metadata_write to change them, delete to untag or delete.
// Answers are checked before they are believed (a lock read wrong would let a purge past it): a changeable-attributes
// object without its booleans is REGISTRY_ERROR. A registry without /acr/v1 (distribution) answers 404 without ACR's
// error body: the `find…` reads answer undefined then, and for a repository, manifest or tag that is not there.
import { z } from "zod";
import { isSha256Digest } from "../digest.js";
import { isValidTag } from "../reference.js";
import { ArchiveError, isArchiveError } from "../../errors.js";
import { readBodyLimited } from "../transport.js";
import { listAll, nextLinkOf, pagedListing, readPageBody } from "./paging.js";
import { discardBody, type OperationOptions, type RegistrySession } from "./session.js";

/** ACR's changeable attributes: what may be done to a repository, a manifest or a tag (false: locked against it). */
export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  /** Not enforced by everything that lists (kept as read; absent when the registry did not say). */
  listEnabled?: boolean;
}

/** A PATCH of changeable attributes: only what it names changes. */
export type ChangeableAttributesPatch = Partial<
  Pick<ChangeableAttributes, "deleteEnabled" | "writeEnabled" | "readEnabled" | "listEnabled">
>;

export interface AcrRepositoryAttributes {
  imageName: string;
  createdTime?: string;
  lastUpdateTime?: string;
  manifestCount?: number;
  tagCount?: number;
  changeableAttributes: ChangeableAttributes;
}

export interface AcrManifestAttributes {
  digest: string;
  mediaType?: string;
  imageSize?: number;
  createdTime?: string;
  lastUpdateTime?: string;
  /** The tags on the manifest now (none: untagged). */
  tags: string[];
  /** An index's manifests, as ACR lists them. */
  references?: { digest: string }[];
  changeableAttributes: ChangeableAttributes;
}

export interface AcrTagAttributes {
  name: string;
  digest: string;
  createdTime?: string;
  lastUpdateTime?: string;
  changeableAttributes: ChangeableAttributes;
}

// An attributes answer is a few hundred bytes; a manifest's lists its tags (a few hundred at most).
const MAX_ATTRIBUTES_BYTES = 1024 * 1024;
const DEFAULT_TAG_PAGE_SIZE = 100;

const changeableAttributesSchema = z.object({
  deleteEnabled: z.boolean(),
  writeEnabled: z.boolean(),
  readEnabled: z.boolean(),
  listEnabled: z.boolean().optional(),
});
const time = z.string().optional();
const repositorySchema = z.object({
  imageName: z.string(),
  createdTime: time,
  lastUpdateTime: time,
  manifestCount: z.number().optional(),
  tagCount: z.number().optional(),
  changeableAttributes: changeableAttributesSchema,
});
const manifestSchema = z.object({
  digest: z.string().refine(isSha256Digest, "must be a sha256 digest"),
  mediaType: z.string().optional(),
  imageSize: z.number().optional(),
  createdTime: time,
  lastUpdateTime: time,
  tags: z.array(z.string()).optional(),
  references: z.array(z.object({ digest: z.string().refine(isSha256Digest, "must be a sha256 digest") })).optional(),
  changeableAttributes: changeableAttributesSchema,
});
const tagSchema = z.object({
  name: z.string(),
  digest: z.string().refine(isSha256Digest, "must be a sha256 digest"),
  createdTime: time,
  lastUpdateTime: time,
  changeableAttributes: changeableAttributesSchema,
});

const metadataRead = (repository: string) => `repository:${repository}:metadata_read`;
const metadataWrite = (repository: string) => `repository:${repository}:metadata_write`;
const deleteScope = (repository: string) => `repository:${repository}:delete`;

/** GET /acr/v1/<name>: the repository's attributes; undefined when it is not there or the registry has no /acr/v1. */
export async function findRepositoryAttributes(
  session: RegistrySession,
  repository: string,
  options: OperationOptions = {},
): Promise<AcrRepositoryAttributes | undefined> {
  const what = `the attributes of repository ${repository}`;
  const body = await acrRequest(session, `/acr/v1/${repository}`, metadataRead(repository), what, options);
  return body === undefined ? undefined : parseAnswer(session, repositorySchema, body, what);
}

/** PATCH /acr/v1/<name>: changes what `patch` names; the attributes after. */
export async function patchRepositoryAttributes(
  session: RegistrySession,
  repository: string,
  patch: ChangeableAttributesPatch,
  options: OperationOptions = {},
): Promise<AcrRepositoryAttributes> {
  const what = `the attributes of repository ${repository}`;
  const body = await acrRequest(session, `/acr/v1/${repository}`, metadataWrite(repository), what, {
    ...options,
    patch,
  });
  return parseAnswer(session, repositorySchema, found(session, body, what), what);
}

/** GET /acr/v1/<name>/_manifests/<digest>: its tags and attributes (undefined: not there, or no /acr/v1). */
export async function findManifestAttributes(
  session: RegistrySession,
  repository: string,
  digest: string,
  options: OperationOptions = {},
): Promise<AcrManifestAttributes | undefined> {
  assertDigest(digest);
  const what = `the attributes of manifest ${repository}@${digest}`;
  const path = `/acr/v1/${repository}/_manifests/${digest}`;
  const body = await acrRequest(session, path, metadataRead(repository), what, options);
  return body === undefined ? undefined : manifestOf(session, body, digest, what);
}

/** PATCH /acr/v1/<name>/_manifests/<digest>: changes what `patch` names; the attributes after. */
export async function patchManifestAttributes(
  session: RegistrySession,
  repository: string,
  digest: string,
  patch: ChangeableAttributesPatch,
  options: OperationOptions = {},
): Promise<AcrManifestAttributes> {
  assertDigest(digest);
  const what = `the attributes of manifest ${repository}@${digest}`;
  const path = `/acr/v1/${repository}/_manifests/${digest}`;
  const body = await acrRequest(session, path, metadataWrite(repository), what, { ...options, patch });
  return manifestOf(session, found(session, body, what), digest, what);
}

/** GET /acr/v1/<name>/_tags/<tag>: the digest it names and its attributes (undefined: not there, or no /acr/v1). */
export async function findTagAttributes(
  session: RegistrySession,
  repository: string,
  tag: string,
  options: OperationOptions = {},
): Promise<AcrTagAttributes | undefined> {
  assertTag(tag);
  const what = `the attributes of tag ${repository}:${tag}`;
  const body = await acrRequest(session, `/acr/v1/${repository}/_tags/${tag}`, metadataRead(repository), what, options);
  return body === undefined ? undefined : tagOf(session, body, tag, what);
}

/** PATCH /acr/v1/<name>/_tags/<tag>: changes what `patch` names; the attributes after. */
export async function patchTagAttributes(
  session: RegistrySession,
  repository: string,
  tag: string,
  patch: ChangeableAttributesPatch,
  options: OperationOptions = {},
): Promise<AcrTagAttributes> {
  assertTag(tag);
  const what = `the attributes of tag ${repository}:${tag}`;
  const path = `/acr/v1/${repository}/_tags/${tag}`;
  const body = await acrRequest(session, path, metadataWrite(repository), what, { ...options, patch });
  return tagOf(session, found(session, body, what), tag, what);
}

/**
 * GET /acr/v1/<name>/_tags?digest=<digest>, every page: the tags that name `digest` now, with their attributes.
 * Undefined when the registry has no /acr/v1 (or no such repository).
 */
export async function listTagAttributes(
  session: RegistrySession,
  repository: string,
  digest: string,
  options: OperationOptions = {},
): Promise<AcrTagAttributes[] | undefined> {
  assertDigest(digest);
  const what = `the tags of ${repository}@${digest}`;
  const listing = pagedListing<AcrTagAttributes>(session, {
    what,
    firstPage: (n) =>
      `/acr/v1/${repository}/_tags?n=${n ?? DEFAULT_TAG_PAGE_SIZE}&digest=${encodeURIComponent(digest)}`,
    readPage: async (url, first) => {
      const response = await session.request(url, metadataRead(repository), options);
      if (response.status === 404 && first) {
        await discardBody(response);
        return undefined;
      }
      const page = await readPageBody(session, response, what, options);
      const tags = z.array(tagSchema).safeParse(page.tags ?? []);
      if (!tags.success) throw invalidAnswer(session, what, tags.error);
      // A registry that ignored `digest` lists every tag: only the digest's are its.
      return { items: tags.data.filter((t) => t.digest === digest), nextLink: nextLinkOf(response) };
    },
  });
  return listAll(listing);
}

/** DELETE /acr/v1/<name>/_tags/<tag>: the tag goes, its manifest stays. Answers false when the tag was not there. */
export async function untag(
  session: RegistrySession,
  repository: string,
  tag: string,
  options: OperationOptions = {},
): Promise<boolean> {
  assertTag(tag);
  const response = await session.request(`/acr/v1/${repository}/_tags/${tag}`, deleteScope(repository), {
    method: "DELETE",
    ...options,
  });
  return deleted(session, response, `tag ${repository}:${tag}`);
}

/**
 * DELETE /v2/<name>/manifests/<digest>: the manifest goes, and every tag that names it (ACR and distribution alike).
 * By digest only (a tag would delete whatever it names by then). Answers false when the manifest was not there.
 */
export async function deleteManifest(
  session: RegistrySession,
  repository: string,
  digest: string,
  options: OperationOptions = {},
): Promise<boolean> {
  assertDigest(digest);
  const response = await session.request(`/v2/${repository}/manifests/${digest}`, deleteScope(repository), {
    method: "DELETE",
    ...options,
  });
  return deleted(session, response, `manifest ${repository}@${digest}`);
}

/** 202 (or 200): deleted; 404: it was not there; anything else thrown (a lock: REGISTRY_LOCKED). */
async function deleted(session: RegistrySession, response: Response, what: string): Promise<boolean> {
  if (response.status === 404) {
    await discardBody(response);
    return false;
  }
  await session.throwIfError(response, `the delete of ${what}`);
  await discardBody(response);
  return true;
}

/**
 * One /acr/v1 request and its JSON body. A 404 answers undefined: the thing is not there, or the registry has no /acr/v1
 * at all (distribution answers 404 to every path it does not serve). Every other error is thrown.
 */
async function acrRequest(
  session: RegistrySession,
  path: string,
  scope: string,
  what: string,
  options: OperationOptions & { patch?: ChangeableAttributesPatch },
): Promise<Record<string, unknown> | undefined> {
  const { patch, ...request } = options;
  const response = await session.request(path, scope, {
    ...request,
    ...(patch && {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(patchBody(patch))),
    }),
  });
  if (response.status === 404) {
    await discardBody(response);
    return undefined;
  }
  await session.throwIfError(response, what);
  const bytes = await readBodyLimited(response, MAX_ATTRIBUTES_BYTES, `${what} from ${session.registry}`, {
    ...(request.abortSignal && { abortSignal: request.abortSignal }),
  });
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered ${what} with something not JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered ${what} with something not a JSON object`);
  return body as Record<string, unknown>;
}

/** Only the four attributes, and only booleans: nothing else of a caller's object goes to the registry. */
function patchBody(patch: ChangeableAttributesPatch): ChangeableAttributesPatch {
  const body: ChangeableAttributesPatch = {};
  for (const key of ["deleteEnabled", "writeEnabled", "readEnabled", "listEnabled"] as const) {
    const value = patch[key];
    if (value === undefined) continue;
    if (typeof value !== "boolean") throw new ArchiveError("INVALID_ARGUMENT", `${key} must be true or false`);
    body[key] = value;
  }
  if (Object.keys(body).length === 0) throw new ArchiveError("INVALID_ARGUMENT", "a PATCH of attributes names none");
  return body;
}

/** A PATCH's answer is the thing patched: a 404 there means it is gone (or the registry has no /acr/v1). */
function found(
  session: RegistrySession,
  body: Record<string, unknown> | undefined,
  what: string,
): Record<string, unknown> {
  if (body === undefined)
    throw new ArchiveError("REGISTRY_NOT_FOUND", `${what}: not found in ${session.registry}`, { statusCode: 404 });
  return body;
}

function manifestOf(
  session: RegistrySession,
  body: Record<string, unknown>,
  digest: string,
  what: string,
): AcrManifestAttributes {
  const manifest = parseAnswer(session, manifestSchema, body.manifest, what);
  if (manifest.digest !== digest)
    throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered ${what} with manifest ${manifest.digest}`);
  return { ...manifest, tags: manifest.tags ?? [] } as AcrManifestAttributes;
}

function tagOf(session: RegistrySession, body: Record<string, unknown>, tag: string, what: string): AcrTagAttributes {
  const answer = parseAnswer(session, tagSchema, body.tag, what);
  if (answer.name !== tag)
    throw new ArchiveError("REGISTRY_ERROR", `${session.registry} answered ${what} with tag ${answer.name}`);
  return answer as AcrTagAttributes;
}

function parseAnswer<T extends z.ZodType>(
  session: RegistrySession,
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidAnswer(session, what, parsed.error);
  return parsed.data;
}

function invalidAnswer(session: RegistrySession, what: string, error: z.ZodError): ArchiveError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return new ArchiveError(
    "REGISTRY_ERROR",
    `${session.registry} answered ${what} with an invalid body (${where}${issue?.message ?? "invalid"})`,
  );
}

function assertDigest(digest: string): void {
  if (!isSha256Digest(digest)) throw new ArchiveError("INVALID_ARGUMENT", `"${digest}" is not a sha256 digest`);
}

function assertTag(tag: string): void {
  if (!isValidTag(tag)) throw new ArchiveError("INVALID_ARGUMENT", `"${tag}" is not a tag`);
}

/** Whether an error is the registry's refusal because of a lock. */
export function isRegistryLocked(error: unknown): boolean {
  return isArchiveError(error) && error.code === "REGISTRY_LOCKED";
}
