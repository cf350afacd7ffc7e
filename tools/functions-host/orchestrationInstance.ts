// One orchestration instance as the host stores it (status, input/output, history, pending messages, timers),
// plus the runtime statuses and instance-id rules the Durable HTTP API exposes.
import { randomUUID } from "node:crypto";
import type { HistoryEvent } from "./historyEvents.js";
import { ReplayMirror } from "./replayMirror.js";

/** The statuses this host produces (it has no terminate, suspend or rewind, so no Terminated or Suspended). */
export type RuntimeStatus = "Pending" | "Running" | "Completed" | "ContinuedAsNew" | "Failed";

const MAX_INSTANCE_ID_LENGTH = 100;

export function isTerminal(status: RuntimeStatus): boolean {
  return status === "Completed" || status === "Failed";
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

/** A message for the instance: a completion (or the start) of one execution. */
export interface InboxItem {
  event: HistoryEvent;
  executionId: string;
}

export class OrchestrationInstance {
  runtimeStatus: RuntimeStatus = "Pending";
  createdTime = Date.now();
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
  lastEpisodeTime = 0;

  constructor(
    readonly instanceId: string,
    readonly name: string,
    readonly parent: ParentLink | undefined,
  ) {
    this.mirror = new ReplayMirror(instanceId);
  }
}

export function validateInstanceId(id: string): void {
  if (id.length === 0 || id.length > MAX_INSTANCE_ID_LENGTH) {
    throw new DurableRequestError(400, `Instance ID must be between 1 and ${MAX_INSTANCE_ID_LENGTH} characters long.`);
  }
  if (/[/\\#?]/.test(id) || /\p{Cc}/u.test(id)) {
    throw new DurableRequestError(
      400,
      `Instance ID '${id}' contains invalid characters ('/', '\\', '#', '?' or control characters).`,
    );
  }
}
