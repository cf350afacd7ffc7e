// The Durable Functions HTTP API, in the shape durable-functions' DurableClient calls it over rpcBaseUrl
// (orchestrators/{name}[/{id}], instances[/{id}]) and as the webhook URLs createCheckStatusResponse hands out
// (/runtime/webhooks/durabletask/...): start, status (with history) and listing by status. The other
// management operations (terminate, raise event, purge, rewind, suspend, resume, restart) answer 501.
import type { HistoryEvent } from "./historyEvents.js";
import { HistoryEventType, HistoryEventTypeName } from "./historyEvents.js";
import type { OrchestrationEngine } from "./orchestrationEngine.js";
import { DurableRequestError, isTerminal, type OrchestrationInstance } from "./orchestrationInstance.js";

export const WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/";
export const RPC_PREFIX = "/durabletask/";
const INSTANCE_ID_PLACEHOLDER = "INSTANCEID";
/** Listing filters the extension has and this host does not: refused rather than ignored. */
const UNSUPPORTED_LIST_PARAMETERS = ["createdTimeFrom", "createdTimeTo", "instanceIdPrefix", "top"];

export interface ApiRequest {
  method: string;
  /** The path after the API prefix, still percent-encoded, without a leading slash. */
  path: string;
  query: URLSearchParams;
  body: Buffer;
  /** The full URL the caller used (for Location headers). */
  url: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface DurableEndpoints {
  /** The public origin, e.g. http://127.0.0.1:7071. */
  origin: string;
  /** The local RPC origin the client binding's rpcBaseUrl points at. */
  rpcOrigin: string;
  taskHubName: string;
  /** The key the webhook URLs carry (the extension's system key). */
  key: string;
}

export interface HttpManagementPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  rewindPostUri: string;
  purgeHistoryDeleteUri: string;
  restartPostUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

export class DurableHttpApi {
  constructor(
    private readonly engine: OrchestrationEngine,
    private readonly endpoints: DurableEndpoints,
  ) {}

  /** The webhook URLs for one instance (or for the INSTANCEID placeholder, in client binding data), as the extension forms them. */
  managementPayload(instanceId: string): HttpManagementPayload {
    const base = `${this.endpoints.origin}${WEBHOOK_PREFIX}instances/${instanceId}`;
    const qs = `taskHub=${encodeURIComponent(this.endpoints.taskHubName)}&connection=Storage&code=${encodeURIComponent(this.endpoints.key)}`;
    return {
      id: instanceId,
      statusQueryGetUri: `${base}?${qs}`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?${qs}`,
      terminatePostUri: `${base}/terminate?reason={text}&${qs}`,
      rewindPostUri: `${base}/rewind?reason={text}&${qs}`,
      purgeHistoryDeleteUri: `${base}?${qs}`,
      restartPostUri: `${base}/restart?${qs}`,
      suspendPostUri: `${base}/suspend?reason={text}&${qs}`,
      resumePostUri: `${base}/resume?reason={text}&${qs}`,
    };
  }

  /** What the extension passes for a durableClient input binding (OrchestrationClientInputData). */
  clientBindingData(): Record<string, unknown> {
    const webhookBase = `${this.endpoints.origin}${WEBHOOK_PREFIX.slice(0, -1)}`;
    const code = `code=${encodeURIComponent(this.endpoints.key)}`;
    const wait = "timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}";
    return {
      taskHubName: this.endpoints.taskHubName,
      creationUrls: {
        createNewInstancePostUri: `${webhookBase}/orchestrators/{functionName}[/{instanceId}]?${code}`,
        waitOnNewInstancePostUri: `${webhookBase}/orchestrators/{functionName}[/{instanceId}]?${wait}&${code}`,
      },
      managementUrls: this.managementPayload(INSTANCE_ID_PLACEHOLDER),
      baseUrl: webhookBase,
      requiredQueryStringParameters: code,
      rpcBaseUrl: `${this.endpoints.rpcOrigin}${RPC_PREFIX}`,
      httpBaseUrl: webhookBase,
      maxGrpcMessageSizeInBytes: 0,
      grpcHttpClientTimeout: "00:01:40",
    };
  }

  handle(request: ApiRequest): ApiResponse {
    try {
      return this.route(request);
    } catch (error) {
      if (error instanceof DurableRequestError) return text(error.statusCode, error.message);
      throw error;
    }
  }

  private route(request: ApiRequest): ApiResponse {
    const segments = request.path.split("/").map((s) => decodeURIComponent(s));
    if (segments.at(-1) === "") segments.pop();
    const method = request.method.toUpperCase();
    const [collection, id, operation] = segments;
    if (collection === "orchestrators" && method === "POST" && id && segments.length <= 3)
      return this.startNew(id, segments[2], request);
    if (collection === "instances" && !id && method === "GET") return this.list(request.query);
    if (collection === "instances" && id && !operation && method === "GET") return this.status(id, request);
    if (collection === "instances" && (operation || method === "DELETE")) {
      return text(501, `The ${operation ?? "purge"} operation is not supported by functions-host.`);
    }
    if (collection === "entities") return text(501, "Durable entities are not supported by functions-host.");
    return text(404, `No Durable Functions API at ${method} ${request.path}`);
  }

  private startNew(functionName: string, instanceId: string | undefined, request: ApiRequest): ApiResponse {
    const body = request.body.toString("utf8");
    let inputJson: string | undefined;
    if (body.trim() !== "") {
      try {
        JSON.parse(body);
        inputJson = body;
      } catch {
        return text(400, "The request body is not valid JSON.");
      }
    }
    const instance = this.engine.startNew(functionName, instanceId || undefined, inputJson);
    const payload = this.managementPayload(instance.instanceId);
    return json(202, payload, { Location: payload.statusQueryGetUri, "Retry-After": "10" });
  }

  private status(instanceId: string, request: ApiRequest): ApiResponse {
    const instance = this.engine.get(instanceId);
    if (!instance) return { status: 404 };
    const q = request.query;
    const body = renderStatus(instance, {
      showInput: flag(q, "showInput", true),
      showHistory: flag(q, "showHistory", false),
      showHistoryOutput: flag(q, "showHistoryOutput", false),
    });
    if (isTerminal(instance.runtimeStatus)) return json(200, body);
    return json(202, body, { Location: request.url, "Retry-After": "10" });
  }

  private list(q: URLSearchParams): ApiResponse {
    const unsupported = UNSUPPORTED_LIST_PARAMETERS.filter((name) => q.has(name));
    if (unsupported.length > 0)
      return text(501, `Listing instances by ${unsupported.join(", ")} is not supported by functions-host.`);
    const statuses = new Set(
      (q.get("runtimeStatus") ?? "")
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    );
    const showInput = flag(q, "showInput", false);
    return json(
      200,
      this.engine
        .list(statuses)
        .map((instance) => renderStatus(instance, { showInput, showHistory: false, showHistoryOutput: false })),
    );
  }
}

interface RenderOptions {
  showInput: boolean;
  showHistory: boolean;
  showHistoryOutput: boolean;
}

/** DurableOrchestrationStatus as the extension returns it (input and output always present, null when empty). */
export function renderStatus(instance: OrchestrationInstance, options: RenderOptions): Record<string, unknown> {
  const status: Record<string, unknown> = {
    name: instance.name,
    instanceId: instance.instanceId,
    runtimeStatus: instance.runtimeStatus,
    input: options.showInput ? parseOrNull(instance.inputJson) : null,
    customStatus: parseOrNull(instance.customStatusJson),
    output: isTerminal(instance.runtimeStatus) ? parseOrNull(instance.outputJson) : null,
    createdTime: isoSeconds(instance.createdTime),
    lastUpdatedTime: isoSeconds(instance.lastUpdatedTime),
  };
  if (options.showHistory) status.historyEvents = renderHistory(instance.history, options.showHistoryOutput);
  return status;
}

/** A readable history, like the extension's: no OrchestratorStarted/Completed, completions named after their task. */
function renderHistory(history: HistoryEvent[], showOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const rendered: Record<string, unknown>[] = [];
  for (const event of history) {
    switch (event.EventType) {
      case HistoryEventType.OrchestratorStarted:
      case HistoryEventType.OrchestratorCompleted:
        continue;
      case HistoryEventType.TaskScheduled:
      case HistoryEventType.SubOrchestrationInstanceCreated:
        scheduled.set(event.EventId, event);
        continue;
    }
    const entry: Record<string, unknown> = {
      EventType: HistoryEventTypeName[event.EventType] ?? event.EventType,
      EventId: event.EventId,
    };
    const origin = event.TaskScheduledId !== undefined ? scheduled.get(event.TaskScheduledId) : undefined;
    if (event.EventType === HistoryEventType.ExecutionStarted) entry.FunctionName = event.Name;
    if (origin) {
      entry.FunctionName = origin.Name;
      entry.ScheduledTime = origin.Timestamp;
      if (origin.InstanceId) entry.InstanceId = origin.InstanceId;
    }
    if (event.FireAt) entry.FireAt = event.FireAt;
    if (event.OrchestrationStatus) entry.OrchestrationStatus = event.OrchestrationStatus;
    if (event.Reason !== undefined) entry.Reason = event.Reason;
    if (showOutput) {
      if (event.Result !== undefined) entry.Result = parseOrRaw(event.Result);
      if (event.Input !== undefined && event.EventType !== HistoryEventType.ExecutionStarted)
        entry.Input = parseOrRaw(event.Input);
      if (event.Details) entry.Details = event.Details;
    }
    entry.Timestamp = event.Timestamp;
    rendered.push(entry);
  }
  return rendered;
}

function flag(q: URLSearchParams, name: string, defaultValue: boolean): boolean {
  const value = q.get(name);
  return value === null ? defaultValue : value.toLowerCase() === "true";
}

function parseOrNull(json: string | undefined): unknown {
  return json === undefined ? null : JSON.parse(json);
}

function parseOrRaw(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

function text(status: number, message: string): ApiResponse {
  return { status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: message };
}
