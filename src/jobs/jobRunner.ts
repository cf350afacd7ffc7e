// Where one image's worker runs. The orchestration only sees this interface: a Container Apps Job execution
// in Azure, or a local child process for development and tests. Both get the same env contract
// (ARCHIVE_REQUEST = the worker's request JSON); no secret is ever passed this way.
import { z } from "zod";

/** Environment variable names that hold secrets: never logged, never passed as job env overrides. */
export const SECRET_ENV_NAMES: readonly string[] = [
  "ACR_PASSWORD",
  "AZURE_STORAGE_CONNECTION_STRING",
  "AZURE_CLIENT_SECRET",
];

/** Status names of Container Apps job executions (Microsoft.App/jobs/executions). */
export type JobExecutionStatus = "Running" | "Processing" | "Succeeded" | "Failed" | "Stopped" | "Degraded" | "Unknown";

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobExecutionStatus> = new Set([
  "Succeeded",
  "Failed",
  "Stopped",
  "Degraded",
]);

export interface JobExecution {
  /** Execution name, unique per job: what get/stop take. */
  name: string;
  status: JobExecutionStatus;
  startTime?: string;
  endTime?: string;
  /** Why it ended unsuccessfully, when the runner knows (the local worker's last stderr line). */
  error?: string;
}

/** An execution as activities name it (get, stop): the runner's own name, one path segment. */
export const executionRefSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/, "must be a job execution name"),
});

export interface JobRunnerOperationOptions {
  abortSignal?: AbortSignal;
}

/** Tells whether an execution's env overrides (plain values only) are the ones being looked for. */
export type ExecutionEnvMatch = (env: Readonly<Record<string, string>>) => boolean;

export interface JobRunner {
  /**
   * Starts one execution with these env vars merged into the job's template. Never retried underneath: a start
   * whose answer was lost may still have started one (find it with findExecution instead of starting a second).
   */
  startExecution(env: Record<string, string>, options?: JobRunnerOperationOptions): Promise<JobExecution>;
  /** The most recent execution whose env overrides match, if the job still lists one. */
  findExecution(match: ExecutionEnvMatch, options?: JobRunnerOperationOptions): Promise<JobExecution | undefined>;
  getExecution(name: string, options?: JobRunnerOperationOptions): Promise<JobExecution>;
  stopExecution(name: string, options?: JobRunnerOperationOptions): Promise<void>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SECRET_NAMES = new Set(SECRET_ENV_NAMES.map((n) => n.toUpperCase()));

/**
 * Env overrides are readable by anyone who can read the execution, so a secret name is refused outright (a
 * TypeError: a programming error, not a run failure). Messages name the variable, never its value.
 */
export function assertEnvOverrides(env: Record<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name))
      throw new TypeError(`env override name ${JSON.stringify(name)} is not a valid environment variable name`);
    if (SECRET_NAMES.has(name.toUpperCase()))
      throw new TypeError(
        `env override ${name} is a secret: secrets are never passed as job env overrides (give the job a secretRef env entry instead)`,
      );
    if (typeof value !== "string" || value.includes("\0"))
      throw new TypeError(`env override ${name} must be a string without NUL characters`);
  }
}
