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

/**
 * Azurite's own V8 flags (its code and behaviour are as shipped). It receives every block as fresh network chunks and
 * falls into the full-GC loop src/heapPolicy.ts describes for our worker: 100-110 Mark-Compacts per GiB staged, 12-14 s
 * of CPU per GiB instead of ~7 (measured on the 1 GiB bench image, 2026-12-02). The storage it stands in for costs this
 * machine nothing, so the stand-in should cost as little of the two cores it shares with what is measured.
 */
const AZURITE_HEAP_POLICY = ["--heap-growing-percent=200"];

/**
 * Loaded into every Azurite this starts: Find Blobs by Tags paged as Azure pages it (Azurite 3.35 truncates a search
 * whose page does not fill from the next `maxresults` blobs; see azuriteFindBlobsByTags.ts). The one change the tests
 * make to Azurite's behaviour.
 */
const FIND_BLOBS_BY_TAGS_PAGING = ["--import", new URL("./azuriteFindBlobsByTags.js", import.meta.url).href];

export interface StartAzuriteOptions {
  /**
   * For the scale benchmark: metadata and blobs in memory only (no autosave that serializes the whole metadata
   * database every 5 s), and blob lookups through the name index (azuriteIndexedLookups.ts) instead of a scan of
   * every blob per request. Off for the tests: they run Azurite as it ships (but for Find Blobs by Tags' paging).
   */
  scale?: boolean;
}

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteInstance> {
  const dir = await mkdtemp(join(tmpdir(), "azurite-"));
  const port = await freePort();
  const common = [
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
  ];
  const main = fileURLToPath(new URL("../../../node_modules/azurite/dist/src/blob/main.js", import.meta.url));
  const proc = options.scale
    ? startBackground(process.execPath, [
        ...AZURITE_HEAP_POLICY,
        // Every blob's metadata in memory: hundreds of thousands of blobs at the benchmark's largest size.
        "--max-old-space-size=8192",
        "--import",
        new URL("./azuriteIndexedLookups.js", import.meta.url).href,
        ...FIND_BLOBS_BY_TAGS_PAGING,
        main,
        ...common,
        "--inMemoryPersistence",
      ])
    : startBackground(process.execPath, [
        ...AZURITE_HEAP_POLICY,
        ...FIND_BLOBS_BY_TAGS_PAGING,
        main,
        ...common,
        "--location",
        dir,
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
