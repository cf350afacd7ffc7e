// The one source of truth for configuration: every environment variable and request body is validated
// here, and every error message names the variable or field that was wrong.
import { z } from "zod";
import { ArchiveError } from "./errors.js";
import { parseImageReference } from "./registry/reference.js";
import { globProblem } from "./globs.js";

const boolFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const intFromEnv = (min: number, max: number, def: number) =>
  z.preprocess(
    (v) => (v === undefined || v === "" ? def : Number(v)),
    z.number({ error: "must be a number" }).int("must be an integer").min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`),
  );

const containerName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/, "must be a blob container name: 3-63 of a-z, 0-9 and single hyphens");

/**
 * Blob base names of the old queue messages (`repo--tag.tar.gz`): a relative blob path of safe characters, outside
 * `runs/` (run records) and not ending in `.json` (sidecars), so it can neither overwrite a record nor a sidecar.
 */
const blobBaseName = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+=@:-]*(?:\/[A-Za-z0-9][A-Za-z0-9._+=@:-]*)*$/, "must be a relative blob name of letters, digits and . _ + = @ : - (no .., no leading /)")
  .refine((s) => !s.startsWith("runs/") && !s.endsWith(".json"), "must not be under runs/ or end in .json");

const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$/, "must be 1-128 of A-Za-z0-9:_.- and start with a letter or digit");

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

export const registryEnvSchema = z.object({
  /** `auto`: basic/token with ACR_USERNAME when set, Entra ID for *.azurecr.io, else anonymous. */
  REGISTRY_AUTH: z.enum(["auto", "anonymous", "password", "entra"]).default("auto"),
  ACR_USERNAME: z.string().min(1).optional(),
  ACR_PASSWORD: z.string().min(1).optional(),
  /** Allow plain HTTP to a registry that is not on loopback. */
  REGISTRY_INSECURE: boolFromEnv.default(false),
});

export const archiveTuningEnvSchema = z.object({
  /** gzip level for what is not already compressed (tar headers, JSON, uncompressed layers). Compressed layers are stored. */
  PIGZ_LEVEL: intFromEnv(0, 9, 1),
  UPLOAD_BLOCK_SIZE_MIB: intFromEnv(1, 4000, 8),
  UPLOAD_CONCURRENCY: intFromEnv(1, 32, 4),
});

const workerEnvSchema = storageEnvSchema
  .extend(registryEnvSchema.shape)
  .extend(archiveTuningEnvSchema.shape)
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
  | { kind: "password"; username: string; password: string }
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
  archiveRequestJson?: string;
  queueMessageFile?: string;
}

// ---- The archive request (queue message / ARCHIVE_REQUEST / activity input) -------------------

export const archiveRequestSchema = z.strictObject({
  image: z.string().min(1, "is required").superRefine((value, ctx) => {
    try {
      parseImageReference(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  }),
  blobContainer: containerName.default("images"),
  blobBaseName: blobBaseName.optional(),
  runId: runId.optional(),
  /** Other tags known to point at the same digest (from the orchestrator's listing). */
  tags: z.array(z.string().regex(/^[\w][\w.-]{0,127}$/, "must be a tag")).max(50).optional(),
});
export type ArchiveRequest = z.infer<typeof archiveRequestSchema>;

// ---- Helpers -------------------------------------------------------------------------------

/** `NAME: problem; NAME2: problem` — the same text for env vars and request fields. */
export function formatIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "(root)";
    if (issue.code === "unrecognized_keys") return `${prefix}${issue.keys.join(", ")}: unknown field`;
    return `${prefix}${path}: ${issue.message}`;
  });
}

export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string, code: "CONFIG_INVALID" | "INVALID_ARGUMENT"): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ArchiveError(code, `${what}: ${formatIssues(result.error).join("; ")}`);
  return result.data;
}

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
  if (username && password) return { kind: "password", username, password };
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
    ...(parsed.ARCHIVE_REQUEST !== undefined && { archiveRequestJson: parsed.ARCHIVE_REQUEST }),
    ...(parsed.QUEUE_MESSAGE_FILE !== undefined && { queueMessageFile: parsed.QUEUE_MESSAGE_FILE }),
  };
}

/** Environment variable names that hold secrets: never logged, never passed as job env overrides. */
export const SECRET_ENV_NAMES: readonly string[] = ["ACR_PASSWORD", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET"];

// ---- The Function App (triggers, orchestrators, activities) --------------------------------

const globList = z
  .array(
    z.string().min(1, "must not be empty").max(256).superRefine((glob, ctx) => {
      const problem = globProblem(glob);
      if (problem) ctx.addIssue({ code: "custom", message: `"${glob}" is not a valid glob: ${problem}` });
    }),
  )
  .max(100);

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
   * Login servers a run may target (comma-separated globs). The app's registry credentials (Entra ID token, ACR
   * password) go to whatever registry a run names, so only registries listed here are accepted.
   */
  ALLOWED_REGISTRIES: z
    .string()
    .default("*.azurecr.io,*.azurecr.cn,*.azurecr.us")
    .transform((s) => s.split(",").map((r) => r.trim().toLowerCase()).filter(Boolean))
    .superRefine((globs, ctx) => {
      for (const glob of globs) {
        const problem = globProblem(glob);
        if (problem) ctx.addIssue({ code: "custom", message: `"${glob}" is not a valid glob: ${problem}` });
      }
    }),
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
  return settings;
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
