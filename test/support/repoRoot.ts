// The repository root, found from the compiled test files (dist/test/…, or any --outDir build inside the checkout):
// where the fixtures, the Bicep and host.json are read from.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

/** The nearest folder up from this file whose package.json is this project's. */
export function repoRoot(): string {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "acr-cold-archive")
      return (found = dir);
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(
        `cannot find the repository root (package.json of acr-cold-archive) above ${fileURLToPath(import.meta.url)}`,
      );
    dir = parent;
  }
}
