// Runs each image's worker as an execution of a manual-trigger Azure Container Apps Job, through Azure Resource
// Manager (@azure/arm-appcontainers). The per-image env vars ride on the Start API's template override, which
// REPLACES the whole template: so the job's template is read first and the overrides are merged into it.
import {
  ContainerAppsAPIClient,
  type BaseContainer,
  type ContainerAppsAPIClientOptionalParams,
  type EnvironmentVar,
  type JobExecutionContainer,
  type JobExecutionTemplate,
  type JobTemplate,
} from "@azure/arm-appcontainers";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { ArchiveError, firstLine, isArchiveError } from "../errors.js";
import { parseJobResourceId, type JobResourceId } from "./jobResourceId.js";
import {
  assertEnvOverrides,
  type ExecutionEnvMatch,
  type JobExecution,
  type JobExecutionStatus,
  type JobRunner,
  type JobRunnerOperationOptions,
} from "./jobRunner.js";

export interface ContainerAppsJobRunnerOptions {
  /** The job (JOB_RESOURCE_ID, parsed), or its resource id `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.App/jobs/<name>`. */
  job: JobResourceId | string;
  /** Container of the job template that receives the env vars (JOB_CONTAINER_NAME); default: the first. */
  containerName?: string;
  /** Azure Resource Manager endpoint (ARM_ENDPOINT); default `https://management.azure.com`. */
  endpoint?: string;
  /** Default: DefaultAzureCredential (managed identity in Azure). */
  credential?: TokenCredential;
  /** Client id of a user-assigned managed identity for the default credential (AZURE_CLIENT_ID). */
  managedIdentityClientId?: string;
  /** Passed to the ARM client: retryOptions, tlsOptions, httpClient, … (`endpoint` above wins). */
  clientOptions?: ContainerAppsAPIClientOptionalParams;
  /** Polling interval of the start/stop long-running operations when ARM sends no Retry-After. */
  updateIntervalInMs?: number;
}

const STATUSES: ReadonlyMap<string, JobExecutionStatus> = new Map(
  (["Running", "Processing", "Succeeded", "Failed", "Stopped", "Degraded", "Unknown"] as const).map((s) => [
    s.toLowerCase(),
    s,
  ]),
);

/** ARM's `properties.status` → our status; a value this version does not know is `Unknown` (never terminal). */
export function toJobExecutionStatus(status: string | undefined): JobExecutionStatus {
  return (status && STATUSES.get(status.toLowerCase())) || "Unknown";
}

// Executions listed when looking for one whose start answer was lost (the service keeps the most recent ones).
const MAX_EXECUTIONS_SCANNED = 500;

export class ContainerAppsJobRunner implements JobRunner {
  readonly job: JobResourceId;
  private readonly client: ContainerAppsAPIClient;
  /**
   * Starts go through a client without retries: core-rest-pipeline retries a POST on 5xx, 408 and socket errors,
   * and a start whose answer was lost has already started an execution, so a retry would start a second one.
   */
  private readonly startClient: ContainerAppsAPIClient;
  private readonly containerName: string | undefined;
  private readonly updateIntervalInMs: number | undefined;

  constructor(options: ContainerAppsJobRunnerOptions) {
    this.job = typeof options.job === "string" ? parseJobResourceId(options.job) : options.job;
    this.containerName = options.containerName;
    this.updateIntervalInMs = options.updateIntervalInMs;
    const credential =
      options.credential ??
      new DefaultAzureCredential(
        options.managedIdentityClientId ? { managedIdentityClientId: options.managedIdentityClientId } : {},
      );
    const endpoint = (options.endpoint ?? options.clientOptions?.endpoint ?? "https://management.azure.com").replace(
      /\/+$/,
      "",
    );
    this.client = new ContainerAppsAPIClient(credential, this.job.subscriptionId, {
      ...options.clientOptions,
      endpoint,
    });
    this.startClient = new ContainerAppsAPIClient(credential, this.job.subscriptionId, {
      ...options.clientOptions,
      endpoint,
      retryOptions: { ...options.clientOptions?.retryOptions, maxRetries: 0 },
    });
  }

  async startExecution(env: Record<string, string>, options: JobRunnerOperationOptions = {}): Promise<JobExecution> {
    assertEnvOverrides(env); // before any request: a secret never leaves the process
    const { resourceGroupName, jobName } = this.job;
    const job = await this.call("read job", () =>
      this.client.jobs.get(resourceGroupName, jobName, { abortSignal: options.abortSignal }),
    );
    const template = buildExecutionTemplate(job.template, env, { jobName, containerName: this.containerName });
    const started = await this.call("start", () =>
      this.startClient.jobs.beginStartAndWait(resourceGroupName, jobName, {
        template,
        abortSignal: options.abortSignal,
        ...(this.updateIntervalInMs !== undefined && { updateIntervalInMs: this.updateIntervalInMs }),
      }),
    );
    if (!started?.name)
      throw new ArchiveError("JOB_FAILED", `Container Apps job ${jobName}: start answered without an execution name`);
    // The start answer carries no status: the execution exists and the first getExecution tells more.
    return { name: started.name, status: "Running", startTime: new Date().toISOString() };
  }

  async findExecution(
    match: ExecutionEnvMatch,
    options: JobRunnerOperationOptions = {},
  ): Promise<JobExecution | undefined> {
    const { resourceGroupName, jobName } = this.job;
    return this.call("list executions", async () => {
      let scanned = 0;
      let found: JobExecution | undefined;
      for await (const execution of this.client.jobsExecutions.list(resourceGroupName, jobName, {
        abortSignal: options.abortSignal,
      })) {
        if (++scanned > MAX_EXECUTIONS_SCANNED) break;
        if (!execution.name || !executionMatches(execution.template, this.containerName, match)) continue;
        const candidate: JobExecution = {
          name: execution.name,
          status: toJobExecutionStatus(execution.status),
          ...(execution.startTime && { startTime: toIso(execution.startTime) }),
          ...(execution.endTime && { endTime: toIso(execution.endTime) }),
        };
        if (!found || (candidate.startTime ?? "") > (found.startTime ?? "")) found = candidate;
      }
      return found;
    });
  }

  async getExecution(name: string, options: JobRunnerOperationOptions = {}): Promise<JobExecution> {
    assertExecutionName(name);
    const { resourceGroupName, jobName } = this.job;
    const execution = await this.call(`read execution ${name}`, () =>
      this.client.jobExecution(resourceGroupName, jobName, name, { abortSignal: options.abortSignal }),
    );
    return {
      name: execution.name ?? name,
      status: toJobExecutionStatus(execution.status),
      ...(execution.startTime && { startTime: toIso(execution.startTime) }),
      ...(execution.endTime && { endTime: toIso(execution.endTime) }),
    };
  }

  async stopExecution(name: string, options: JobRunnerOperationOptions = {}): Promise<void> {
    assertExecutionName(name);
    const { resourceGroupName, jobName } = this.job;
    await this.call(`stop execution ${name}`, () =>
      this.client.jobs.beginStopExecutionAndWait(resourceGroupName, jobName, name, {
        abortSignal: options.abortSignal,
        ...(this.updateIntervalInMs !== undefined && { updateIntervalInMs: this.updateIntervalInMs }),
      }),
    );
  }

  private async call<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toArchiveError(`Container Apps job ${this.job.jobName}: ${action}`, error);
    }
  }
}

/**
 * The Start API's template: every container and init container of the job as the API can express them (image,
 * name, command, args, env, resources), with the overrides merged into the env of the chosen container. Entries
 * with other names, and every secretRef entry, are kept as they are; an override that would replace a secretRef
 * entry is refused. Probes and volume mounts are not part of JobExecutionContainer (api-version 2025-07-01), so
 * they cannot be sent; the service keeps the job's volumes.
 */
export function buildExecutionTemplate(
  template: JobTemplate | undefined,
  env: Record<string, string>,
  options: { jobName: string; containerName?: string | undefined },
): JobExecutionTemplate {
  const containers = template?.containers ?? [];
  if (!containers.length)
    throw new ArchiveError("CONFIG_INVALID", `Container Apps job ${options.jobName} has no containers in its template`);
  const target =
    options.containerName === undefined ? 0 : containers.findIndex((c) => c.name === options.containerName);
  if (target < 0) {
    throw new ArchiveError(
      "CONFIG_INVALID",
      `JOB_CONTAINER_NAME: Container Apps job ${options.jobName} has no container named ${options.containerName} (it has: ${containers.map((c) => c.name).join(", ")})`,
    );
  }
  const initContainers = template?.initContainers ?? [];
  return {
    containers: containers.map((c, i) => toExecutionContainer(c, i === target ? env : undefined)),
    ...(initContainers.length > 0 && { initContainers: initContainers.map((c) => toExecutionContainer(c, undefined)) }),
  };
}

function toExecutionContainer(
  container: BaseContainer,
  overrides: Record<string, string> | undefined,
): JobExecutionContainer {
  const env = overrides ? mergeEnv(container.name, container.env ?? [], overrides) : container.env?.map(copyEnv);
  return {
    ...(container.image !== undefined && { image: container.image }),
    ...(container.name !== undefined && { name: container.name }),
    ...(container.command !== undefined && { command: [...container.command] }),
    ...(container.args !== undefined && { args: [...container.args] }),
    ...(env !== undefined && { env }),
    ...(container.resources !== undefined && { resources: { ...container.resources } }),
  };
}

function mergeEnv(
  containerName: string | undefined,
  existing: EnvironmentVar[],
  overrides: Record<string, string>,
): EnvironmentVar[] {
  const remaining = new Map(Object.entries(overrides));
  const merged = existing.map((entry) => {
    if (entry.name === undefined || !remaining.has(entry.name)) return copyEnv(entry);
    if (entry.secretRef !== undefined) {
      throw new TypeError(
        `env override ${entry.name} would replace the secretRef entry of container ${containerName}: secrets are never passed as job env overrides`,
      );
    }
    const value = remaining.get(entry.name)!;
    remaining.delete(entry.name);
    return { name: entry.name, value };
  });
  for (const [name, value] of remaining) merged.push({ name, value });
  return merged;
}

function copyEnv(entry: EnvironmentVar): EnvironmentVar {
  return {
    ...(entry.name !== undefined && { name: entry.name }),
    ...(entry.value !== undefined && { value: entry.value }),
    ...(entry.secretRef !== undefined && { secretRef: entry.secretRef }),
  };
}

/** The chosen container's plain env values (secretRef entries have none) offered to `match`. */
function executionMatches(
  template: JobExecutionTemplate | undefined,
  containerName: string | undefined,
  match: ExecutionEnvMatch,
): boolean {
  const containers = template?.containers ?? [];
  const container = containerName === undefined ? containers[0] : containers.find((c) => c.name === containerName);
  const env: Record<string, string> = {};
  for (const entry of container?.env ?? [])
    if (entry.name !== undefined && entry.value !== undefined) env[entry.name] = entry.value;
  return match(env);
}

function assertExecutionName(name: string): void {
  if (typeof name !== "string" || !name || name.includes("/"))
    throw new TypeError(`execution name ${JSON.stringify(name)} is not a Container Apps job execution name`);
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : value;
}

/** The SDK's RestError (from core-rest-pipeline), recognised by shape so no transitive package is imported. */
interface RestErrorLike {
  name: string;
  message: string;
  code?: string;
  statusCode?: number;
}

function isRestErrorLike(error: unknown): error is RestErrorLike {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "RestError";
}

/**
 * One line, no secrets: the ARM status and error code and the first line of its message. The original error is
 * not kept as `cause` because it holds the request (with its Authorization header) and the full response.
 */
function toArchiveError(what: string, error: unknown): Error {
  if (isArchiveError(error) || error instanceof TypeError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "AbortError") return new ArchiveError("ABORTED", `${what}: aborted`);
  if (isRestErrorLike(error)) {
    const status = error.statusCode;
    const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
    const detail = [status !== undefined ? `HTTP ${status}` : undefined, error.code].filter(Boolean).join(" ");
    return new ArchiveError(
      "JOB_FAILED",
      `${what} failed${detail ? ` (${detail})` : ""}: ${firstLine(error.message)}`,
      { retryable, ...(status !== undefined && { statusCode: status }) },
    );
  }
  return new ArchiveError(
    "JOB_FAILED",
    `${what} failed: ${firstLine(error instanceof Error ? error.message : String(error))}`,
  );
}
