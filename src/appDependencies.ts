// The Function App's composition root: its configuration read from the environment once (src/config.ts) and the
// clients made from it (runs/runDependencies.ts), one instance per process, for the triggers and activities.
import { readAppConfig } from "./config.js";
import { createRunDependencies, type RunDependencies } from "./runs/runDependencies.js";

let cached: RunDependencies | undefined;

export function getAppDependencies(env: NodeJS.ProcessEnv = process.env): RunDependencies {
  cached ??= createRunDependencies(readAppConfig(env));
  return cached;
}
