// The Durable Task wire shapes this host writes (history events) and reads (orchestrator actions), named as
// durable-functions reads and writes them, so the library's own replay engine sees what the extension sends.
// test/tools/functions-host/functionsHostContract.test.ts pins them against the library versions named in CHECKED_AGAINST.

/** The library versions this host's wire contract was checked against (README: "Version bumps"). */
export const CHECKED_AGAINST = { "durable-functions": "3.5.0", "@azure/functions": "4.16.5" } as const;

/** History event types (DurableTask.Core EventType) this host writes. */
export const HistoryEventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
} as const;

export const HistoryEventTypeName: Record<number, string> = Object.fromEntries(
  Object.entries(HistoryEventType).map(([name, value]) => [value, name]),
);

/** One history event; fields beyond the common four depend on the type (Name, Input, Result, TaskScheduledId, …). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string;
  Result?: string;
  Reason?: string;
  Details?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  OrchestrationStatus?: string;
  OrchestrationInstance?: { InstanceId: string; ExecutionId: string };
  ParentInstance?: {
    OrchestrationInstance: { InstanceId: string; ExecutionId: string };
    Name: string;
    TaskScheduleId: number;
  };
}

/** Orchestrator action types (durable-functions ActionType); the host runs 0, 1, 2, 4, 5 and 12, and refuses the rest. */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

export const ActionTypeName: Record<number, string> = Object.fromEntries(
  Object.entries(ActionType).map(([name, value]) => [value, name]),
);

/** Retry options as the library serializes them (RetryOptions). */
export interface RetryOptionsWire {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** One action as it arrives in the orchestrator's returned state (already JSON: dates are strings). */
export interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptionsWire;
  fireAt?: string;
  isCanceled?: boolean;
  compoundActions?: OrchestratorAction[];
}

/** The orchestrator's returned state (OrchestratorState), also embedded after `$OutOfProcData$:` on failure. */
export interface OrchestratorState {
  isDone: boolean;
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

export function newEvent(
  type: number,
  timestamp: string,
  fields: Partial<HistoryEvent> = {},
  eventId = -1,
): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp, ...fields };
}
