// One orchestration instance as the host stores it (status, input/output, history, pending messages, timers),
// plus the runtime statuses, list filters and instance-id rules the Durable HTTP API exposes.
import { randomUUID } from "node:crypto";
import type { HistoryEvent } from "./historyEvents.js";
import { ReplayMirror } from "./replayMirror.js";

export type RuntimeStatus = "Pending" | "Running" | "Completed" | "ContinuedAsNew" | "Failed" | "Terminated";

const TERMINAL_STATUSES: ReadonlySet<RuntimeStatus> = new Set(["Completed", "Failed", "Terminated"]);
const MAX_INSTANCE_ID_LENGTH = 100;

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** An error the HTTP API turns into a status code. */
export class DurableRequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ParentLink {
  instanceId: string;
  executionId: string;
  name: string;
  taskScheduledId: number;
}

export interface InboxItem {
  event: HistoryEvent;
  /** Completions belong to one execution; external events (undefined) to the instance. */
  executionId?: string;
}

export class OrchestrationInstance {
  runtimeStatus: RuntimeStatus = "Pending";
  readonly createdTime = Date.now();
  lastUpdatedTime = Date.now();
  executionId = randomUUID().replace(/-/g, "");
  inputJson: string | undefined;
  outputJson: string | undefined;
  customStatusJson: string | undefined;
  history: HistoryEvent[] = [];
  /** The committed history as comma-joined JSON, so a replay's payload is built without re-serializing it. */
  historyText = "";
  inbox: InboxItem[] = [];
  mirror: ReplayMirror;
  readonly timers = new Set<() => void>();
  busy = false;
  wakeScheduled = false;
  deleted = false;
  lastEpisodeTime = 0;

  constructor(
    readonly instanceId: string,
    readonly name: string,
    readonly parent: ParentLink | undefined,
  ) {
    this.mirror = new ReplayMirror(instanceId);
  }
}

export interface InstanceFilter {
  runtimeStatus?: ReadonlySet<string>;
  createdTimeFrom?: number;
  createdTimeTo?: number;
  instanceIdPrefix?: string;
}

export function matches(instance: OrchestrationInstance, filter: InstanceFilter): boolean {
  if (filter.runtimeStatus && filter.runtimeStatus.size > 0 && !filter.runtimeStatus.has(instance.runtimeStatus.toLowerCase())) return false;
  if (filter.createdTimeFrom !== undefined && instance.createdTime < filter.createdTimeFrom) return false;
  if (filter.createdTimeTo !== undefined && instance.createdTime > filter.createdTimeTo) return false;
  if (filter.instanceIdPrefix && !instance.instanceId.startsWith(filter.instanceIdPrefix)) return false;
  return true;
}

export function validateInstanceId(id: string): void {
  if (id.length === 0 || id.length > MAX_INSTANCE_ID_LENGTH) {
    throw new DurableRequestError(400, `Instance ID must be between 1 and ${MAX_INSTANCE_ID_LENGTH} characters long.`);
  }
  if (/[/\\#?]/.test(id) || /\p{Cc}/u.test(id)) {
    throw new DurableRequestError(400, `Instance ID '${id}' contains invalid characters ('/', '\\', '#', '?' or control characters).`);
  }
}

