// How a kind of run counts its images, as data: which total each outcome status adds one to, and which statuses'
// bytes count. The engine (the batch orchestration, the run orchestrations, the status endpoint, the summaries)
// counts every kind of run with the three functions below; a kind only describes its totals. Pure.
import type { ImageOutcome, ImageStatus } from "./workItem.js";

/** A kind's totals: counts by name, `total` and `failed` always among them. */
export type Totals<T> = { [K in keyof T]: number } & { total: number; failed: number };

export interface OutcomeCounting<T extends Totals<T>> {
  /** Every key of the totals. */
  keys: readonly (keyof T)[];
  /** The total an outcome of this status adds one to (besides `total`); a status not named adds to `total` only. */
  byStatus: Partial<Record<ImageStatus, keyof T>>;
  /** The total that adds up the bytes of outcomes of these statuses. */
  bytes: { key: keyof T; statuses: readonly ImageStatus[] };
  /** The total an outcome carrying this flag (`verified: true`) adds one to, whatever its status. */
  byFlag?: Partial<Record<OutcomeFlag, keyof T>>;
}

/** Flags an outcome may carry besides its status. */
export type OutcomeFlag = "verified";

export function emptyTotals<T extends Totals<T>>(counting: OutcomeCounting<T>): T {
  return Object.fromEntries(counting.keys.map((key) => [key, 0])) as T;
}

export function addOutcome<T extends Totals<T>>(counting: OutcomeCounting<T>, totals: T, outcome: ImageOutcome): T {
  const next = { ...totals, total: totals.total + 1 };
  const key = counting.byStatus[outcome.status];
  if (key !== undefined) next[key] = (next[key] + 1) as T[keyof T];
  for (const [flag, flagKey] of Object.entries(counting.byFlag ?? {}) as [OutcomeFlag, keyof T][])
    if (outcome[flag] === true) next[flagKey] = (next[flagKey] + 1) as T[keyof T];
  if (counting.bytes.statuses.includes(outcome.status))
    next[counting.bytes.key] = (next[counting.bytes.key] + (outcome.bytes ?? 0)) as T[keyof T];
  return next;
}

export function addTotals<T extends Totals<T>>(counting: OutcomeCounting<T>, a: T, b: T): T {
  return Object.fromEntries(counting.keys.map((key) => [key, a[key] + b[key]])) as T;
}
