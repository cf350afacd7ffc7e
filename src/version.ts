// The tool's name and version, from package.json (recorded in every sidecar).
import { readFileSync } from "node:fs";

function findPackageJson(): { name: string; version: string } {
  let dir = new URL(".", import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      return JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name: string; version: string };
    } catch {
      dir = new URL("..", dir);
    }
  }
  return { name: "acr-cold-archive", version: "0.0.0" };
}

export const TOOL = (({ name, version }) => ({ name, version }))(findPackageJson());
