// The composition root's view of the environment: every variable is read and validated here, once (zod), every error
// names the variable, and the result is mapped into the typed camelCase configs the lower modules own and take
// (StorageConfig, RegistryAccess, JobRunnerConfig, RunDefaults, ArchiveTuning): nothing below reads process.env.
// Request bodies, orchestration inputs and the worker request have their schemas beside what they describe.
import { z } from "zod";
import { ArchiveError } from "./errors.js";
import { globProblem } from "./globs.js";
import { parseIsoDuration } from "./isoDuration.js";
import { parseJobResourceId, type JobResourceId } from "./jobs/jobResourceId.js";
import type { JobRunnerConfig } from "./jobs/createJobRunner.js";
import type { RegistryAccess, RegistryAuthConfig } from "./registry/createRegistryClient.js";
import { loginServerSchema } from "./registry/reference.js";
import { DEFAULT_IDLE_TIMEOUT_SECONDS } from "./registry/transport.js";
import type { ListingConfig } from "./runs/listRunImages.js";
import type { RunDefaults } from "./runs/engine/startRun.js";
import type { StorageConfig } from "./storage/blobServiceClient.js";
import { containerNameSchema } from "./storage/blobNames.js";
import { parseOrThrow } from "./validation.js";
import type { WorkerConfig } from "./archive/runArchiveRequest.js";
import type { RestoreLimits } from "./archive/restoreArchive.js";
import { DEFAULT_PRICES, REGISTRY_INCLUDED_GIB, type PriceSheet, type RegistrySku } from "./cost/costEstimate.js";
import type { PurgeConfig } from "./purge/purgeConfig.js";

const boolFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const intFromEnv = (min: number, max: number, def: number) =>
  z.preprocess(
    (v) => (v === undefined || v === "" ? def : Number(v)),
    z
      .number({ error: "must be a number" })
      .int("must be an integer")
      .min(min, `must be ≥ ${min}`)
      .max(max, `must be ≤ ${max}`),
  );

/** An integer setting with no default: absent stays undefined. */
const optionalIntFromEnv = (min: number, max: number) =>
  z.preprocess(
    (v) => (v === undefined || v === "" ? undefined : Number(v)),
    z
      .number({ error: "must be a number" })
      .int("must be an integer")
      .min(min, `must be ≥ ${min}`)
      .max(max, `must be ≤ ${max}`)
      .optional(),
  );

const containerName = containerNameSchema;

/** An ISO 8601 duration (src/isoDuration.ts) of at most `maxSeconds`, as whole seconds. */
const isoDurationFromEnv = (def: string, maxSeconds: number) =>
  z
    .string()
    .default(def)
    .transform((value, ctx) => {
      const parsed = parseIsoDuration(value === "" ? def : value, { maxSeconds });
      if ("seconds" in parsed) return parsed.seconds;
      ctx.addIssue({ code: "custom", message: parsed.problem });
      return z.NEVER;
    });

/** PURGE_GRACE at most: a brown-out longer than a year is a setting's mistake, not a grace. */
const MAX_PURGE_GRACE_SECONDS = 366 * 86_400;

// ---- Storage and registry access (worker, CLI and Function App alike) ---------------------------

export const storageEnvSchema = z.object({
  /** Connection string (Azurite, or accounts that still allow keys). Wins when set. */
  AZURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
  /** `https://<account>.blob.core.windows.net`, used with DefaultAzureCredential. */
  STORAGE_ACCOUNT_URL: z.url({ error: "must be a URL such as https://myaccount.blob.core.windows.net" }).optional(),
  /** Account name; the URL is derived from it. */
  STORAGE_ACCOUNT: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, "must be 3-24 lowercase letters and digits")
    .optional(),
  /** Client id of a user-assigned managed identity, read by DefaultAzureCredential itself. */
  AZURE_CLIENT_ID: z.string().optional(),
});

const loginServer = loginServerSchema;

/** Comma-separated login-server globs (ALLOWED_REGISTRIES), lowercased, each checked by the glob parser. */
const registryGlobList = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((r) => r.trim().toLowerCase())
      .filter(Boolean),
  )
  .superRefine((globs, ctx) => {
    for (const glob of globs) {
      const problem = globProblem(glob);
      if (problem) ctx.addIssue({ code: "custom", message: `"${glob}" is not a valid glob: ${problem}` });
    }
  });

export const registryEnvSchema = z.object({
  /** `auto`: basic/token with ACR_USERNAME when set, Entra ID for *.azurecr.io, else anonymous. */
  REGISTRY_AUTH: z.enum(["auto", "anonymous", "password", "entra"]).default("auto"),
  ACR_USERNAME: z.string().min(1).optional(),
  ACR_PASSWORD: z.string().min(1).optional(),
  /**
   * The one registry host ACR_USERNAME/ACR_PASSWORD belong to: the password is offered to no other host, whatever
   * a request or an orchestration input names. Required with them (the CLI defaults it to the registry it is given).
   */
  ACR_LOGIN_SERVER: loginServer.optional(),
  /** Allow plain HTTP to a registry that is not on loopback. */
  REGISTRY_INSECURE: boolFromEnv.default(false),
  /**
   * Requests per minute this process sends one registry at most (a token bucket; 0: no budget, 429s still back off).
   * The app's listing uses it whole; each job execution gets REGISTRY_READS_PER_MINUTE / maxParallel in its env.
   * Default: half of ACR Standard's ~3,000 read operations a minute, leaving the rest to the registry's other users.
   */
  REGISTRY_READS_PER_MINUTE: intFromEnv(0, 1_000_000, 1500),
  /**
   * Seconds a blob read's connection may bring no bytes (connecting, awaiting the answer, or its body) before it is
   * ended and retried, or resumed with Range from the byte it had: a registry gone silent, or a flow a load balancer
   * dropped without a reset, would otherwise hold the read until the job's timeout (the CLI: forever).
   */
  REGISTRY_IDLE_TIMEOUT_SECONDS: intFromEnv(1, 3600, DEFAULT_IDLE_TIMEOUT_SECONDS),
});

export const archiveTuningEnvSchema = z.object({
  /** gzip level for what is not already compressed (tar headers, JSON, uncompressed layers). Compressed layers are stored. */
  GZIP_LEVEL: optionalIntFromEnv(0, 9),
  /** GZIP_LEVEL's name before 0.2 (there is no pigz): still read when GZIP_LEVEL is not set. */
  PIGZ_LEVEL: optionalIntFromEnv(0, 9),
  UPLOAD_BLOCK_SIZE_MIB: intFromEnv(1, 4000, 4),
  UPLOAD_CONCURRENCY: intFromEnv(1, 32, 8),
  /** Blob GETs in flight at once (connections to the registry): blobs read ahead and large blobs in ranged parts. 1: one at a time. */
  REGISTRY_CONCURRENCY: intFromEnv(1, 64, 8),
  /** MiB of blob bytes read ahead of the archive at most (plus one 4 MiB part), whatever the image size. */
  PREFETCH_MIB: intFromEnv(0, 4096, 24),
});

/** How far referrers are followed: by the worker that archives them, and by a run's probes for new ones (the app). */
export const referrerLimitsEnvSchema = z.object({
  /** Levels of referrers (signatures, SBOMs, attestations, and their own signatures) archived with an image; 0: none. */
  REFERRERS_MAX_DEPTH: intFromEnv(0, 8, 3),
  /** Referrers one image may have in all: more fail the image (REFERRER_GRAPH_INVALID), none is dropped silently. */
  REFERRERS_MAX_COUNT: intFromEnv(1, 1000, 100),
});

/** What a restore holds in memory at most (the worker's restore mode and the CLI's restore alike). */
export const restoreLimitsEnvSchema = z.object({
  /** MiB of manifests, and of JSON blobs that may be manifests until the archive's graph says, held while it is read. */
  RESTORE_MAX_HELD_MIB: intFromEnv(1, 4096, 64),
  /** How many of them: an archive past either bound fails (INVALID_ARGUMENT) before any manifest is pushed. */
  RESTORE_MAX_HELD_MANIFESTS: intFromEnv(1, 1_000_000, 10_000),
});

/** A price setting: a decimal ≥ 0 (dollars, or whatever COST_CURRENCY says). */
const priceFromEnv = (def: number) =>
  z.preprocess(
    (v) => (v === undefined || v === "" ? def : Number(v)),
    z.number({ error: "must be a number" }).min(0, "must be ≥ 0").max(1_000_000, "must be ≤ 1000000"),
  );

/**
 * The list prices the cost report estimates with (cost/costEstimate.ts), and where they are from: the defaults are
 * DEFAULT_PRICES (East US, LRS, USD); a deployment elsewhere sets its region's. Read by the app and the CLI's `find`.
 */
export const costEnvSchema = z.object({
  COST_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 currency code such as USD")
    .default(DEFAULT_PRICES.currency),
  /** The region the prices are for (a label: the report names it). */
  COST_PRICES_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/, "must be an Azure region name such as westeurope")
    .default(DEFAULT_PRICES.region),
  /** The archive account's redundancy the prices are for (Archive tier exists on LRS, GRS and RA-GRS only). */
  COST_PRICES_REDUNDANCY: z.enum(["LRS", "GRS", "RA-GRS"]).default("LRS"),
  /** When the prices were read from the price pages. */
  COST_PRICES_READ_ON: z.iso.date({ error: "must be a date YYYY-MM-DD" }).default(DEFAULT_PRICES.readOn),
  COST_ARCHIVE_PER_GB_MONTH: priceFromEnv(DEFAULT_PRICES.archivePerGibMonth),
  COST_RETRIEVAL_PER_GB_STANDARD: priceFromEnv(DEFAULT_PRICES.retrievalPerGib.Standard),
  COST_RETRIEVAL_PER_GB_HIGH: priceFromEnv(DEFAULT_PRICES.retrievalPerGib.High),
  COST_ARCHIVE_READS_PER_10K_STANDARD: priceFromEnv(DEFAULT_PRICES.archiveReadsPer10k.Standard),
  COST_ARCHIVE_READS_PER_10K_HIGH: priceFromEnv(DEFAULT_PRICES.archiveReadsPer10k.High),
  COST_REGISTRY_STORAGE_PER_GB_DAY: priceFromEnv(DEFAULT_PRICES.registryStoragePerGibDay),
  /** The registry's SKU when Resource Manager cannot tell (not an ACR this identity can read): its included storage. */
  REGISTRY_SKU: z
    .enum(Object.keys(REGISTRY_INCLUDED_GIB) as [RegistrySku, ...RegistrySku[]], {
      error: `must be one of ${Object.keys(REGISTRY_INCLUDED_GIB).join(", ")}`,
    })
    .optional(),
});

/** The price sheet the settings make: the defaults' source, unless a price was changed (then the settings are it). */
export function toPriceSheet(parsed: z.output<typeof costEnvSchema>): PriceSheet {
  const prices: PriceSheet = {
    currency: parsed.COST_CURRENCY,
    region: parsed.COST_PRICES_REGION,
    redundancy: parsed.COST_PRICES_REDUNDANCY,
    readOn: parsed.COST_PRICES_READ_ON,
    source: DEFAULT_PRICES.source,
    archivePerGibMonth: parsed.COST_ARCHIVE_PER_GB_MONTH,
    retrievalPerGib: { Standard: parsed.COST_RETRIEVAL_PER_GB_STANDARD, High: parsed.COST_RETRIEVAL_PER_GB_HIGH },
    archiveReadsPer10k: {
      Standard: parsed.COST_ARCHIVE_READS_PER_10K_STANDARD,
      High: parsed.COST_ARCHIVE_READS_PER_10K_HIGH,
    },
    registryStoragePerGibDay: parsed.COST_REGISTRY_STORAGE_PER_GB_DAY,
  };
  const changed = (Object.keys(DEFAULT_PRICES) as (keyof PriceSheet)[]).some(
    (k) => k !== "source" && JSON.stringify(prices[k]) !== JSON.stringify(DEFAULT_PRICES[k]),
  );
  return changed ? { ...prices, source: "the deployment's COST_* settings" } : prices;
}

/** The prices alone (the CLI's `find`). */
export function readCostSettings(env: NodeJS.ProcessEnv = process.env): {
  prices: PriceSheet;
  registrySku?: RegistrySku;
} {
  const parsed = readEnv(costEnvSchema, env, "invalid cost settings");
  return { prices: toPriceSheet(parsed), ...(parsed.REGISTRY_SKU && { registrySku: parsed.REGISTRY_SKU }) };
}

/**
 * What the worker may act on, re-checked against every request (an orchestration input can be forged: the Durable
 * webhook key starts any orchestration with any input). The deployment sets both.
 */
export const workerScopeEnvSchema = z.object({
  /** Registries (login-server globs) this worker may read. Required for the worker job; the CLI checks it when set. */
  ALLOWED_REGISTRIES: registryGlobList,
  /** The one container this worker may write to; unset: any (the CLI). */
  ARCHIVE_CONTAINER: containerName.optional(),
  /** Registries (login-server globs) a restore may push to; empty: the worker refuses restores (the CLI checks it when set). */
  RESTORE_TARGET_REGISTRIES: registryGlobList,
});

const workerEnvSchema = storageEnvSchema
  .extend(registryEnvSchema.shape)
  .extend(archiveTuningEnvSchema.shape)
  .extend(referrerLimitsEnvSchema.shape)
  .extend(restoreLimitsEnvSchema.shape)
  .extend(workerScopeEnvSchema.shape)
  .extend({
    /** The request, as JSON: `{registry, repository, digest?, tags, blobContainer, …}`, or the legacy `{image, …}`. */
    ARCHIVE_REQUEST: z.string().optional(),
    /** Old local mode: a file holding that same JSON. */
    QUEUE_MESSAGE_FILE: z.string().optional(),
    /** Restore mode: `{archiveBlob, fromStaging, blobContainer, target, supplements?, runId?, attemptId?}`. */
    RESTORE_REQUEST: z.string().optional(),
  });

// ---- Helpers -------------------------------------------------------------------------------

/** The variables one schema reads, validated: CONFIG_INVALID names each one that is wrong. */
function readEnv<T extends z.ZodObject>(schema: T, env: NodeJS.ProcessEnv, what: string): z.output<T> {
  const values = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k]]));
  return parseOrThrow(schema, values, what, "CONFIG_INVALID");
}

/** Storage access from validated settings (worker env or app settings alike). */
export function toStorageConfig(parsed: z.output<typeof storageEnvSchema>): StorageConfig {
  if (parsed.AZURE_STORAGE_CONNECTION_STRING)
    return { kind: "connectionString", connectionString: parsed.AZURE_STORAGE_CONNECTION_STRING };
  if (parsed.STORAGE_ACCOUNT_URL)
    return { kind: "accountUrl", accountUrl: parsed.STORAGE_ACCOUNT_URL.replace(/\/+$/, "") };
  if (parsed.STORAGE_ACCOUNT)
    return { kind: "accountUrl", accountUrl: `https://${parsed.STORAGE_ACCOUNT}.blob.core.windows.net` };
  throw new ArchiveError(
    "CONFIG_INVALID",
    "no storage configured: set AZURE_STORAGE_CONNECTION_STRING, STORAGE_ACCOUNT_URL or STORAGE_ACCOUNT",
  );
}

/** Registry credentials from validated settings (worker env or app settings alike). */
export function toRegistryAuth(parsed: z.output<typeof registryEnvSchema>): RegistryAuthConfig {
  const { REGISTRY_AUTH: mode, ACR_USERNAME: username, ACR_PASSWORD: password } = parsed;
  if ((username === undefined) !== (password === undefined)) {
    throw new ArchiveError("CONFIG_INVALID", "ACR_USERNAME and ACR_PASSWORD must be set together");
  }
  if (mode === "password" && (!username || !password))
    throw new ArchiveError("CONFIG_INVALID", "REGISTRY_AUTH=password needs ACR_USERNAME and ACR_PASSWORD");
  if (mode === "anonymous") return { kind: "anonymous" };
  if (mode === "entra") return { kind: "entra" };
  if (username && password) {
    if (!parsed.ACR_LOGIN_SERVER) {
      throw new ArchiveError(
        "CONFIG_INVALID",
        "ACR_LOGIN_SERVER: is required with ACR_USERNAME and ACR_PASSWORD (the one registry host the password is offered to)",
      );
    }
    return { kind: "password", username, password, loginServer: parsed.ACR_LOGIN_SERVER };
  }
  return { kind: "auto" };
}

/** Registry access alone (the CLI's restore needs no storage). */
export function readRegistrySettings(env: NodeJS.ProcessEnv = process.env): RegistryAccess {
  const parsed = readEnv(registryEnvSchema, env, "invalid registry settings");
  return {
    auth: toRegistryAuth(parsed),
    insecure: parsed.REGISTRY_INSECURE,
    readsPerMinute: parsed.REGISTRY_READS_PER_MINUTE,
    idleTimeoutMs: parsed.REGISTRY_IDLE_TIMEOUT_SECONDS * 1000,
  };
}

function toRestoreLimits(parsed: z.output<typeof restoreLimitsEnvSchema>): RestoreLimits {
  return { maxHeldBytes: parsed.RESTORE_MAX_HELD_MIB * 1024 * 1024, maxHeldCount: parsed.RESTORE_MAX_HELD_MANIFESTS };
}

/** The restore limits alone (the CLI's restore of a file needs no storage). */
export function readRestoreLimits(env: NodeJS.ProcessEnv = process.env): RestoreLimits {
  return toRestoreLimits(readEnv(restoreLimitsEnvSchema, env, "invalid restore settings"));
}

/** GZIP_LEVEL, or its old name PIGZ_LEVEL; 1 when neither is set; both set and different is an error. */
function gzipLevel(parsed: { GZIP_LEVEL?: number | undefined; PIGZ_LEVEL?: number | undefined }): number {
  if (parsed.GZIP_LEVEL !== undefined && parsed.PIGZ_LEVEL !== undefined && parsed.GZIP_LEVEL !== parsed.PIGZ_LEVEL)
    throw new ArchiveError(
      "CONFIG_INVALID",
      `GZIP_LEVEL (${parsed.GZIP_LEVEL}) and PIGZ_LEVEL (${parsed.PIGZ_LEVEL}, its old name): set one`,
    );
  return parsed.GZIP_LEVEL ?? parsed.PIGZ_LEVEL ?? 1;
}

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = readEnv(workerEnvSchema, env, "invalid worker settings");
  return {
    storage: toStorageConfig(parsed),
    registryAuth: toRegistryAuth(parsed),
    registryInsecure: parsed.REGISTRY_INSECURE,
    registryReadsPerMinute: parsed.REGISTRY_READS_PER_MINUTE,
    registryIdleTimeoutMs: parsed.REGISTRY_IDLE_TIMEOUT_SECONDS * 1000,
    tuning: {
      gzipLevel: gzipLevel(parsed),
      blockSizeBytes: parsed.UPLOAD_BLOCK_SIZE_MIB * 1024 * 1024,
      uploadConcurrency: parsed.UPLOAD_CONCURRENCY,
      registryConcurrency: parsed.REGISTRY_CONCURRENCY,
      prefetchBytes: parsed.PREFETCH_MIB * 1024 * 1024,
      referrers: { maxDepth: parsed.REFERRERS_MAX_DEPTH, maxCount: parsed.REFERRERS_MAX_COUNT },
    },
    allowedRegistries: parsed.ALLOWED_REGISTRIES,
    ...(parsed.ARCHIVE_CONTAINER !== undefined && { archiveContainer: parsed.ARCHIVE_CONTAINER }),
    restoreTargetRegistries: parsed.RESTORE_TARGET_REGISTRIES,
    restoreLimits: toRestoreLimits(parsed),
    ...(parsed.ARCHIVE_REQUEST !== undefined && { archiveRequestJson: parsed.ARCHIVE_REQUEST }),
    ...(parsed.RESTORE_REQUEST !== undefined && { restoreRequestJson: parsed.RESTORE_REQUEST }),
    ...(parsed.QUEUE_MESSAGE_FILE !== undefined && { queueMessageFile: parsed.QUEUE_MESSAGE_FILE }),
  };
}

// ---- The Function App (triggers, orchestrators, activities) --------------------------------

export const appSettingsSchema = storageEnvSchema
  .extend(registryEnvSchema.shape)
  .extend(referrerLimitsEnvSchema.shape)
  .extend(costEnvSchema.shape)
  .extend({
    /** Durable Functions task hub (host.json reads it as %TASKHUB_NAME%). */
    TASKHUB_NAME: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, "must be 3-45 letters and digits, starting with a letter")
      .default("acrcoldarchive"),
    /** Container that receives archives, sidecars and run summaries. */
    ARCHIVE_CONTAINER: containerName.default("images"),
    /** Where each image's worker runs: a Container Apps Job execution, or a local child process (dev/tests). */
    JOB_RUNNER: z.enum(["container-apps", "local"]).default("container-apps"),
    /** `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.App/jobs/<name>` (JOB_RUNNER=container-apps). */
    JOB_RESOURCE_ID: z
      .string()
      .transform((value, ctx): JobResourceId => {
        try {
          return parseJobResourceId(value); // the one parser of job resource ids
        } catch {
          ctx.addIssue({
            code: "custom",
            message:
              "must be a Container Apps job resource id: /subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/<name>",
          });
          return z.NEVER;
        }
      })
      .optional(),
    /** Which container of the job template receives the per-image env vars (default: the first). */
    JOB_CONTAINER_NAME: z.string().min(1).optional(),
    /** Azure Resource Manager endpoint (a sovereign cloud, or a loopback stand-in in tests). */
    ARM_ENDPOINT: z.url().default("https://management.azure.com"),
    /** Subscription used to resolve a bare ACR name in a request to its login server. */
    AZURE_SUBSCRIPTION_ID: z.string().optional(),
    /** NCRONTAB (six fields) for the nightly run and the staging sweep; the timers read it as %NIGHTLY_SCHEDULE%. */
    NIGHTLY_SCHEDULE: z.string().default("0 0 2 * * *"),
    /**
     * Login servers a run may target (comma-separated globs), besides NIGHTLY_REGISTRIES' login servers and
     * ACR_LOGIN_SERVER. Empty by default: a wildcard such as *.azurecr.io would admit any tenant's registry, and the
     * app's registry identity goes wherever a run points it. Checked where the registry is contacted, too.
     */
    ALLOWED_REGISTRIES: registryGlobList,
    /**
     * The 202 of POST /api/archive carries the Durable check-status URLs, whose `code` is the extension's system key:
     * it can start ANY orchestration with any input. `false` answers with this app's own status URL only.
     */
    DURABLE_STATUS_URLS: boolFromEnv.default(true),
    /** Registries the nightly timer archives, comma-separated (login servers, ACR names or resource ids). */
    NIGHTLY_REGISTRIES: z
      .string()
      .default("")
      .transform((s) =>
        s
          .split(",")
          .map((r) => r.trim())
          .filter(Boolean),
      ),
    /** Job executions per image before it is given up as failed. */
    MAX_ATTEMPTS: intFromEnv(1, 10, 3),
    /** An execution running longer than this is stopped and counted as a failed attempt. */
    JOB_TIMEOUT_MINUTES: intFromEnv(1, 24 * 60, 120),
    /** Polling of a running execution backs off up to this interval. */
    POLL_MAX_INTERVAL_SECONDS: intFromEnv(1, 3600, 60),
    /** Default of `maxParallel` for runs that do not say. */
    DEFAULT_MAX_PARALLEL: intFromEnv(1, 100, 10),
    /**
     * Registries (login-server globs) a restore run may push to. Empty by default: then every restore is refused. The
     * job gets the same list (the worker re-checks each request against it) and AcrPush on those registries only.
     */
    RESTORE_TARGET_REGISTRIES: registryGlobList,
    /** How long a restore waits for an archive's copy out of Archive tier, per priority (Azure: up to 15 h / under 1 h). */
    REHYDRATION_TIMEOUT_MINUTES_STANDARD: intFromEnv(1, 7 * 24 * 60, 18 * 60),
    REHYDRATION_TIMEOUT_MINUTES_HIGH: intFromEnv(1, 7 * 24 * 60, 2 * 60),
    /** Polling of a pending rehydration backs off 60 s → 120 … up to this (durable timers: no compute while waiting). */
    REHYDRATION_POLL_MAX_SECONDS: intFromEnv(1, 3600, 900),
    /**
     * The nightly sweep deletes a staging copy no running restore claims once it was not written (made, or marked in
     * use by a restore) for this long. Keep it above the longest rehydration: a copy left by a timed-out restore, or
     * started by the CLI without --wait, is meant for the next restore. Default 72 h.
     */
    STAGING_MAX_AGE_MINUTES: intFromEnv(1, 366 * 24 * 60, 72 * 60),
    /** Repositories per listing page: one activity lists one catalog page, and the run resumes at the page it reached. */
    LISTING_PAGE_REPOSITORIES: intFromEnv(1, 1000, 100),
    /** Repositories of one listing page listed at once. */
    LISTING_CONCURRENCY: intFromEnv(1, 64, 8),
    /**
     * A refreshReferrers run's probes of archived images for new referrers make at most this many registry requests in
     * all (ACR meters reads a minute: at 1,500 a minute, 10,000 take ~7 minutes); the images left are reported unchecked.
     */
    REFRESH_REFERRERS_MAX_REQUESTS: intFromEnv(1, 10_000_000, 10_000),
    /** Nightly runs look for referrers that arrived since an image was archived (refreshReferrers). */
    NIGHTLY_REFRESH_REFERRERS: boolFromEnv.default(false),
    /**
     * Archives written before blob index tags get theirs from a backfill each archive run makes, of at most this many
     * archives and supplements a run, until the registry's are all done (then it costs one blob read). 0: no backfill.
     */
    CATALOG_BACKFILL_MAX_BLOBS: intFromEnv(0, 1_000_000, 5000),
    /**
     * Archive runs may purge (delete from the registry what is archived and verified, after a brown-out). Off by default:
     * a purge request is refused, and nothing this app runs deletes or locks anything in a registry. The Bicep parameter
     * purgeEnabled sets it and grants the delete and metadata-write permission with it.
     */
    PURGE_ENABLED: boolFromEnv.default(false),
    /** How long a browned-out image stays unreadable before a later run deletes it (ISO 8601; PT0S deletes at once). */
    PURGE_GRACE: isoDurationFromEnv("P14D", MAX_PURGE_GRACE_SECONDS),
    /** Images one run may purge (candidates) at most; the rest are kept (`cap`) for a later run. */
    PURGE_MAX_IMAGES: intFromEnv(1, 100_000, 100),
  });
export type AppSettings = z.output<typeof appSettingsSchema>;

/** The app settings, validated (every problem named), before they are mapped: also what the infra test checks. */
export function readAppSettings(env: NodeJS.ProcessEnv = process.env): AppSettings {
  return readEnv(appSettingsSchema, env, "invalid app settings");
}

/** The Function App's configuration, mapped once from its settings. */
export interface AppConfig {
  storage: StorageConfig;
  registry: RegistryAccess;
  /** Archives, sidecars, tag markers and run records; the only container activities accept. */
  archiveContainer: string;
  /** Login-server globs a run may target: ALLOWED_REGISTRIES, NIGHTLY_REGISTRIES' login servers, ACR_LOGIN_SERVER. */
  allowedRegistries: string[];
  /** Login-server globs a restore may push to (RESTORE_TARGET_REGISTRIES); empty: restores are refused. */
  restoreTargetRegistries: string[];
  jobRunner: JobRunnerConfig;
  /** Resolving an ACR name or resource id in a request (ARM_ENDPOINT, AZURE_SUBSCRIPTION_ID). */
  registryResolution: { armEndpoint: string; subscriptionId?: string };
  /** What the nightly timer archives (login servers, ACR names or resource ids). */
  nightlyRegistries: string[];
  /** Nightly runs refresh referrers (NIGHTLY_REFRESH_REFERRERS). */
  nightlyRefreshReferrers: boolean;
  /** Answer POST /api/archive with the Durable check-status URLs (their key starts any orchestration). */
  durableStatusUrls: boolean;
  runDefaults: RunDefaults;
  listing: ListingConfig;
  /** The staging sweep's age limit (STAGING_MAX_AGE_MINUTES). */
  stagingMaxAgeMinutes: number;
  /** The cost report's list prices (COST_*). */
  prices: PriceSheet;
  /** The registry's SKU when Resource Manager cannot tell (REGISTRY_SKU). */
  registrySku?: RegistrySku;
  /** Archives and supplements an archive run's catalog backfill indexes at most (CATALOG_BACKFILL_MAX_BLOBS). */
  catalogBackfillMaxBlobs: number;
  /** Whether, and how, runs may purge (PURGE_ENABLED, PURGE_GRACE, PURGE_MAX_IMAGES). */
  purge: PurgeConfig;
}

export function readAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return toAppConfig(readAppSettings(env));
}

export function toAppConfig(settings: AppSettings): AppConfig {
  let jobRunner: JobRunnerConfig;
  if (settings.JOB_RUNNER === "local") {
    // Local workers get the scope the Bicep gives the job: the app's allow-list and its container.
    jobRunner = {
      kind: "local",
      templateEnv: {
        ALLOWED_REGISTRIES: allowedRegistriesOf(settings).join(","),
        ARCHIVE_CONTAINER: settings.ARCHIVE_CONTAINER,
        RESTORE_TARGET_REGISTRIES: settings.RESTORE_TARGET_REGISTRIES.join(","),
      },
    };
  } else if (!settings.JOB_RESOURCE_ID)
    throw new ArchiveError(
      "CONFIG_INVALID",
      "invalid app settings: JOB_RESOURCE_ID: is required when JOB_RUNNER=container-apps",
    );
  else {
    jobRunner = {
      kind: "container-apps",
      job: settings.JOB_RESOURCE_ID,
      armEndpoint: settings.ARM_ENDPOINT,
      ...(settings.JOB_CONTAINER_NAME && { containerName: settings.JOB_CONTAINER_NAME }),
      ...(settings.AZURE_CLIENT_ID && { managedIdentityClientId: settings.AZURE_CLIENT_ID }),
    };
  }
  return {
    storage: toStorageConfig(settings),
    registry: {
      auth: toRegistryAuth(settings),
      insecure: settings.REGISTRY_INSECURE,
      readsPerMinute: settings.REGISTRY_READS_PER_MINUTE,
      idleTimeoutMs: settings.REGISTRY_IDLE_TIMEOUT_SECONDS * 1000,
    },
    archiveContainer: settings.ARCHIVE_CONTAINER,
    allowedRegistries: allowedRegistriesOf(settings),
    restoreTargetRegistries: settings.RESTORE_TARGET_REGISTRIES,
    jobRunner,
    registryResolution: {
      armEndpoint: settings.ARM_ENDPOINT,
      ...(settings.AZURE_SUBSCRIPTION_ID && { subscriptionId: settings.AZURE_SUBSCRIPTION_ID }),
    },
    nightlyRegistries: settings.NIGHTLY_REGISTRIES,
    nightlyRefreshReferrers: settings.NIGHTLY_REFRESH_REFERRERS,
    durableStatusUrls: settings.DURABLE_STATUS_URLS,
    runDefaults: {
      maxParallel: settings.DEFAULT_MAX_PARALLEL,
      maxAttempts: settings.MAX_ATTEMPTS,
      jobTimeoutMinutes: settings.JOB_TIMEOUT_MINUTES,
      pollMaxIntervalSeconds: settings.POLL_MAX_INTERVAL_SECONDS,
      rehydrationTimeoutMinutes: {
        Standard: settings.REHYDRATION_TIMEOUT_MINUTES_STANDARD,
        High: settings.REHYDRATION_TIMEOUT_MINUTES_HIGH,
      },
      rehydrationPollMaxSeconds: settings.REHYDRATION_POLL_MAX_SECONDS,
    },
    stagingMaxAgeMinutes: settings.STAGING_MAX_AGE_MINUTES,
    prices: toPriceSheet(settings),
    ...(settings.REGISTRY_SKU && { registrySku: settings.REGISTRY_SKU }),
    catalogBackfillMaxBlobs: settings.CATALOG_BACKFILL_MAX_BLOBS,
    purge: {
      enabled: settings.PURGE_ENABLED,
      graceSeconds: settings.PURGE_GRACE,
      maxImages: settings.PURGE_MAX_IMAGES,
    },
    listing: {
      pageRepositories: settings.LISTING_PAGE_REPOSITORIES,
      concurrency: settings.LISTING_CONCURRENCY,
      referrerRefresh: {
        maxRequests: settings.REFRESH_REFERRERS_MAX_REQUESTS,
        limits: { maxDepth: settings.REFERRERS_MAX_DEPTH, maxCount: settings.REFERRERS_MAX_COUNT },
      },
    },
  };
}

/**
 * The registries a run may target: ALLOWED_REGISTRIES' globs, NIGHTLY_REGISTRIES given as login servers (names and
 * resource ids need ALLOWED_REGISTRIES), and ACR_LOGIN_SERVER. Empty means no run can start.
 */
function allowedRegistriesOf(settings: AppSettings): string[] {
  const nightly = settings.NIGHTLY_REGISTRIES.map((r) => r.toLowerCase()).filter(
    (r) => loginServer.safeParse(r).success && /[.:]/.test(r),
  );
  const bound = settings.ACR_LOGIN_SERVER ? [settings.ACR_LOGIN_SERVER] : [];
  return [...new Set([...settings.ALLOWED_REGISTRIES, ...nightly, ...bound])];
}
