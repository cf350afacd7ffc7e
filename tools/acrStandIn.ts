// The local ACR stand-in on its own (npm run acr-stand-in): Debian's docker-registry with ACR's /acr/v1 API and locks
// in front (tools/localenv/acrStandIn.ts), until Ctrl-C. Or, with --upstream and --storage, in front of a registry
// already running on this machine (its storage.filesystem.rootdirectory, and storage.delete.enabled: true).
//   npm run acr-stand-in [-- --port 5000] [-- --upstream 127.0.0.1:5001 --storage /var/lib/docker-registry]
import { parseArgs } from "node:util";
import { startAcrStandIn } from "./localenv/acrStandIn.js";
import { startRegistry } from "./localenv/registry.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: "string" }, upstream: { type: "string" }, storage: { type: "string" } },
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number`);
  if (Boolean(values.upstream) !== Boolean(values.storage))
    throw new Error("--upstream and --storage go together (the registry and its storage root directory)");
  const registry = values.upstream ? undefined : await startRegistry();
  const upstream = values.upstream ?? registry!.host;
  const storageDirectory = values.storage ?? registry!.storageDir;
  const standIn = await startAcrStandIn({ upstream, storageDirectory, port }).catch(async (error: unknown) => {
    await registry?.stop();
    throw error;
  });
  console.log(`ACR stand-in on http://${standIn.host} (registry http://${upstream}, storage ${storageDirectory})`);
  console.log(`  e.g. curl http://${standIn.host}/acr/v1/_catalog; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await standIn.stop();
  await registry?.stop();
}

main().catch((error: unknown) => {
  console.error(`acr-stand-in: ${(error as Error).message}`);
  process.exitCode = 1;
});
