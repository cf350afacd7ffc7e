// Real Azurite (blob service) on 127.0.0.1 and a free port, in a temp dir; stopped by PID.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startBackground, waitForHttp } from "./processes.js";

// Azurite's well-known development account (public, documented; not a secret).
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteInstance {
  port: number;
  connectionString: string;
  stop: () => Promise<void>;
}

export async function startAzurite(): Promise<AzuriteInstance> {
  const dir = await mkdtemp(join(tmpdir(), "azurite-"));
  const port = await freePort();
  const bin = fileURLToPath(new URL("../../../node_modules/.bin/azurite-blob", import.meta.url));
  const proc = startBackground(bin, [
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--location",
    dir,
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
  ]);
  await waitForHttp(`http://127.0.0.1:${port}/${ACCOUNT}?comp=list`, proc);
  return {
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
