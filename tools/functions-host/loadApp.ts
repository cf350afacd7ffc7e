// Loads the app as the Node worker does: the files matched by package.json "main" (a glob with braces and `*`),
// each imported once in path order; and reads the host.json settings this host honours.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import picomatch from "picomatch";

export interface HostSettings {
  routePrefix: string;
  taskHubName: string;
  maxConcurrentActivityFunctions: number;
  warnings: string[];
}

/** Replaces `%NAME%` with the app setting (environment variable) NAME, as the host does for binding expressions. */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = env[name];
    if (setting === undefined) throw new Error(`app setting ${name} (used as %${name}%) is not set`);
    return setting;
  });
}

/** The files package.json "main" names, absolute and sorted. Throws when "main" matches nothing. */
export async function resolveEntryPoints(appRoot: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(appRoot, "package.json"), "utf8")) as { main?: string };
  const main = (pkg.main ?? "index.js").replace(/^\.\//, "");
  const { base } = picomatch.scan(main);
  const isMatch = picomatch(main, { dot: false });
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") await walk(full);
      } else if (isMatch(relative(appRoot, full).split(sep).join("/"))) {
        files.push(full);
      }
    }
  };
  const start = resolve(appRoot, base || ".");
  if (picomatch.scan(main).isGlob) await walk(start);
  else files.push(resolve(appRoot, main));
  if (files.length === 0)
    throw new Error(`package.json "main" (${main}) matches no file under ${appRoot}; build the app first`);
  return files.sort();
}

/** Imports every entry point; the app's `app.*` calls register with the core API stand-in as they run. */
export async function loadApp(appRoot: string): Promise<string[]> {
  const files = await resolveEntryPoints(appRoot);
  for (const file of files) await import(pathToFileURL(file).href);
  return files;
}

/** The parts of host.json this host reads. */
interface HostJson {
  extensions?: {
    http?: { routePrefix?: string };
    durableTask?: { hubName?: string; maxConcurrentActivityFunctions?: number };
  };
}

/** host.json's routePrefix, hub name (%SETTING% resolved) and activity concurrency, or the defaults. */
export async function readHostSettings(appRoot: string): Promise<HostSettings> {
  const settings: HostSettings = {
    routePrefix: "api",
    taskHubName: "TestHubName",
    maxConcurrentActivityFunctions: 10,
    warnings: [],
  };
  let hostJson: HostJson;
  try {
    hostJson = JSON.parse(await readFile(join(appRoot, "host.json"), "utf8"));
  } catch {
    return settings;
  }
  const http = hostJson.extensions?.http;
  if (typeof http?.routePrefix === "string") settings.routePrefix = http.routePrefix.replace(/^\/+|\/+$/g, "");
  const durable = hostJson.extensions?.durableTask;
  if (typeof durable?.hubName === "string") {
    try {
      settings.taskHubName = resolveAppSettings(durable.hubName);
    } catch (error) {
      settings.warnings.push(`host.json hubName: ${(error as Error).message}; using ${settings.taskHubName}`);
    }
  }
  if (Number.isInteger(durable?.maxConcurrentActivityFunctions) && (durable?.maxConcurrentActivityFunctions ?? 0) > 0) {
    settings.maxConcurrentActivityFunctions = durable?.maxConcurrentActivityFunctions as number;
  }
  return settings;
}
