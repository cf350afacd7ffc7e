// The registry allow-list, checked where a registry is contacted (the worker, the listing activity, the run
// starter), not only at the HTTP edge: orchestration inputs can be forged through the Durable webhook key.
import { ArchiveError } from "../errors.js";
import { globMatcher } from "../globs.js";

/** Throws INVALID_ARGUMENT (permanent: no retry) unless `registry` matches one of `allowed` (login-server globs). */
export function assertRegistryAllowed(
  registry: string,
  allowed: readonly string[],
  setting = "ALLOWED_REGISTRIES",
): void {
  if (allowed.length > 0 && globMatcher([...allowed], false)(registry.toLowerCase())) return;
  const list = allowed.length ? allowed.join(", ") : `none: set ${setting}`;
  throw new ArchiveError("INVALID_ARGUMENT", `registry: ${registry} is not in ${setting} (${list})`);
}
