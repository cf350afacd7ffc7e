// Non-HTTP functions fired by the host itself: the admin API's "run now" (POST /admin/functions/{name}), and,
// with --enable-timers, timer triggers on their NCRONTAB schedule (checked once a second, UTC) or interval.
import type { RegisteredFunction, RpcTypedData } from "./captureRegistrations.js";
import { parseSchedule, resolveAppSettings, type TimerSchedule } from "./cron.js";
import { errorMessage, type FunctionInvoker, type LogFunction } from "./invoke.js";

/** Triggers the admin API refuses: they are driven by the Durable runtime or by HTTP, not run on demand. */
const NOT_ADMIN_INVOCABLE = new Set(["httptrigger", "orchestrationtrigger", "activitytrigger", "entitytrigger"]);

export function isAdminInvocable(fn: RegisteredFunction): boolean {
  return !NOT_ADMIN_INVOCABLE.has(fn.triggerType);
}

/** The trigger input for a function run on demand: a TimerInfo for timers, else the body's "input" string. */
export function adminTriggerData(fn: RegisteredFunction, input: string | undefined, isPastDue = false): RpcTypedData | undefined {
  if (fn.triggerType === "timertrigger") {
    return { json: JSON.stringify({ Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: isPastDue }) };
  }
  return input === undefined ? undefined : { string: input };
}

export class TimerTriggerScheduler {
  private readonly schedules: { fn: RegisteredFunction; schedule: TimerSchedule }[] = [];
  private readonly handles = new Set<NodeJS.Timeout>();
  private lastTickSecond = 0;
  private stopped = false;

  constructor(
    private readonly invoker: FunctionInvoker,
    private readonly log: LogFunction,
  ) {}

  /** Fires `fn` now, in the background; failures are logged like the host logs a failed invocation. */
  fire(fn: RegisteredFunction, triggerData: RpcTypedData | undefined): void {
    void this.invoker.invoke(fn, triggerData).catch((error: unknown) => {
      this.log("error", "system", `Executed '${fn.name}' (Failed): ${errorMessage(error)}`, fn.name);
    });
  }

  /** Starts every timer trigger's schedule (and runOnStartup ones at once). Throws on an invalid schedule. */
  start(functions: RegisteredFunction[]): void {
    for (const fn of functions) {
      const expression = resolveAppSettings(String(fn.trigger.schedule ?? ""));
      const schedule = parseSchedule(expression);
      this.schedules.push({ fn, schedule });
      if (fn.trigger.runOnStartup === true) this.fire(fn, adminTriggerData(fn, undefined));
      if (schedule.kind === "interval") {
        const handle = setInterval(() => this.fire(fn, adminTriggerData(fn, undefined)), schedule.intervalMs);
        handle.unref();
        this.handles.add(handle);
      }
    }
    if (this.schedules.some((s) => s.schedule.kind === "cron")) this.tick();
  }

  stop(): void {
    this.stopped = true;
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.lastTickSecond) {
      this.lastTickSecond = second;
      const date = new Date(second * 1000);
      for (const { fn, schedule } of this.schedules) {
        if (schedule.kind === "cron" && schedule.isDue(date)) this.fire(fn, adminTriggerData(fn, undefined));
      }
    }
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      this.tick();
    }, 1000 - (now % 1000) + 5);
    handle.unref();
    this.handles.add(handle);
  }
}
