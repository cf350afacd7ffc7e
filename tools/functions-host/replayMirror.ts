// Mirrors, per execution, what the extension's orchestration shim tracks: the task sequence ids durable-functions
// assigns (one per scheduled leaf task in yield order, plus the ids it takes by itself for retry timers and retry
// attempts), the actions already recorded (for the determinism check), and how every new action becomes history
// (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated).
import {
  ActionType,
  ActionTypeName,
  HistoryEventType,
  type HistoryEvent,
  type OrchestratorAction,
  type RetryOptionsWire,
} from "./historyEvents.js";

/** What the extension sends as maximumShortTimerDuration / longRunningTimerIntervalDuration. */
export const MAXIMUM_SHORT_TIMER = { text: "6.00:00:00", ms: 6 * 24 * 3600_000 };
export const LONG_RUNNING_TIMER_INTERVAL = { text: "3.00:00:00" };

export interface RetryState {
  options: RetryOptionsWire;
  /** Attempts started so far (the first one included). */
  attempts: number;
  /** The activity every attempt repeats. */
  task: ActivityTask;
}

export interface ActivityTask {
  kind: "activity";
  name: string;
  /** The input as JSON text (undefined when the orchestrator passed none). */
  inputJson: string | undefined;
  retry?: RetryState;
}

export interface SubOrchestrationTask {
  kind: "subOrchestration";
  name: string;
  instanceId: string;
  inputJson: string | undefined;
}

export interface TimerTask {
  kind: "timer";
  /** When this timer fires, epoch ms of orchestration time. */
  fireAt: number;
  /** Set when this is the timer the host writes after a failed retry attempt. */
  retry?: RetryState;
}

export type ScheduledTask = ActivityTask | SubOrchestrationTask | TimerTask;

/** One task the episode scheduled: its sequence id and what to do. */
export interface Scheduling {
  id: number;
  task: ScheduledTask;
}

export interface NewActionsPlan {
  schedulings: Scheduling[];
  /** Present when the orchestrator called continueAsNew: the next execution's input as JSON text. */
  continueAsNew?: { inputJson: string | undefined };
}

export interface RecordedAction {
  signature: string;
  description: string;
}

/** Actions as a flat list of top-level actions, whatever the schema version's nesting. */
export function topLevelActions(actions: OrchestratorAction[][] | undefined): OrchestratorAction[] {
  const result: OrchestratorAction[] = [];
  for (const group of actions ?? []) if (Array.isArray(group)) result.push(...group);
  return result;
}

/** An action's identity for the determinism check (timer cancellation may change between replays; it is ignored). */
export function actionSignature(action: OrchestratorAction): string {
  return JSON.stringify(action, (key, value: unknown) => (key === "isCanceled" ? undefined : value));
}

export function describeAction(action: OrchestratorAction): string {
  const type = ActionTypeName[action.actionType] ?? `action type ${action.actionType}`;
  if (action.compoundActions) return `${type}[${action.compoundActions.map(describeAction).join(", ")}]`;
  if (action.functionName) return `${type} '${action.functionName}'`;
  if (action.fireAt) return `${type} at ${action.fireAt}`;
  return type;
}

/**
 * Orchestrator inputs are encoded unevenly: activity and continue-as-new strings arrive JSON-stringified already.
 * A string that is not JSON was another value that JSON turned into a string (a Date): encode it as a string.
 */
function preEncodedInputJson(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== "string") return JSON.stringify(input);
  try {
    JSON.parse(input);
    return input;
  } catch {
    return JSON.stringify(input);
  }
}

/** Sub-orchestration inputs arrive raw. */
function rawInputJson(input: unknown): string | undefined {
  return input === undefined ? undefined : JSON.stringify(input);
}

/** A mirror as plain JSON (a retry state shared by its tasks is kept once, referred to by index). */
export interface ReplayMirrorSnapshot {
  nextSequenceId: number;
  recorded: RecordedAction[];
  retries: { options: RetryOptionsWire; attempts: number; name: string; inputJson: string | undefined }[];
  tasks: [number, Record<string, unknown>][];
}

export class ReplayMirror {
  private nextSequenceId = 0;
  private readonly recorded: RecordedAction[] = [];
  private readonly tasks = new Map<number, ScheduledTask>();

  constructor(private readonly instanceId: string) {}

  /** What a persisting host stores between episodes (the retry states' sharing is kept). */
  snapshot(): ReplayMirrorSnapshot {
    const retries = new Map<RetryState, number>();
    const refOf = (retry: RetryState) => {
      if (!retries.has(retry)) retries.set(retry, retries.size);
      return retries.get(retry)!;
    };
    const tasks: [number, Record<string, unknown>][] = [...this.tasks].map(([id, task]) => {
      if (task.kind === "subOrchestration") return [id, { ...task }];
      const { retry, ...rest } = task;
      return [id, { ...rest, ...(retry && { retryRef: refOf(retry) }) }];
    });
    return {
      nextSequenceId: this.nextSequenceId,
      recorded: [...this.recorded],
      retries: [...retries.keys()].map((r) => ({
        options: r.options,
        attempts: r.attempts,
        name: r.task.name,
        inputJson: r.task.inputJson,
      })),
      tasks,
    };
  }

  static restore(instanceId: string, snapshot: ReplayMirrorSnapshot): ReplayMirror {
    const mirror = new ReplayMirror(instanceId);
    mirror.nextSequenceId = snapshot.nextSequenceId;
    mirror.recorded.push(...snapshot.recorded);
    const retries = snapshot.retries.map((r) => {
      const state = { options: r.options, attempts: r.attempts } as RetryState;
      state.task = { kind: "activity", name: r.name, inputJson: r.inputJson, retry: state };
      return state;
    });
    for (const [id, stored] of snapshot.tasks) {
      const { retryRef, ...task } = stored as Record<string, unknown> & { retryRef?: number };
      const retry = retryRef === undefined ? undefined : retries[retryRef];
      mirror.tasks.set(id, { ...(task as unknown as ScheduledTask), ...(retry && { retry }) } as ScheduledTask);
    }
    return mirror;
  }

  task(id: number | undefined): ScheduledTask | undefined {
    return id === undefined ? undefined : this.tasks.get(id);
  }

  /**
   * True when processing `event` makes the library take a sequence id before user code can resume: a failed
   * attempt with retry options (it waits on a retry timer), and the retry timer when attempts remain (it starts
   * the next attempt).
   */
  isAllocating(event: HistoryEvent, episodeTime: number): boolean {
    return this.allocationFor(event, episodeTime) !== undefined;
  }

  /** Takes the ids `event` makes the library take (see isAllocating) and returns what the host must schedule. */
  allocate(event: HistoryEvent, episodeTime: number): Scheduling[] {
    const task = this.allocationFor(event, episodeTime);
    if (!task) return [];
    if (task.kind === "activity" && task.retry) task.retry.attempts++;
    const id = this.nextSequenceId++;
    this.tasks.set(id, task);
    return [{ id, task }];
  }

  private allocationFor(event: HistoryEvent, episodeTime: number): ScheduledTask | undefined {
    if (event.EventType === HistoryEventType.TaskFailed) {
      const failed = this.task(event.TaskScheduledId);
      if (failed?.kind !== "activity" || !failed.retry) return undefined;
      return { kind: "timer", fireAt: episodeTime + this.retryDelay(failed.retry), retry: failed.retry };
    }
    if (event.EventType === HistoryEventType.TimerFired) {
      const timer = this.task(event.TimerId);
      if (timer?.kind !== "timer" || !timer.retry || timer.retry.attempts >= timer.retry.options.maxNumberOfAttempts)
        return undefined;
      return { ...timer.retry.task, retry: timer.retry };
    }
    return undefined;
  }

  /**
   * Delay of the timer after failed attempt n: first × backoff^(n-1), capped by maxRetryInterval. After the last
   * attempt the library still waits for a timer before the failure surfaces; that one fires at once.
   */
  private retryDelay(retry: RetryState): number {
    const { options, attempts } = retry;
    if (attempts >= options.maxNumberOfAttempts) return 0;
    const delay = options.firstRetryIntervalInMilliseconds * Math.pow(options.backoffCoefficient ?? 1, attempts - 1);
    return options.maxRetryIntervalInMilliseconds ? Math.min(delay, options.maxRetryIntervalInMilliseconds) : delay;
  }

  /**
   * Compares this replay's actions with the ones recorded by earlier episodes. A replay must re-emit every recorded
   * action, unchanged and in order; otherwise the code is not deterministic. Returns the problem, or undefined.
   */
  checkDeterminism(actions: OrchestratorAction[]): string | undefined {
    for (let i = 0; i < this.recorded.length; i++) {
      const recorded = this.recorded[i];
      const action = actions[i];
      if (!action) {
        return (
          `Non-deterministic workflow detected: a previous execution of this orchestration scheduled ${recorded.description} ` +
          `(action #${i}), but the current replay did not schedule it. Was a change made to the orchestrator code, ` +
          `or does it depend on Date.now(), Math.random(), I/O or other non-deterministic APIs?`
        );
      }
      if (actionSignature(action) !== recorded.signature) {
        return (
          `Non-deterministic workflow detected: a previous execution of this orchestration scheduled ${recorded.description} ` +
          `as action #${i}, but the current replay scheduled ${describeAction(action)}. Orchestrator code must be ` +
          `deterministic: use context.df.currentUtcDateTime and activities instead of Date.now(), Math.random() or I/O.`
        );
      }
    }
    return undefined;
  }

  /** Records the actions past the ones already recorded and turns their leaf tasks into schedulings. */
  scheduleNewActions(actions: OrchestratorAction[], episodeTime: number): NewActionsPlan {
    const plan: NewActionsPlan = { schedulings: [] };
    const fresh = actions.slice(this.recorded.length);
    for (const action of fresh) {
      this.recorded.push({ signature: actionSignature(action), description: describeAction(action) });
      this.visit(action, episodeTime, plan);
    }
    return plan;
  }

  private visit(action: OrchestratorAction, episodeTime: number, plan: NewActionsPlan): void {
    const schedule = (task: ScheduledTask): void => {
      const id = this.nextSequenceId++;
      // A sub-orchestration without an instance id gets one derived from the parent's and the task id.
      if (task.kind === "subOrchestration" && !task.instanceId)
        task.instanceId = `${this.instanceId}:${id.toString(16).toUpperCase().padStart(4, "0")}`;
      this.tasks.set(id, task);
      plan.schedulings.push({ id, task });
    };
    switch (action.actionType) {
      case ActionType.WhenAll:
        for (const child of action.compoundActions ?? []) this.visit(child, episodeTime, plan);
        return;
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        const task: ActivityTask = {
          kind: "activity",
          name: String(action.functionName),
          inputJson: preEncodedInputJson(action.input),
        };
        if (action.actionType === ActionType.CallActivityWithRetry && action.retryOptions)
          task.retry = { options: action.retryOptions, attempts: 1, task };
        schedule(task);
        return;
      }
      case ActionType.CallSubOrchestrator:
        schedule({
          kind: "subOrchestration",
          name: String(action.functionName),
          instanceId: action.instanceId ?? "",
          inputJson: rawInputJson(action.input),
        });
        return;
      case ActionType.CreateTimer: {
        const fireAt = Date.parse(String(action.fireAt));
        if (Number.isNaN(fireAt))
          throw new Error(`CreateTimer action with an invalid fireAt: ${String(action.fireAt)}`);
        if (fireAt - episodeTime > MAXIMUM_SHORT_TIMER.ms) {
          throw new Error(
            `createTimer(${String(action.fireAt)}) is more than ${MAXIMUM_SHORT_TIMER.text} (maximumShortTimerDuration) away; ` +
              `functions-host does not emulate the long timers durable-functions splits such timers into.`,
          );
        }
        schedule({ kind: "timer", fireAt });
        return;
      }
      case ActionType.ContinueAsNew:
        plan.continueAsNew = { inputJson: preEncodedInputJson(action.input) };
        return;
      default:
        throw new Error(
          `The orchestrator used ${ActionTypeName[action.actionType] ?? `action type ${action.actionType}`}, which functions-host does not support ` +
            `(it runs callActivity, callActivityWithRetry, callSubOrchestrator, createTimer, Task.all and continueAsNew).`,
        );
    }
  }
}
