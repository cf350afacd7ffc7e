// The Durable Task side of the host, in memory: instances with their histories, episodes that replay the app's
// orchestrator through durable-functions' own engine (via the programming model), activities in-process with a
// concurrency cap, retries, sub-orchestrations, scaled timers, continue-as-new, and the checks the real runtime
// makes (determinism, the 16 KB custom status limit). Replays of one instance are serialized; instances interleave.
import { randomUUID } from "node:crypto";
import type { FunctionRegistry, RegisteredFunction, RpcTypedData } from "./captureRegistrations.js";
import { HistoryEventType, newEvent, type HistoryEvent, type OrchestratorState } from "./historyEvents.js";
import { errorMessage, jsonToTypedData, typedDataToJson, type FunctionInvoker, type LogFunction } from "./invoke.js";
import {
  LONG_RUNNING_TIMER_INTERVAL,
  MAXIMUM_SHORT_TIMER,
  ReplayMirror,
  topLevelActions,
  type Scheduling,
} from "./replayMirror.js";
import {
  DurableRequestError,
  isTerminal,
  OrchestrationInstance,
  validateInstanceId,
  type ParentLink,
  type RuntimeStatus,
} from "./orchestrationInstance.js";
import type { ScaledClock } from "./scaledClock.js";
import { WorkQueue } from "./workQueue.js";
import type { InstanceStore, StoredInstance } from "./instanceStore.js";

const OUT_OF_PROC_DATA = "\n\n$OutOfProcData$:";
/** The extension's limit: the UTF-16 size of the JSON-serialized custom status must not exceed 16 KB. */
const MAX_CUSTOM_STATUS_BYTES = 16 * 1024;
/** Messages one episode takes from an instance's inbox (the Azure Storage provider's default controlQueueBatchSize). */
const MAX_BATCH_SIZE = 32;

export interface HostStats {
  replays: number;
  orchestratorCpuMs: number;
  maxHistoryEvents: number;
  maxHistoryInstanceId: string | null;
  instances: number;
  activitiesRun: number;
  /** The longest single activity call (wall milliseconds) and its function's name. */
  maxActivityMs: number;
  maxActivityName: string | null;
  nonDeterminismErrors: number;
}

interface ActivityWorkItem {
  instanceId: string;
  executionId: string;
  taskScheduledId: number;
  name: string;
  inputJson: string | undefined;
}

export interface OrchestrationEngineOptions {
  registry: FunctionRegistry;
  invoker: FunctionInvoker;
  clock: ScaledClock;
  log: LogFunction;
  maxConcurrentActivities: number;
  /** Keeps every instance on disk between episodes (--state-dir): a killed host resumes where it was. */
  store?: InstanceStore;
}

interface EpisodeOutcome {
  state?: OrchestratorState;
  failure?: string;
  failureDetails?: string;
}

export interface TriggerPayloadParts {
  /** The history as a JSON array text: the committed events plus this episode's new ones. */
  historyJson: string;
  inputJson: string | undefined;
  instanceId: string;
  /** True when the history holds committed events (an earlier episode ran). */
  isReplaying: boolean;
  parentInstanceId: string | undefined;
}

/** What the extension sends an orchestrator: its trigger payload (DurableOrchestrationBindingInfo) as JSON text. */
export function orchestrationTriggerPayload(p: TriggerPayloadParts): string {
  return (
    `{"history":${p.historyJson},"input":${p.inputJson ?? "null"},"instanceId":${JSON.stringify(p.instanceId)},` +
    `"isReplaying":${p.isReplaying},"parentInstanceId":${p.parentInstanceId === undefined ? "null" : JSON.stringify(p.parentInstanceId)},` +
    `"upperSchemaVersion":1,"upperSchemaVersionNew":2,"maximumShortTimerDuration":"${MAXIMUM_SHORT_TIMER.text}",` +
    `"longRunningTimerIntervalDuration":"${LONG_RUNNING_TIMER_INTERVAL.text}","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`
  );
}

/**
 * An orchestrator's outcome from its invocation: the returned state, or, when it threw, the state the library
 * embeds after `$OutOfProcData$:` and its error (the text before the marker is not the error: it is "false").
 */
export function parseOrchestratorOutcome(
  invocation: { returnValue?: RpcTypedData | null } | { error: unknown },
): EpisodeOutcome {
  if (!("error" in invocation)) return { state: parseTypedJson(invocation.returnValue) as OrchestratorState };
  const { error } = invocation;
  const message = errorMessage(error);
  const details = error instanceof Error ? (error.stack ?? "") : "";
  const at = message.indexOf(OUT_OF_PROC_DATA);
  if (at < 0) return { failure: message, failureDetails: details };
  let state: OrchestratorState | undefined;
  try {
    state = JSON.parse(message.slice(at + OUT_OF_PROC_DATA.length)) as OrchestratorState;
  } catch {
    state = undefined;
  }
  return { state, failure: state?.error ?? message.slice(0, at), failureDetails: details };
}

export class OrchestrationEngine {
  readonly stats: HostStats = {
    replays: 0,
    orchestratorCpuMs: 0,
    maxHistoryEvents: 0,
    maxHistoryInstanceId: null,
    instances: 0,
    activitiesRun: 0,
    maxActivityMs: 0,
    maxActivityName: null,
    nonDeterminismErrors: 0,
  };
  private readonly instances = new Map<string, OrchestrationInstance>();
  private readonly activities: WorkQueue<ActivityWorkItem>;
  private closed = false;

  constructor(private readonly options: OrchestrationEngineOptions) {
    this.activities = new WorkQueue(options.maxConcurrentActivities, (item) => this.runActivity(item));
  }

  // ---- client operations ----

  /** Starts (or restarts a finished) instance of orchestrator `name` with input given as JSON text. */
  startNew(
    name: string,
    instanceId: string | undefined,
    inputJson: string | undefined,
    parent?: ParentLink,
  ): OrchestrationInstance {
    const fn = this.orchestrator(name);
    if (!fn)
      throw new DurableRequestError(
        400,
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    const id = instanceId ?? randomUUID().replace(/-/g, "");
    validateInstanceId(id);
    const existing = this.instances.get(id);
    if (existing && !isTerminal(existing.runtimeStatus)) {
      throw new DurableRequestError(
        409,
        `An orchestration instance with ID '${id}' already exists with status ${existing.runtimeStatus}.`,
      );
    }
    const instance = new OrchestrationInstance(id, fn.name, parent);
    instance.inputJson = inputJson;
    this.instances.set(id, instance);
    this.stats.instances++;
    instance.inbox.push({ event: this.executionStartedEvent(instance), executionId: instance.executionId });
    this.persist(instance);
    this.wake(instance);
    return instance;
  }

  // ---- persistence (--state-dir) ----

  /**
   * Loads the stored instances and schedules again what their histories scheduled and do not show done: activities,
   * timers, children (started if missing, their end reported again if they ended). Call once, before any request.
   */
  restore(): number {
    const store = this.options.store;
    if (!store) return 0;
    const stored = store.loadAll();
    for (const s of stored) {
      const instance = new OrchestrationInstance(s.instanceId, s.name, s.parent);
      Object.assign(instance, {
        runtimeStatus: s.runtimeStatus,
        createdTime: s.createdTime,
        lastUpdatedTime: s.lastUpdatedTime,
        executionId: s.executionId,
        inputJson: s.inputJson,
        outputJson: s.outputJson,
        customStatusJson: s.customStatusJson,
        historyText: s.historyText,
        history: JSON.parse(`[${s.historyText}]`) as HistoryEvent[],
        inbox: s.inbox,
        lastEpisodeTime: s.lastEpisodeTime,
        mirror: ReplayMirror.restore(s.instanceId, s.mirror),
      });
      this.instances.set(instance.instanceId, instance);
      this.stats.instances++;
    }
    for (const instance of this.instances.values()) if (!isTerminal(instance.runtimeStatus)) this.resume(instance);
    return stored.length;
  }

  /** Work the instance's history scheduled and neither its history nor its inbox shows done. */
  private resume(instance: OrchestrationInstance): void {
    const events = [...instance.history, ...instance.inbox.map((i) => i.event)];
    const done = new Set<number>();
    for (const event of events) {
      if (event.TaskScheduledId !== undefined) done.add(event.TaskScheduledId);
      if (event.EventType === HistoryEventType.TimerFired && event.TimerId !== undefined) done.add(event.TimerId);
    }
    for (const event of instance.history) {
      const scheduled =
        event.EventType === HistoryEventType.TaskScheduled ||
        event.EventType === HistoryEventType.TimerCreated ||
        event.EventType === HistoryEventType.SubOrchestrationInstanceCreated;
      if (!scheduled || done.has(event.EventId)) continue;
      const task = instance.mirror.task(event.EventId);
      if (task) this.dispatch(instance, { id: event.EventId, task });
    }
    if (instance.inbox.length > 0) this.wake(instance);
  }

  private persist(instance: OrchestrationInstance, force = false): void {
    // Mid-episode the mirror is ahead of the history: stored at the episode's end instead.
    if (!this.options.store || (instance.busy && !force)) return;
    const stored: StoredInstance = {
      instanceId: instance.instanceId,
      name: instance.name,
      parent: instance.parent,
      runtimeStatus: instance.runtimeStatus,
      createdTime: instance.createdTime,
      lastUpdatedTime: instance.lastUpdatedTime,
      executionId: instance.executionId,
      inputJson: instance.inputJson,
      outputJson: instance.outputJson,
      customStatusJson: instance.customStatusJson,
      historyText: instance.historyText,
      inbox: instance.inbox,
      lastEpisodeTime: instance.lastEpisodeTime,
      mirror: instance.mirror.snapshot(),
    };
    this.options.store.save(stored);
  }

  get(instanceId: string): OrchestrationInstance | undefined {
    return this.instances.get(instanceId);
  }

  /** Instances whose status is in `statuses` (lower case; all when empty), oldest first. */
  list(statuses: ReadonlySet<string>): OrchestrationInstance[] {
    const result = [...this.instances.values()].filter(
      (i) => statuses.size === 0 || statuses.has(i.runtimeStatus.toLowerCase()),
    );
    return result.sort((a, b) => a.createdTime - b.createdTime || (a.instanceId < b.instanceId ? -1 : 1));
  }

  close(): void {
    this.closed = true;
    this.activities.close();
    for (const instance of this.instances.values()) this.cancelTimers(instance);
  }

  // ---- episodes ----

  private wake(instance: OrchestrationInstance): void {
    if (instance.busy || instance.wakeScheduled || this.closed) return;
    instance.wakeScheduled = true;
    setImmediate(() => {
      instance.wakeScheduled = false;
      void this.drive(instance);
    });
  }

  private async drive(instance: OrchestrationInstance): Promise<void> {
    if (instance.busy) return;
    instance.busy = true;
    try {
      while (instance.inbox.length > 0 && !isTerminal(instance.runtimeStatus) && !this.closed) {
        await this.runEpisode(instance);
        if (!this.closed) this.persist(instance, true);
      }
    } catch (error) {
      this.options.log(
        "error",
        "system",
        `orchestration ${instance.instanceId} failed inside the host: ${errorMessage(error)}`,
      );
      if (!isTerminal(instance.runtimeStatus)) this.fail(instance, `functions-host error: ${errorMessage(error)}`, "");
      this.persist(instance, true);
    } finally {
      instance.busy = false;
    }
  }

  private async runEpisode(instance: OrchestrationInstance): Promise<void> {
    const executionId = instance.executionId;
    // At most MAX_BATCH_SIZE messages per episode, in arrival order; messages of an earlier execution are dropped.
    const batch: HistoryEvent[] = [];
    const rest: typeof instance.inbox = [];
    for (const item of instance.inbox) {
      if (item.executionId !== executionId) continue;
      if (batch.length < MAX_BATCH_SIZE) batch.push(item.event);
      else rest.push(item);
    }
    instance.inbox = rest;
    if (batch.length === 0) return;
    const fn = this.orchestrator(instance.name);
    if (!fn)
      return this.fail(
        instance,
        `The function '${instance.name}' doesn't exist, is disabled, or is not an orchestrator function.`,
        "",
      );

    // One consistent time for the episode: never behind an earlier episode nor a timer that fired in it.
    let time = Math.max(Math.floor(this.options.clock.now()), instance.lastEpisodeTime);
    for (const event of batch)
      if (event.EventType === HistoryEventType.TimerFired) time = Math.max(time, Date.parse(String(event.FireAt)));
    instance.lastEpisodeTime = time;
    const timestamp = new Date(time).toISOString();

    // The library takes ids in history order: for an event that fails or re-arms a retry before user code resumes,
    // for new actions when it does. Putting those events first makes their ids precede every new action's, so the
    // host can number both without interleaving.
    const mirror = instance.mirror;
    const allocating = batch.filter((event) => mirror.isAllocating(event, time));
    const others = batch.filter((event) => !allocating.includes(event));
    const newEvents = [newEvent(HistoryEventType.OrchestratorStarted, timestamp), ...allocating, ...others];
    const schedulings: Scheduling[] = allocating.flatMap((event) => mirror.allocate(event, time));

    if (instance.runtimeStatus === "Pending" || instance.runtimeStatus === "ContinuedAsNew")
      instance.runtimeStatus = "Running";
    const newText = newEvents.map((event) => JSON.stringify(event)).join(",");
    const historyJson = `[${instance.historyText}${instance.historyText && newText ? "," : ""}${newText}]`;
    const outcome = await this.invokeOrchestrator(instance, fn, historyJson);
    if (instance.executionId !== executionId || isTerminal(instance.runtimeStatus)) return;
    this.commit(instance, newEvents);
    instance.lastUpdatedTime = Date.now();

    const actions = topLevelActions(outcome.state?.actions);
    const nonDeterminism = outcome.state ? mirror.checkDeterminism(actions) : undefined;
    if (nonDeterminism) {
      this.stats.nonDeterminismErrors++;
      return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${nonDeterminism}`, "");
    }
    const customStatusProblem = outcome.state ? this.setCustomStatus(instance, outcome.state.customStatus) : undefined;
    if (customStatusProblem)
      return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${customStatusProblem}`, "");
    if (outcome.failure !== undefined || !outcome.state) {
      return this.fail(
        instance,
        `Orchestrator function '${instance.name}' failed: ${outcome.failure ?? "no result"}`,
        outcome.failureDetails ?? "",
      );
    }

    let plan;
    try {
      plan = mirror.scheduleNewActions(actions, time);
    } catch (error) {
      return this.fail(instance, `Orchestrator function '${instance.name}' failed: ${errorMessage(error)}`, "");
    }
    if (outcome.state.isDone) {
      if (plan.continueAsNew) return this.continueAsNew(instance, plan.continueAsNew.inputJson);
      const outputJson = outcome.state.output === undefined ? undefined : JSON.stringify(outcome.state.output);
      const completed = newEvent(HistoryEventType.ExecutionCompleted, timestamp, {
        OrchestrationStatus: "Completed",
        Result: outputJson,
      });
      this.finish(instance, "Completed", outputJson, completed);
      this.notifyParent(instance, true, outputJson ?? "null", "");
      return;
    }
    schedulings.push(...plan.schedulings);
    const scheduledEvents = schedulings.map((s) => this.schedulingEvent(s, timestamp));
    this.commit(instance, [...scheduledEvents, newEvent(HistoryEventType.OrchestratorCompleted, timestamp)]);
    for (const scheduling of schedulings) this.dispatch(instance, scheduling);
  }

  /** One orchestrator call through the programming model, with the trigger payload the extension sends. */
  private async invokeOrchestrator(
    instance: OrchestrationInstance,
    fn: RegisteredFunction,
    historyJson: string,
  ): Promise<EpisodeOutcome> {
    const payload = orchestrationTriggerPayload({
      historyJson,
      inputJson: instance.inputJson,
      instanceId: instance.instanceId,
      isReplaying: instance.history.length > 0,
      parentInstanceId: instance.parent?.instanceId,
    });
    this.stats.replays++;
    const cpuStart = process.cpuUsage();
    try {
      return parseOrchestratorOutcome(await this.options.invoker.invoke(fn, { string: payload }));
    } catch (error) {
      return parseOrchestratorOutcome({ error });
    } finally {
      const cpu = process.cpuUsage(cpuStart);
      this.stats.orchestratorCpuMs += (cpu.user + cpu.system) / 1000;
    }
  }

  private setCustomStatus(instance: OrchestrationInstance, customStatus: unknown): string | undefined {
    const json = customStatus === undefined ? undefined : JSON.stringify(customStatus);
    if (json !== undefined && json.length * 2 > MAX_CUSTOM_STATUS_BYTES) {
      return (
        `The UTF-16 size of the JSON-serialized custom status must not exceed 16 KB; ` +
        `the current payload size is ${((json.length * 2) / 1024).toFixed(1)} KB.`
      );
    }
    instance.customStatusJson = json;
    return undefined;
  }

  private schedulingEvent(scheduling: Scheduling, timestamp: string): HistoryEvent {
    const { id, task } = scheduling;
    switch (task.kind) {
      case "activity":
        return newEvent(HistoryEventType.TaskScheduled, timestamp, { Name: task.name, Input: task.inputJson }, id);
      case "subOrchestration":
        return newEvent(
          HistoryEventType.SubOrchestrationInstanceCreated,
          timestamp,
          { Name: task.name, InstanceId: task.instanceId, Input: task.inputJson },
          id,
        );
      case "timer":
        return newEvent(HistoryEventType.TimerCreated, timestamp, { FireAt: new Date(task.fireAt).toISOString() }, id);
    }
  }

  private dispatch(instance: OrchestrationInstance, scheduling: Scheduling): void {
    const { id, task } = scheduling;
    const executionId = instance.executionId;
    switch (task.kind) {
      case "activity":
        this.activities.enqueue({
          instanceId: instance.instanceId,
          executionId,
          taskScheduledId: id,
          name: task.name,
          inputJson: task.inputJson,
        });
        return;
      case "timer": {
        const fireAt = new Date(task.fireAt).toISOString();
        const cancel = this.options.clock.schedule(task.fireAt, () => {
          instance.timers.delete(cancel);
          this.deliver(
            instance,
            executionId,
            newEvent(HistoryEventType.TimerFired, this.timestamp(instance), { TimerId: id, FireAt: fireAt }),
          );
        });
        instance.timers.add(cancel);
        return;
      }
      case "subOrchestration": {
        // After a restart the child may exist already (stored before its parent's episode was): it is this task's.
        const existing = this.instances.get(task.instanceId);
        const link = existing?.parent;
        if (
          existing &&
          link?.instanceId === instance.instanceId &&
          link.executionId === executionId &&
          link.taskScheduledId === id
        ) {
          if (isTerminal(existing.runtimeStatus)) {
            const succeeded = existing.runtimeStatus === "Completed";
            const reason = existing.outputJson === undefined ? "" : (JSON.parse(existing.outputJson) as string);
            this.notifyParent(existing, succeeded, succeeded ? (existing.outputJson ?? "null") : String(reason), "");
          }
          return;
        }
        try {
          this.startNew(task.name, task.instanceId, task.inputJson, {
            instanceId: instance.instanceId,
            executionId,
            name: instance.name,
            taskScheduledId: id,
          });
        } catch (error) {
          const fields = { TaskScheduledId: id, Reason: errorMessage(error), Details: "" };
          this.deliver(
            instance,
            executionId,
            newEvent(HistoryEventType.SubOrchestrationInstanceFailed, this.timestamp(instance), fields),
          );
        }
        return;
      }
    }
  }

  private async runActivity(item: ActivityWorkItem): Promise<void> {
    const instance = this.instances.get(item.instanceId);
    if (!instance || instance.executionId !== item.executionId || isTerminal(instance.runtimeStatus) || this.closed)
      return;
    const fn = this.options.registry.get(item.name);
    let event: HistoryEvent;
    if (!fn || fn.triggerType !== "activitytrigger") {
      const reason = `The function '${item.name}' doesn't exist, is disabled, or is not an activity function.`;
      event = newEvent(HistoryEventType.TaskFailed, "", {
        TaskScheduledId: item.taskScheduledId,
        Reason: reason,
        Details: "",
      });
    } else {
      this.stats.activitiesRun++;
      const started = performance.now();
      try {
        const response = await this.options.invoker.invoke(fn, jsonToTypedData(item.inputJson));
        event = newEvent(HistoryEventType.TaskCompleted, "", {
          TaskScheduledId: item.taskScheduledId,
          Result: typedDataToJson(response.returnValue),
        });
      } catch (error) {
        event = newEvent(HistoryEventType.TaskFailed, "", {
          TaskScheduledId: item.taskScheduledId,
          Reason: `Activity function '${fn.name}' failed: ${errorMessage(error)}`,
          Details: error instanceof Error ? (error.stack ?? "") : "",
        });
      }
      const elapsed = performance.now() - started;
      if (elapsed > this.stats.maxActivityMs) {
        this.stats.maxActivityMs = elapsed;
        this.stats.maxActivityName = fn.name;
      }
    }
    event.Timestamp = this.timestamp(instance);
    this.deliver(instance, item.executionId, event);
  }

  // ---- state changes ----

  private deliver(instance: OrchestrationInstance, executionId: string, event: HistoryEvent): void {
    if (isTerminal(instance.runtimeStatus) || executionId !== instance.executionId) return;
    instance.inbox.push({ event, executionId });
    this.persist(instance);
    this.wake(instance);
  }

  private commit(instance: OrchestrationInstance, events: HistoryEvent[]): void {
    const texts: string[] = [];
    for (const event of events) {
      event.IsPlayed = true;
      instance.history.push(event);
      texts.push(JSON.stringify(event));
    }
    if (texts.length === 0) return;
    instance.historyText = instance.historyText ? `${instance.historyText},${texts.join(",")}` : texts.join(",");
    if (instance.history.length > this.stats.maxHistoryEvents) {
      this.stats.maxHistoryEvents = instance.history.length;
      this.stats.maxHistoryInstanceId = instance.instanceId;
    }
  }

  private finish(
    instance: OrchestrationInstance,
    status: RuntimeStatus,
    outputJson: string | undefined,
    event: HistoryEvent,
  ): void {
    this.commit(instance, [event]);
    instance.runtimeStatus = status;
    instance.outputJson = outputJson;
    instance.lastUpdatedTime = Date.now();
    instance.inbox = [];
    this.cancelTimers(instance);
  }

  private fail(instance: OrchestrationInstance, message: string, details: string): void {
    const timestamp = this.timestamp(instance);
    const completed = newEvent(HistoryEventType.ExecutionCompleted, timestamp, {
      OrchestrationStatus: "Failed",
      Result: message,
    });
    this.finish(instance, "Failed", JSON.stringify(message), completed);
    this.options.log("error", "system", `orchestration ${instance.instanceId} (${instance.name}) failed: ${message}`);
    this.notifyParent(instance, false, message, details);
  }

  private continueAsNew(instance: OrchestrationInstance, inputJson: string | undefined): void {
    this.commit(instance, [
      newEvent(HistoryEventType.ExecutionCompleted, this.timestamp(instance), {
        OrchestrationStatus: "ContinuedAsNew",
      }),
    ]);
    this.cancelTimers(instance);
    instance.executionId = randomUUID().replace(/-/g, "");
    instance.history = [];
    instance.historyText = "";
    instance.mirror = new ReplayMirror(instance.instanceId);
    instance.inputJson = inputJson;
    instance.outputJson = undefined;
    instance.runtimeStatus = "ContinuedAsNew";
    instance.lastUpdatedTime = Date.now();
    // Completions of the old execution do not carry over; the new one starts from its ExecutionStarted.
    instance.inbox = [{ event: this.executionStartedEvent(instance), executionId: instance.executionId }];
  }

  private notifyParent(
    instance: OrchestrationInstance,
    succeeded: boolean,
    resultOrReason: string,
    details: string,
  ): void {
    const link = instance.parent;
    const parent = link && this.instances.get(link.instanceId);
    if (!link || !parent) return;
    const id = link.taskScheduledId;
    const event = succeeded
      ? newEvent(HistoryEventType.SubOrchestrationInstanceCompleted, this.timestamp(parent), {
          TaskScheduledId: id,
          Result: resultOrReason,
        })
      : newEvent(HistoryEventType.SubOrchestrationInstanceFailed, this.timestamp(parent), {
          TaskScheduledId: id,
          Reason: resultOrReason,
          Details: details,
        });
    this.deliver(parent, link.executionId, event);
  }

  private cancelTimers(instance: OrchestrationInstance): void {
    for (const cancel of instance.timers) cancel();
    instance.timers.clear();
  }

  private executionStartedEvent(instance: OrchestrationInstance): HistoryEvent {
    const parent = instance.parent;
    const parentInstance = parent && {
      OrchestrationInstance: { InstanceId: parent.instanceId, ExecutionId: parent.executionId },
      Name: parent.name,
      TaskScheduleId: parent.taskScheduledId,
    };
    return newEvent(HistoryEventType.ExecutionStarted, this.timestamp(instance), {
      Name: instance.name,
      Input: instance.inputJson,
      OrchestrationInstance: { InstanceId: instance.instanceId, ExecutionId: instance.executionId },
      ParentInstance: parentInstance,
    });
  }

  /** Orchestration time for events written outside an episode (never behind the instance's last episode). */
  private timestamp(instance: OrchestrationInstance): string {
    return new Date(Math.max(Math.floor(this.options.clock.now()), instance.lastEpisodeTime)).toISOString();
  }

  private orchestrator(name: string): RegisteredFunction | undefined {
    const fn = this.options.registry.get(name);
    return fn && fn.triggerType === "orchestrationtrigger" ? fn : undefined;
  }
}

function parseTypedJson(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.json !== undefined) return JSON.parse(data.json);
  if (data.string !== undefined) return JSON.parse(data.string);
  return undefined;
}
