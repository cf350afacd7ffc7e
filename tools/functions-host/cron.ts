// Timer trigger schedules: six-field NCRONTAB ("{second} {minute} {hour} {day} {month} {day-of-week}", UTC) with
// numbers, names, `*`, ranges, steps and lists, or a TimeSpan ("hh:mm:ss") interval; `%SETTING%` resolves from env.

export type TimerSchedule = { kind: "cron"; isDue(date: Date): boolean } | { kind: "interval"; intervalMs: number };

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
  nameOffset?: number;
}

const FIELDS: FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, nameOffset: 1 },
  { min: 0, max: 7, names: DAYS, nameOffset: 0 },
];

/** Replaces `%NAME%` with the app setting (environment variable) NAME, as the host does for binding expressions. */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = env[name];
    if (setting === undefined) throw new Error(`app setting ${name} (used as %${name}%) is not set`);
    return setting;
  });
}

export function parseSchedule(expression: string): TimerSchedule {
  const trimmed = expression.trim();
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(trimmed);
  if (span) {
    const [, days, hours, minutes, seconds] = span.map((v) => Number(v ?? 0));
    const intervalMs = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
    if (intervalMs <= 0) throw new Error(`timer schedule "${expression}" is a zero interval`);
    return { kind: "interval", intervalMs };
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 6) throw new Error(`timer schedule "${expression}" must have six fields (second minute hour day month day-of-week)`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i], expression));
  const [seconds, minutes, hours, days, months, weekdays] = sets;
  if (weekdays.has(7)) weekdays.add(0);
  const dayRestricted = parts[3] !== "*" && parts[3] !== "?";
  const weekdayRestricted = parts[5] !== "*" && parts[5] !== "?";
  return {
    kind: "cron",
    isDue(date: Date): boolean {
      if (!seconds.has(date.getUTCSeconds()) || !minutes.has(date.getUTCMinutes()) || !hours.has(date.getUTCHours())) return false;
      if (!months.has(date.getUTCMonth() + 1)) return false;
      const dayMatch = days.has(date.getUTCDate());
      const weekdayMatch = weekdays.has(date.getUTCDay());
      if (dayRestricted && weekdayRestricted) return dayMatch || weekdayMatch;
      return dayMatch && weekdayMatch;
    },
  };
}

function parseField(field: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  const fail = (): never => {
    throw new Error(`timer schedule "${expression}" has an invalid field "${field}"`);
  };
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.slice(0, 3).toLowerCase()) ?? -1;
    const n = named >= 0 && /^[A-Za-z]+$/.test(token) ? named + (spec.nameOffset ?? 0) : /^\d+$/.test(token) ? Number(token) : fail();
    if (n < spec.min || n > spec.max) fail();
    return n;
  };
  for (const item of field.split(",")) {
    const [range, stepText] = item.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail();
    let from: number;
    let to: number;
    if (range === "*" || range === "?") {
      from = spec.min;
      to = spec.max;
    } else if (range.includes("-")) {
      const [a, b] = range.split("-");
      from = value(a);
      to = value(b);
      if (to < from) fail();
    } else {
      from = value(range);
      to = stepText === undefined ? from : spec.max;
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}
