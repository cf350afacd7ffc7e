// Manifests of the OCI distribution API (GET, HEAD, PUT /v2/<name>/manifests/<reference>), byte for byte: a manifest is
// read with a bound, verified against the digest it was asked by (or the one the registry names), and pushed as the
// exact bytes it was archived as, so a restore gives back the same digest.
import { sha256DigestOf } from "../digest.js";
import { ArchiveError, isArchiveError } from "../../errors.js";
import { readBodyLimited } from "../transport.js";
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Descriptor, type Manifest } from "../types.js";
import { discardBody, type OperationOptions, type RegistrySession } from "./session.js";

export interface GetManifestResult {
  /** Descriptor of the manifest itself: media type, digest and size of the exact bytes. */
  descriptor: Descriptor;
  /** The bytes as the registry stores them: archived unchanged so a restore pushes the same digest. */
  bytes: Buffer;
  manifest: Manifest;
}

export interface PutManifestResult {
  /** `Docker-Content-Digest`: the digest the registry computed. */
  digest?: string;
  /** `OCI-Subject`: the registry indexed the manifest's subject for its referrers API (OCI distribution 1.1). */
  ociSubject?: string;
}

/** GET /v2/<name>/manifests/<reference>, verified against the digest it was asked by (or the one the registry names). */
export async function getManifest(
  session: RegistrySession,
  repository: string,
  tagOrDigest: string,
  options: OperationOptions = {},
): Promise<GetManifestResult> {
  const response = await session.request(
    `/v2/${repository}/manifests/${tagOrDigest}`,
    `repository:${repository}:pull`,
    {
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      ...options,
    },
  );
  await session.throwIfError(response, `manifest ${repository}:${tagOrDigest}`);
  const bytes = await readBodyLimited(response, MAX_MANIFEST_BYTES, `manifest ${repository}:${tagOrDigest}`, {
    code: "UNSUPPORTED_MEDIA_TYPE",
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
  });
  const digest = sha256DigestOf(bytes);
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
export async function getManifestDigest(
  session: RegistrySession,
  repository: string,
  tagOrDigest: string,
  options: OperationOptions = {},
): Promise<string | undefined> {
  const response = await session.request(
    `/v2/${repository}/manifests/${tagOrDigest}`,
    `repository:${repository}:pull`,
    {
      method: "HEAD",
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      ...options,
    },
  );
  if (response.status === 404) return undefined;
  await session.throwIfError(response, `manifest ${repository}:${tagOrDigest}`);
  return (
    response.headers.get("docker-content-digest") ??
    (await getManifest(session, repository, tagOrDigest, options)).descriptor.digest
  );
}

/** The manifest a tag (or digest) names, or undefined when the registry has none (404): for optional tags. */
export async function findManifest(
  session: RegistrySession,
  repository: string,
  tagOrDigest: string,
  options: OperationOptions = {},
): Promise<GetManifestResult | undefined> {
  try {
    return await getManifest(session, repository, tagOrDigest, options);
  } catch (error) {
    if (isArchiveError(error) && error.code === "REGISTRY_NOT_FOUND") return undefined;
    throw error;
  }
}

/**
 * PUT /v2/<name>/manifests/<reference> with the exact bytes: the digest the registry computed, and its `OCI-Subject`
 * answer (a manifest with a `subject` was indexed as a referrer).
 */
export async function putManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer,
  options: OperationOptions = {},
): Promise<PutManifestResult> {
  const response = await session.request(
    `/v2/${repository}/manifests/${reference}`,
    `repository:${repository}:pull,push`,
    {
      method: "PUT",
      headers: { "content-type": mediaType },
      body: bytes,
      ...options,
    },
  );
  await session.throwIfError(response, `manifest ${repository}:${reference}`);
  await discardBody(response);
  const digest = response.headers.get("docker-content-digest");
  const ociSubject = response.headers.get("oci-subject");
  return { ...(digest && { digest }), ...(ociSubject && { ociSubject }) };
}
