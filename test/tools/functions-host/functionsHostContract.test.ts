// The replay contract tools/functions-host mirrors, checked in-process against the installed durable-functions and
// @azure/functions: the versions it was checked against, what the orchestrator handler returns for hand-written
// histories (actions, schemaVersion, errors), the task ids the host's ReplayMirror assigns for the same episodes,
// and which trigger-payload and history fields the library depends on. See tools/functions-host/README.md, "Version bumps".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { before, test } from "node:test";
import type { OrchestrationContext as Context } from "durable-functions";
import { FunctionRegistry, installCoreApi } from "../../../tools/functions-host/captureRegistrations.js";
import {
  CHECKED_AGAINST,
  HistoryEventType as E,
  HistoryEventTypeName,
  newEvent,
  type HistoryEvent,
} from "../../../tools/functions-host/historyEvents.js";
import { FunctionInvoker } from "../../../tools/functions-host/invoke.js";
import {
  orchestrationTriggerPayload,
  parseOrchestratorOutcome,
} from "../../../tools/functions-host/orchestrationEngine.js";
import { ReplayMirror, topLevelActions, type Scheduling } from "../../../tools/functions-host/replayMirror.js";

const require = createRequire(import.meta.url);
const registry = new FunctionRegistry();
const invoker = new FunctionInvoker(registry, () => undefined);
const EPOCH = Date.UTC(2024, 0, 1);
const T = (seconds: number): string => new Date(EPOCH + seconds * 1000).toISOString();

interface Outcome {
  state?: unknown;
  failure?: string;
}

before(async () => {
  installCoreApi(registry, () => undefined);
  const df = await import("durable-functions");
  // Every orchestrator API the app uses, in the order the episodes below feed it.
  df.app.orchestration("contract", function* (context: Context) {
    const input = context.df.getInput() as { round: number };
    context.df.setCustomStatus({ round: input.round });
    const retried: unknown = yield context.df.callActivityWithRetry("work", new df.RetryOptions(1000, 2), "text");
    const replayingEarly = context.df.isReplaying;
    const [square, child]: unknown[] = yield context.df.Task.all([
      context.df.callActivity("work", 3),
      context.df.callSubOrchestrator("child", { n: 1 }, "child-1"),
    ]);
    let caught = "";
    try {
      yield context.df.callSubOrchestrator("child", { fail: true }, "child-2");
    } catch (error) {
      caught = (error as Error).message;
    }
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
    if (input.round === 1) {
      context.df.continueAsNew({ round: 2 });
      return undefined;
    }
    const { instanceId, parentInstanceId } = context.df;
    const at = context.df.currentUtcDateTime.toISOString();
    return {
      retried,
      square,
      child,
      caught,
      at,
      replayingEarly,
      replayingLast: context.df.isReplaying,
      instanceId,
      parentInstanceId,
    };
  });
  df.app.orchestration("exhausted", function* (context: Context) {
    return (yield context.df.callActivityWithRetry("work", new df.RetryOptions(1000, 2), 1)) as unknown;
  });
  df.app.orchestration("longTimer", function* (context: Context) {
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 7 * 24 * 3600_000));
  });
});

/** Runs orchestrator `name` once over `history`, through the host's payload builder, invoker and outcome parser. */
async function replay(
  name: string,
  history: HistoryEvent[],
  input: unknown,
  edit?: (payload: Record<string, unknown>) => void,
): Promise<Outcome> {
  let payload = orchestrationTriggerPayload({
    historyJson: JSON.stringify(history),
    inputJson: JSON.stringify(input),
    instanceId: "contract-1",
    isReplaying: history.filter((e) => e.EventType === E.OrchestratorStarted).length > 1,
    parentInstanceId: "parent-1",
  });
  if (edit) {
    const parsed = JSON.parse(payload) as Record<string, unknown>;
    edit(parsed);
    payload = JSON.stringify(parsed);
  }
  const fn = registry.get(name)!;
  try {
    return parseOrchestratorOutcome(await invoker.invoke(fn, { string: payload }));
  } catch (error) {
    return parseOrchestratorOutcome({ error });
  }
}

const started = (s: number) => newEvent(E.OrchestratorStarted, T(s));
const completed = (s: number) => newEvent(E.OrchestratorCompleted, T(s));
const executionStarted = (name: string, input: unknown) =>
  newEvent(E.ExecutionStarted, T(0), {
    Name: name,
    Input: JSON.stringify(input),
    OrchestrationInstance: { InstanceId: "contract-1", ExecutionId: "e1" },
  });
const scheduled = (id: number, s: number) => newEvent(E.TaskScheduled, T(s), { Name: "work" }, id);
const failed = (id: number, s: number, reason: string) =>
  newEvent(E.TaskFailed, T(s), { TaskScheduledId: id, Reason: reason, Details: `at ${reason}` });
const timerCreated = (id: number, s: number, fireAt: number) =>
  newEvent(E.TimerCreated, T(s), { FireAt: T(fireAt) }, id);
const timerFired = (id: number, fireAt: number) =>
  newEvent(E.TimerFired, T(fireAt), { TimerId: id, FireAt: T(fireAt) });
const taskCompleted = (id: number, s: number, result: unknown) =>
  newEvent(E.TaskCompleted, T(s), { TaskScheduledId: id, Result: JSON.stringify(result) });
const subCreated = (id: number, s: number, instanceId: string) =>
  newEvent(E.SubOrchestrationInstanceCreated, T(s), { Name: "child", InstanceId: instanceId }, id);

/**
 * The "contract" orchestration as the host writes its history: one array of new events per episode, with the ids
 * the library takes (0 the first attempt, 1 its retry timer, 2 the second attempt, 3-4 the Task.all, 5 the failing
 * child, 6 the timer). The events before each episode's OrchestratorStarted were committed by the one before.
 */
const EPISODES: HistoryEvent[][] = [
  [started(0), executionStarted("contract", { round: 2 })],
  [scheduled(0, 0), completed(0), started(1), failed(0, 1, "first attempt failed")],
  [timerCreated(1, 1, 2), completed(1), started(2), timerFired(1, 2)],
  [scheduled(2, 2), completed(2), started(3), taskCompleted(2, 3, "done")],
  [
    scheduled(3, 3),
    subCreated(4, 3, "child-1"),
    completed(3),
    started(4),
    newEvent(E.SubOrchestrationInstanceCompleted, T(4), { TaskScheduledId: 4, Result: JSON.stringify({ n: 1 }) }),
    taskCompleted(3, 4, 9),
  ],
  [
    subCreated(5, 4, "child-2"),
    completed(4),
    started(5),
    newEvent(E.SubOrchestrationInstanceFailed, T(5), {
      TaskScheduledId: 5,
      Reason: "child failed",
      Details: "at child",
    }),
  ],
  [timerCreated(6, 5, 65), completed(5), started(65), timerFired(6, 65)],
];

/** The history the library sees in episode n (0-based): what was scheduled before its OrchestratorStarted is committed (played). */
function historyThrough(episodes: HistoryEvent[][], n: number): HistoryEvent[] {
  const current = episodes[n];
  const at = current.findIndex((e) => e.EventType === E.OrchestratorStarted);
  const committed = [...episodes.slice(0, n).flat(), ...current.slice(0, at)].map((e) => ({ ...e, IsPlayed: true }));
  return [...committed, ...current.slice(at)];
}

const RETRY_ACTION = {
  actionType: 1,
  functionName: "work",
  input: '"text"',
  retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2 },
};
const WHEN_ALL_ACTION = {
  actionType: 12,
  compoundActions: [
    { actionType: 0, functionName: "work", input: 3 },
    { actionType: 2, functionName: "child", instanceId: "child-1", input: { n: 1 } },
  ],
};
const CHILD_2_ACTION = { actionType: 2, functionName: "child", instanceId: "child-2", input: { fail: true } };
const TIMER_ACTION = { actionType: 5, fireAt: T(65), isCanceled: false };
const CONTINUE_AS_NEW_ACTION = { actionType: 4, input: { round: 2 } };
const running = (actions: unknown[], customStatus?: unknown) => ({
  isDone: false,
  actions: [actions],
  schemaVersion: 2,
  ...(customStatus ? { customStatus } : {}),
});

test("the installed durable-functions and @azure/functions are the versions the host's wire contract was checked against", () => {
  for (const [name, checked] of Object.entries(CHECKED_AGAINST)) {
    const installed = (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string })
      .version;
    assert.equal(
      installed,
      checked,
      `${name} is ${installed}, but tools/functions-host was checked against ${checked}. Re-check what tools/functions-host/README.md ` +
        `("Version bumps") lists against the new version, fix the host where it differs, then set CHECKED_AGAINST in ` +
        `tools/functions-host/historyEvents.ts to ${installed}.`,
    );
  }
});

test("the orchestrator handler returns these exact states for the contract history, episode by episode", async () => {
  const expected = [
    [RETRY_ACTION],
    [RETRY_ACTION], // a failed attempt with retry options: the library waits for the host's retry timer
    [RETRY_ACTION], // the retry timer fired: the second attempt, still no new action
    [RETRY_ACTION, WHEN_ALL_ACTION],
    [RETRY_ACTION, WHEN_ALL_ACTION, CHILD_2_ACTION],
    [RETRY_ACTION, WHEN_ALL_ACTION, CHILD_2_ACTION, TIMER_ACTION],
  ];
  for (const [n, actions] of expected.entries()) {
    assert.deepEqual(
      await replay("contract", historyThrough(EPISODES, n), { round: 2 }),
      { state: running(actions, { round: 2 }) },
      `episode ${n}`,
    );
  }
  const last = EPISODES.length - 1;
  assert.deepEqual(await replay("contract", historyThrough(EPISODES, last), { round: 2 }), {
    state: {
      isDone: true,
      actions: [[RETRY_ACTION, WHEN_ALL_ACTION, CHILD_2_ACTION, TIMER_ACTION]],
      output: {
        retried: "done",
        square: 9,
        child: { n: 1 },
        caught: "child failed \n at child",
        at: T(65),
        replayingEarly: true,
        replayingLast: false,
        instanceId: "contract-1",
        parentInstanceId: "parent-1",
      },
      customStatus: { round: 2 },
      schemaVersion: 2,
    },
  });
  assert.deepEqual(await replay("contract", historyThrough(EPISODES, last), { round: 1 }), {
    state: {
      isDone: true,
      actions: [[RETRY_ACTION, WHEN_ALL_ACTION, CHILD_2_ACTION, TIMER_ACTION, CONTINUE_AS_NEW_ACTION]],
      customStatus: { round: 1 },
      schemaVersion: 2,
    },
  });
});

test("the host's ReplayMirror assigns the ids the library takes in the contract history", async () => {
  const mirror = new ReplayMirror("contract-1");
  const assigned: string[] = [];
  const note = (schedulings: Scheduling[]) => {
    for (const { id, task } of schedulings)
      assigned.push(`${id}:${task.kind}${task.kind === "timer" ? `@${new Date(task.fireAt).toISOString()}` : ""}`);
  };
  for (let n = 0; n < EPISODES.length; n++) {
    const startedAt = EPISODES[n].find((e) => e.EventType === E.OrchestratorStarted)!;
    const time = Date.parse(startedAt.Timestamp);
    const fresh = EPISODES[n].slice(EPISODES[n].indexOf(startedAt) + 1);
    for (const event of fresh) note(mirror.allocate(event, time));
    const outcome = await replay("contract", historyThrough(EPISODES, n), { round: 1 });
    const state = outcome.state as { actions: never };
    const actions = topLevelActions(state.actions);
    assert.equal(mirror.checkDeterminism(actions), undefined, `episode ${n} replays deterministically`);
    const plan = mirror.scheduleNewActions(actions, time);
    note(plan.schedulings);
    if (plan.continueAsNew) assigned.push(`continueAsNew:${plan.continueAsNew.inputJson}`);
  }
  // The ids the scheduled events in EPISODES carry, and the retry timer's fireAt there (first retry interval 1 s).
  assert.deepEqual(assigned, [
    "0:activity",
    `1:timer@${T(2)}`,
    "2:activity",
    "3:activity",
    "4:subOrchestration",
    "5:subOrchestration",
    `6:timer@${T(65)}`,
    'continueAsNew:{"round":2}',
  ]);
});

test("after the last failed attempt the library waits for one more timer, then fails with Reason and Details", async () => {
  const episodes: HistoryEvent[][] = [
    [started(0), executionStarted("exhausted", null)],
    [scheduled(0, 0), completed(0), started(1), failed(0, 1, "boom 1")],
    [timerCreated(1, 1, 2), completed(1), started(2), timerFired(1, 2)],
    [scheduled(2, 2), completed(2), started(3), failed(2, 3, "boom 2")],
    [timerCreated(3, 3, 3), completed(3), started(3), timerFired(3, 3)],
  ];
  const action = {
    actionType: 1,
    functionName: "work",
    input: 1,
    retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2 },
  };
  for (let n = 0; n < 4; n++)
    assert.deepEqual(
      await replay("exhausted", historyThrough(episodes, n), null),
      { state: running([action]) },
      `episode ${n}`,
    );
  const outcome = await replay("exhausted", historyThrough(episodes, 4), null);
  // The host reads the error from the state embedded after "$OutOfProcData$:"; the text before it is "false".
  assert.equal(outcome.failure, "boom 2 \n at boom 2");
  assert.deepEqual(outcome.state, {
    isDone: false,
    actions: [[action]],
    schemaVersion: 2,
    error: "boom 2 \n at boom 2",
  });
  const mirror = new ReplayMirror("x");
  mirror.scheduleNewActions([action], EPOCH);
  assert.deepEqual(
    episodes
      .slice(1)
      .map((episode, i) =>
        mirror.allocate(episode.at(-1)!, EPOCH + (i + 1) * 1000).map((s) => `${s.id}:${s.task.kind}`),
      ),
    [["1:timer"], ["2:activity"], ["3:timer"], []],
    "a retry timer after every failed attempt, the last one included; none after it",
  );
});

test("a createTimer beyond maximumShortTimerDuration arrives with its final fireAt, which the host refuses", async () => {
  const outcome = await replay("longTimer", [started(0), executionStarted("longTimer", null)], null);
  const timer = { actionType: 5, fireAt: new Date(EPOCH + 7 * 24 * 3600_000).toISOString(), isCanceled: false };
  assert.deepEqual(outcome, { state: running([timer]) });
  assert.throws(
    () => new ReplayMirror("x").scheduleNewActions([timer], EPOCH),
    /more than 6\.00:00:00 \(maximumShortTimerDuration\) away/,
  );
});

// Each field deleted in turn from the payload or one event of the full contract history: the ones whose absence
// changes the outcome are what the library reads. Anything else the host writes is for its own status pages.
test("the library depends on exactly these trigger-payload fields and history-event fields", async () => {
  const history = historyThrough(EPISODES, EPISODES.length - 1);
  const baseline = JSON.stringify(await replay("contract", history, { round: 2 }));
  const payloadFields: string[] = [];
  const emptyPayload = orchestrationTriggerPayload({
    historyJson: "[]",
    inputJson: undefined,
    instanceId: "x",
    isReplaying: false,
    parentInstanceId: "p",
  });
  const payloadKeys = Object.keys(JSON.parse(emptyPayload) as object);
  for (const key of payloadKeys) {
    const outcome = await replay("contract", history, { round: 2 }, (payload) => delete payload[key]);
    if (JSON.stringify(outcome) !== baseline) payloadFields.push(key);
  }
  const eventFields = new Set<string>();
  for (const [i, event] of history.entries()) {
    for (const key of Object.keys(event)) {
      if (key === "EventType") continue;
      const edited = history.map((e, j) =>
        j === i ? Object.fromEntries(Object.entries(e).filter(([k]) => k !== key)) : e,
      ) as HistoryEvent[];
      if (JSON.stringify(await replay("contract", edited, { round: 2 })) !== baseline)
        eventFields.add(`${HistoryEventTypeName[event.EventType]}.${key}`);
    }
  }
  assert.deepEqual(payloadFields, [
    "history",
    "input",
    "instanceId",
    "isReplaying",
    "parentInstanceId",
    "upperSchemaVersion",
    "upperSchemaVersionNew",
    "maximumShortTimerDuration",
    "longRunningTimerIntervalDuration",
  ]);
  assert.deepEqual([...eventFields].sort(), [
    "OrchestratorStarted.Timestamp",
    "SubOrchestrationInstanceCompleted.Result",
    "SubOrchestrationInstanceCompleted.TaskScheduledId",
    "SubOrchestrationInstanceFailed.Details",
    "SubOrchestrationInstanceFailed.Reason",
    "SubOrchestrationInstanceFailed.TaskScheduledId",
    "TaskCompleted.Result",
    "TaskCompleted.TaskScheduledId",
    "TaskFailed.Details",
    "TaskFailed.Reason",
    "TaskFailed.TaskScheduledId",
    "TimerFired.IsPlayed", // of the event that resumes the code last: it sets context.df.isReplaying
    "TimerFired.TimerId",
  ]);
});
