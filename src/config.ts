// The one source of truth for configuration: every environment variable and request body is validated
// here, and every error message names the variable or field that was wrong.
import { z } from "zod";
import { ArchiveError } from "./errors.js";
import { parseOrThrow } from "./validation.js";
import { loginServerSchema } from "./registry/reference.js";
import { globListSchema, globProblem } from "./globs.js";
import { containerNameSchema } from "./storage/blobNames.js";

const boolFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const intFromEnv = (min: number, max: number, def: number) =>
  z.preprocess(
    (v) => (v === undefined || v === "" ? def : Number(v)),
    z.number({ error: "must be a number" }).int("must be an integer").min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`),
  );

const containerName = containerNameSchema;

// ---- Storage and registry access (worker, CLI and Function App alike) ---------------------------

export const storageEnvSchema = z.object({
  /** Connection string (Azurite, or accounts that still allow keys). Wins when set. */
  AZURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
  /** `https://<account>.blob.core.windows.net`, used with DefaultAzureCredential. */
  STORAGE_ACCOUNT_URL: z.url({ error: "must be a URL such as https://myaccount.blob.core.windows.net" }).optional(),
  /** Account name; the URL is derived from it. */
  STORAGE_ACCOUNT: z.string().regex(/^[a-z0-9]{3,24}$/, "must be 3-24 lowercase letters and digits").optional(),
  /** Client id of a user-assigned managed identity, read by DefaultAzureCredential itself. */
  AZURE_CLIENT_ID: z.string().optional(),
});

const loginServer = loginServerSchema;

/** Comma-separated login-server globs (ALLOWED_REGISTRIES), lowercased, each checked by the glob parser. */
const registryGlobList = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((r) => r.trim().toLowerCase()).filter(Boolean))
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
});

export const archiveTuningEnvSchema = z.object({
  /** gzip level for what is not already compressed (tar headers, JSON, uncompressed layers). Compressed layers are stored. */
  PIGZ_LEVEL: intFromEnv(0, 9, 1),
  UPLOAD_BLOCK_SIZE_MIB: intFromEnv(1, 4000, 8),
  UPLOAD_CONCURRENCY: intFromEnv(1, 32, 4),
});

/**
 * What the worker may act on, re-checked against every request (an orchestration input can be forged: the Durable
 * webhook key starts any orchestration with any input). The deployment sets both.
 */
export const workerScopeEnvSchema = z.object({
  /** Registries (login-server globs) this worker may read. Required for the worker job; the CLI checks it when set. */
  ALLOWED_REGISTRIES: registryGlobList,
  /** The one container this worker may write to; unset: any (the CLI). */
  ARCHIVE_CONTAINER: containerName.optional(),
});

const workerEnvSchema = storageEnvSchema
  .extend(registryEnvSchema.shape)
  .extend(archiveTuningEnvSchema.shape)
  .extend(workerScopeEnvSchema.shape)
  .extend({
    /** The request, as JSON: the old queue message `{image, blobContainer, blobBaseName}` plus optional `runId`. */
    ARCHIVE_REQUEST: z.string().optional(),
    /** Old local mode: a file holding that same JSON. */
    QUEUE_MESSAGE_FILE: z.string().optional(),
  });

export type StorageConfig =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "accountUrl"; accountUrl: string };

export type RegistryAuthConfig =
  /** Entra ID for *.azurecr.io, anonymous elsewhere. */
  | { kind: "auto" }
  | { kind: "anonymous" }
  /** Offered to `loginServer` only. */
  | { kind: "password"; username: string; password: string; loginServer: string }
  | { kind: "entra" };

export interface ArchiveTuning {
  gzipLevel: number;
  blockSizeBytes: number;
  uploadConcurrency: number;
}

export interface WorkerConfig {
  storage: StorageConfig;
  registryAuth: RegistryAuthConfig;
  registryInsecure: boolean;
  tuning: ArchiveTuning;
  /** Login-server globs the worker may read; empty: not configured (the worker job refuses to run, the CLI allows any). */
  allowedRegistries: string[];
  /** The one container the worker may write; undefined: any. */
  archiveContainer?: string;
  archiveRequestJson?: string;
  queueMessageFile?: string;
}

// The archive request (queue message / ARCHIVE_REQUEST) lives beside the worker: src/worker/archiveRequest.ts.
export { archiveRequestSchema, type ArchiveRequest } from "./worker/archiveRequest.js";

// ---- Helpers -------------------------------------------------------------------------------

export { formatIssues, parseOrThrow } from "./validation.js";

function pickEnv(env: NodeJS.ProcessEnv, keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, env[k]]));
}

/** Storage access from validated settings (worker env or app settings alike). */
export function toStorageConfig(parsed: z.output<typeof storageEnvSchema>): StorageConfig {
  if (parsed.AZURE_STORAGE_CONNECTION_STRING) return { kind: "connectionString", connectionString: parsed.AZURE_STORAGE_CONNECTION_STRING };
  if (parsed.STORAGE_ACCOUNT_URL) return { kind: "accountUrl", accountUrl: parsed.STORAGE_ACCOUNT_URL.replace(/\/+$/, "") };
  if (parsed.STORAGE_ACCOUNT) return { kind: "accountUrl", accountUrl: `https://${parsed.STORAGE_ACCOUNT}.blob.core.windows.net` };
  throw new ArchiveError("CONFIG_INVALID", "no storage configured: set AZURE_STORAGE_CONNECTION_STRING, STORAGE_ACCOUNT_URL or STORAGE_ACCOUNT");
}

/** Registry credentials from validated settings (worker env or app settings alike). */
export function toRegistryAuth(parsed: z.output<typeof registryEnvSchema>): RegistryAuthConfig {
  const { REGISTRY_AUTH: mode, ACR_USERNAME: username, ACR_PASSWORD: password } = parsed;
  if ((username === undefined) !== (password === undefined)) {
    throw new ArchiveError("CONFIG_INVALID", "ACR_USERNAME and ACR_PASSWORD must be set together");
  }
  if (mode === "password" && (!username || !password)) throw new ArchiveError("CONFIG_INVALID", "REGISTRY_AUTH=password needs ACR_USERNAME and ACR_PASSWORD");
  if (mode === "anonymous") return { kind: "anonymous" };
  if (mode === "entra") return { kind: "entra" };
  if (username && password) {
    if (!parsed.ACR_LOGIN_SERVER) {
      throw new ArchiveError("CONFIG_INVALID", "ACR_LOGIN_SERVER: is required with ACR_USERNAME and ACR_PASSWORD (the one registry host the password is offered to)");
    }
    return { kind: "password", username, password, loginServer: parsed.ACR_LOGIN_SERVER };
  }
  return { kind: "auto" };
}

/** Registry access alone (the CLI's restore needs no storage). */
export function readRegistrySettings(env: NodeJS.ProcessEnv = process.env): { auth: RegistryAuthConfig; insecure: boolean } {
  const parsed = parseOrThrow(registryEnvSchema, pickEnv(env, Object.keys(registryEnvSchema.shape)), "invalid registry settings", "CONFIG_INVALID");
  return { auth: toRegistryAuth(parsed), insecure: parsed.REGISTRY_INSECURE };
}

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = parseOrThrow(workerEnvSchema, pickEnv(env, Object.keys(workerEnvSchema.shape)), "invalid worker settings", "CONFIG_INVALID");
  return {
    storage: toStorageConfig(parsed),
    registryAuth: toRegistryAuth(parsed),
    registryInsecure: parsed.REGISTRY_INSECURE,
    tuning: {
      gzipLevel: parsed.PIGZ_LEVEL,
      blockSizeBytes: parsed.UPLOAD_BLOCK_SIZE_MIB * 1024 * 1024,
      uploadConcurrency: parsed.UPLOAD_CONCURRENCY,
    },
    allowedRegistries: parsed.ALLOWED_REGISTRIES,
    ...(parsed.ARCHIVE_CONTAINER !== undefined && { archiveContainer: parsed.ARCHIVE_CONTAINER }),
    ...(parsed.ARCHIVE_REQUEST !== undefined && { archiveRequestJson: parsed.ARCHIVE_REQUEST }),
    ...(parsed.QUEUE_MESSAGE_FILE !== undefined && { queueMessageFile: parsed.QUEUE_MESSAGE_FILE }),
  };
}

/** Environment variable names that hold secrets: never logged, never passed as job env overrides. */
export const SECRET_ENV_NAMES: readonly string[] = ["ACR_PASSWORD", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET"];

// ---- The Function App (triggers, orchestrators, activities) --------------------------------

const globList = globListSchema;

export const appSettingsSchema = storageEnvSchema.extend(registryEnvSchema.shape).extend({
  /** Durable Functions task hub (host.json reads it as %TASKHUB_NAME%). */
  TASKHUB_NAME: z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, "must be 3-45 letters and digits, starting with a letter").default("acrcoldarchive"),
  /** Container that receives archives, sidecars and run summaries. */
  ARCHIVE_CONTAINER: containerName.default("images"),
  /** Where each image's worker runs: a Container Apps Job execution, or a local child process (dev/tests). */
  JOB_RUNNER: z.enum(["container-apps", "local"]).default("container-apps"),
  /** `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.App/jobs/<name>` (JOB_RUNNER=container-apps). */
  JOB_RESOURCE_ID: z
    .string()
    .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.App\/jobs\/[^/]+$/i, "must be a Container Apps job resource id: /subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/<name>")
    .optional(),
  /** Which container of the job template receives the per-image env vars (default: the first). */
  JOB_CONTAINER_NAME: z.string().min(1).optional(),
  /** Azure Resource Manager endpoint (a sovereign cloud, or a loopback stand-in in tests). */
  ARM_ENDPOINT: z.url().default("https://management.azure.com"),
  /** Subscription used to resolve a bare ACR name in a request to its login server. */
  AZURE_SUBSCRIPTION_ID: z.string().optional(),
  /** NCRONTAB (six fields) for the nightly run; the timer reads it as %NIGHTLY_SCHEDULE%. */
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
    .transform((s) => s.split(",").map((r) => r.trim()).filter(Boolean)),
  /** Job executions per image before it is given up as failed. */
  MAX_ATTEMPTS: intFromEnv(1, 10, 3),
  /** An execution running longer than this is stopped and counted as a failed attempt. */
  JOB_TIMEOUT_MINUTES: intFromEnv(1, 24 * 60, 120),
  /** Polling of a running execution backs off up to this interval. */
  POLL_MAX_INTERVAL_SECONDS: intFromEnv(1, 3600, 60),
  /** Default of `maxParallel` for runs that do not say. */
  DEFAULT_MAX_PARALLEL: intFromEnv(1, 100, 10),
});
export type AppSettings = z.output<typeof appSettingsSchema>;

export function readAppSettings(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const settings = parseOrThrow(appSettingsSchema, pickEnv(env, Object.keys(appSettingsSchema.shape)), "invalid app settings", "CONFIG_INVALID");
  if (settings.JOB_RUNNER === "container-apps" && !settings.JOB_RESOURCE_ID) {
    throw new ArchiveError("CONFIG_INVALID", "invalid app settings: JOB_RESOURCE_ID: is required when JOB_RUNNER=container-apps");
  }
  toRegistryAuth(settings); // ACR_LOGIN_SERVER with a password, named now rather than at the first run
  return settings;
}

/**
 * The registries a run may target: ALLOWED_REGISTRIES' globs, NIGHTLY_REGISTRIES given as login servers (names and
 * resource ids need ALLOWED_REGISTRIES), and ACR_LOGIN_SERVER. Empty means no run can start.
 */
export function allowedRegistriesOf(settings: AppSettings): string[] {
  const nightly = settings.NIGHTLY_REGISTRIES.map((r) => r.toLowerCase()).filter((r) => loginServer.safeParse(r).success && /[.:]/.test(r));
  const bound = settings.ACR_LOGIN_SERVER ? [settings.ACR_LOGIN_SERVER] : [];
  return [...new Set([...settings.ALLOWED_REGISTRIES, ...nightly, ...bound])];
}

/** POST /api/archive body (and the timer's per-registry run): what to archive. */
export const startArchiveRunSchema = z.strictObject({
  /** A login server (`myacr.azurecr.io`, `127.0.0.1:5000`), an ACR name, or an ACR resource id. */
  registry: z.string({ error: "is required" }).min(1, "is required").max(512),
  repositories: globList.optional(),
  excludeRepositories: globList.optional(),
  tags: globList.optional(),
  excludeTags: globList.optional(),
  includeUntagged: z.boolean().default(false),
  /** Only images whose ACR `lastUpdatedOn` is at least this many days old. */
  olderThanDays: z.number().int("must be an integer").min(0, "must be ≥ 0").max(36500, "must be ≤ 36500").optional(),
  maxParallel: z.number().int("must be an integer").min(1, "must be ≥ 1").max(100, "must be ≤ 100").optional(),
  dryRun: z.boolean().default(false),
});
export type StartArchiveRunInput = z.output<typeof startArchiveRunSchema>;
