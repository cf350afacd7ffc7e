// Orchestration time for --time-scale: virtualNow = t0 + (realNow - t0) / scale, so a timer due in D ms of
// orchestration time fires after D × scale ms of real time, and currentUtcDateTime stays consistent with it.

const MAX_TIMEOUT_MS = 2_147_483_647;

export class ScaledClock {
  /** Where orchestration time and real time meet (a persisting host keeps it across restarts). */
  readonly origin: number;

  constructor(
    readonly scale: number,
    origin = Date.now(),
  ) {
    this.origin = origin;
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new Error(`--time-scale must be a positive number, got ${scale}`);
  }

  /** Orchestration time now, in epoch milliseconds. */
  now(): number {
    return this.origin + (Date.now() - this.origin) / this.scale;
  }

  /** Real milliseconds until orchestration time `at` (0 when already due). */
  realDelayUntil(at: number): number {
    return Math.max(0, (at - this.now()) * this.scale);
  }

  /**
   * Calls `callback` once orchestration time reaches `at` (re-arming if a timer fires early or the delay exceeds
   * setTimeout's range). The returned function cancels it. Timers never keep the process alive.
   */
  schedule(at: number, callback: () => void): () => void {
    let handle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      handle = setTimeout(
        () => {
          if (this.realDelayUntil(at) > 0) arm();
          else {
            handle = undefined;
            callback();
          }
        },
        Math.min(Math.ceil(this.realDelayUntil(at)), MAX_TIMEOUT_MS),
      );
      handle.unref();
    };
    arm();
    return () => {
      if (handle) clearTimeout(handle);
      handle = undefined;
    };
  }
}
