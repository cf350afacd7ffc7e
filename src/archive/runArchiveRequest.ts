// The one code path behind the worker job and the CLI: a validated request and configuration in, one
// archived image (or a typed error) out.
import { readFile } from "node:fs/promises";
import { archiveImage, type ArchiveImageOptions, type ArchiveImageResult } from "./archiveImage.js";
import type { ArchiveTuning } from "./archiveTuning.js";
import type { RestoreLimits } from "./restoreArchive.js";
import type { RegistryAuthConfig } from "../registry/createRegistryClient.js";
import type { StorageConfig } from "../storage/blobServiceClient.js";
import { parseOrThrow } from "../validation.js";
import { archiveRequestSchemaFor, assertRequestInScope, type ArchiveRequest } from "./archiveRequest.js";
import { ArchiveError } from "../errors.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import type { RegistryClient } from "../registry/registryClient.js";
import type { RetryPolicy } from "../registry/transport.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";

/** The worker's (and the CLI's) configuration, mapped from its env by src/config.ts readWorkerConfig. */
export interface WorkerConfig {
  storage: StorageConfig;
  registryAuth: RegistryAuthConfig;
  registryInsecure: boolean;
  /** REGISTRY_READS_PER_MINUTE: this worker's share of the registry's read budget (0: none). */
  registryReadsPerMinute?: number;
  /** REGISTRY_IDLE_TIMEOUT_SECONDS, in ms: how long a blob read's connection may be silent. */
  registryIdleTimeoutMs?: number;
  tuning: ArchiveTuning;
  /** Login-server globs the worker may read; empty: not configured (the worker job refuses to run, the CLI allows any). */
  allowedRegistries: string[];
  /** The one container the worker may write; undefined: any. */
  archiveContainer?: string;
  /** Login-server globs the worker may push restores to (RESTORE_TARGET_REGISTRIES); empty: it refuses restores. */
  restoreTargetRegistries: string[];
  /** What a restore holds in memory at most (RESTORE_MAX_HELD_MIB, RESTORE_MAX_HELD_MANIFESTS). */
  restoreLimits: RestoreLimits;
  archiveRequestJson?: string;
  restoreRequestJson?: string;
  queueMessageFile?: string;
}

export interface RunArchiveRequestOptions extends Pick<ArchiveImageOptions, "abortSignal" | "onProgress"> {
  retry?: RetryPolicy;
}

export async function runArchiveRequest(
  request: ArchiveRequest,
  config: WorkerConfig,
  options: RunArchiveRequestOptions = {},
): Promise<ArchiveImageResult> {
  // Before anything is contacted: the request may be forged, the worker's own env says what it may touch.
  assertRequestInScope(request, config);
  return archiveImage(
    request,
    { blobService: createBlobServiceClient(config.storage), getRegistryClient: workerRegistryClients(config, options) },
    { tuning: config.tuning, ...options },
  );
}

/**
 * The worker's registry clients, for an archive and a restore alike: its credentials, and its share of each registry's
 * request budget (REGISTRY_READS_PER_MINUTE), which every request waits on, reads and writes.
 */
export function workerRegistryClients(
  config: WorkerConfig,
  options: { retry?: RetryPolicy } = {},
): (registry: string) => RegistryClient {
  return createRegistryClientFactory({
    auth: config.registryAuth,
    insecure: config.registryInsecure,
    ...(config.registryReadsPerMinute !== undefined && { readsPerMinute: config.registryReadsPerMinute }),
    ...(config.registryIdleTimeoutMs !== undefined && { idleTimeoutMs: config.registryIdleTimeoutMs }),
    ...(options.retry && { retry: options.retry }),
  });
}

/** The request from ARCHIVE_REQUEST, or from the old worker's QUEUE_MESSAGE_FILE; either form (archiveRequest.ts). */
export async function readRequestFromEnvironment(config: WorkerConfig): Promise<ArchiveRequest> {
  let json = config.archiveRequestJson;
  let source = "ARCHIVE_REQUEST";
  if (json === undefined && config.queueMessageFile) {
    source = `QUEUE_MESSAGE_FILE (${config.queueMessageFile})`;
    json = await readFile(config.queueMessageFile, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new ArchiveError(
        "CONFIG_INVALID",
        `cannot read QUEUE_MESSAGE_FILE ${config.queueMessageFile}: ${error.code ?? error.message}`,
      );
    });
  }
  if (json === undefined)
    throw new ArchiveError(
      "CONFIG_INVALID",
      'no request: set ARCHIVE_REQUEST (or QUEUE_MESSAGE_FILE) to {"registry": "<registry>", "repository": "<repo>", "digest": "sha256:<hex>", "tags": ["<tag>"], "blobContainer": "images"} or {"image": "<registry>/<repo>:<tag>", "blobContainer": "images"}',
    );
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ArchiveError("CONFIG_INVALID", `${source} is not JSON`);
  }
  return parseOrThrow(archiveRequestSchemaFor(value), value, `invalid ${source}`, "CONFIG_INVALID");
}
