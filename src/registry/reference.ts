// Image references, parsed once: `registry/repository[:tag][@digest]`.
// Grammar from the distribution reference spec (distribution/reference/regexp.go).
import { z } from "zod";
import { ArchiveError } from "../errors.js";
import { SHA256_DIGEST } from "./digest.js";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

export interface ImageReference {
  /** Login server, with port when there is one: `myacr.azurecr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** `team/app/api` */
  repository: string;
  tag?: string;
  digest?: string;
}

export function isValidRepository(name: string): boolean {
  return name.length <= 255 && REPOSITORY.test(name);
}
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
export function isValidDigest(digest: string): boolean {
  return SHA256_DIGEST.test(digest);
}
export function isValidRegistryHost(host: string): boolean {
  return HOST.test(host);
}

/**
 * Parses `registry/repository[:tag][@digest]`. The registry is required (this tool never guesses Docker Hub):
 * the first path component must look like a host (a dot, a port or `localhost`).
 */
export function parseImageReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new ArchiveError("INVALID_REFERENCE", `invalid image reference "${truncate(input)}": ${why}`);
  };
  if (typeof input !== "string" || input.trim() === "") fail("it is empty");
  const text = input.trim();
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256_DIGEST.test(digest)) fail("the digest must be sha256:<64 lowercase hex>");
  }
  const slash = rest.indexOf("/");
  if (slash < 0) fail("it must start with the registry's login server, e.g. myacr.azurecr.io/repo:tag");
  const registry = rest.slice(0, slash);
  const looksLikeHost = registry.includes(".") || registry.includes(":") || registry === "localhost";
  if (!looksLikeHost || !HOST.test(registry)) fail(`"${registry}" is not a registry host`);
  let repository = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(":");
  if (colon >= 0) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
    if (!TAG.test(tag)) fail("a tag is 1-128 characters of [A-Za-z0-9_.-] and does not start with . or -");
  }
  if (!isValidRepository(repository))
    fail(`"${repository}" is not a repository name (lowercase components separated by /)`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** A login server as runs and workers name it: lowercase `host[:port]`. */
export const loginServerSchema = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/,
    "must be a registry login server such as myacr.azurecr.io or 127.0.0.1:5000",
  );

function truncate(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
