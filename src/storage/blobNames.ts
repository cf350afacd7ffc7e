// The one place that builds blob names.
//
//   <registry>/<repository>@sha256-<hex>.tar.gz             the archive (one per image digest)
//   <registry>/<repository>@sha256-<hex>.tar.gz.json        its sidecar
//   <registry>/<repository>:<tag>@sha256-<hex>              a tag marker (0 bytes): "this tag pointed at this digest"
//   runs/<runId>/results/<registry>/<repository>@sha256-<hex>.json   a worker's result for an orchestration
//   runs/<runId>/summary.json                               a run's summary
//
// Deterministic from (registry, repository, digest). Collision-free because `@` and `:` never occur in a
// repository name, so `a/b` and `a__b` (or `a` and `a/b`) can never produce the same name, and a moved tag
// gets a new archive instead of overwriting the old one. Listing the prefix `<registry>/<repository>:<tag>@`
// shows every digest that tag has pointed at; `<registry>/<repository>@` lists that repository's archives.
import { isValidDigest, isValidRepository, isValidTag } from "../registry/reference.js";

export interface ImageIdentity {
  registry: string;
  repository: string;
  digest: string;
}

export const ARCHIVE_SUFFIX = ".tar.gz";
export const SIDECAR_SUFFIX = ".json";

function imageStem({ registry, repository, digest }: ImageIdentity): string {
  if (!isValidRepository(repository)) throw new TypeError(`invalid repository name: ${repository}`);
  if (!isValidDigest(digest)) throw new TypeError(`invalid digest: ${digest}`);
  return `${registry.toLowerCase()}/${repository}@${digest.replace(":", "-")}`;
}

export function archiveBlobName(image: ImageIdentity): string {
  return `${imageStem(image)}${ARCHIVE_SUFFIX}`;
}

export function sidecarBlobName(archiveBlob: string): string {
  return `${archiveBlob}${SIDECAR_SUFFIX}`;
}

export function tagMarkerBlobName(image: ImageIdentity, tag: string): string {
  if (!isValidTag(tag)) throw new TypeError(`invalid tag: ${tag}`);
  const { registry, repository, digest } = image;
  imageStem(image);
  return `${registry.toLowerCase()}/${repository}:${tag}@${digest.replace(":", "-")}`;
}

export function resultBlobName(runId: string, image: ImageIdentity): string {
  return `runs/${runId}/results/${imageStem(image)}.json`;
}

export function summaryBlobName(runId: string): string {
  return `runs/${runId}/summary.json`;
}
