// ISO 8601 durations for settings (PURGE_GRACE): `P14D`, `PT20S`, `P1W`, `P1DT12H`. Read by one pass over the text (no
// regular expression, no backtracking), in fixed units only: weeks, days, hours, minutes, seconds, whole numbers. Years
// and months have no fixed length (a month is 28 to 31 days) and are refused rather than guessed.

export interface ParseIsoDurationOptions {
  /** The longest duration accepted, in seconds. */
  maxSeconds: number;
}

// A setting's duration is a few characters; anything longer is not one.
const MAX_LENGTH = 64;
// Each number at most this many digits: 10^12 s is past any bound and far inside Number's exact integers.
const MAX_DIGITS = 12;

const DATE_UNITS: Record<string, number> = { W: 7 * 86_400, D: 86_400 };
const TIME_UNITS: Record<string, number> = { H: 3_600, M: 60, S: 1 };

/**
 * The duration in whole seconds, or the reason the text is not one this tool reads (a sentence for an error message).
 * Units come in ISO's order (W, D, then after `T` H, M, S), each at most once; `T` needs a unit after it.
 */
export function parseIsoDuration(
  text: string,
  options: ParseIsoDurationOptions,
): { seconds: number } | { problem: string } {
  const problem = (why: string) => ({ problem: `"${text.slice(0, MAX_LENGTH)}" is not an ISO 8601 duration: ${why}` });
  if (text.length > MAX_LENGTH) return problem(`longer than ${MAX_LENGTH} characters`);
  if (text[0] !== "P") return problem("it must start with P (P14D, PT20S)");
  let seconds = 0;
  let units = 0;
  let inTime = false;
  let lastRank = -1;
  let digits = "";
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c >= "0" && c <= "9") {
      if (digits.length >= MAX_DIGITS) return problem(`a number longer than ${MAX_DIGITS} digits`);
      digits += c;
      continue;
    }
    if (c === "T") {
      if (inTime || digits) return problem("T must come once, between the date and the time units");
      inTime = true;
      lastRank = 1;
      continue;
    }
    if (c === "Y" || (c === "M" && !inTime))
      return problem("years and months have no fixed length: use weeks or days (P30D)");
    if (c === "." || c === ",") return problem("fractions are not read: use a smaller unit (PT90M)");
    const table = inTime ? TIME_UNITS : DATE_UNITS;
    const unit = table[c];
    if (unit === undefined) return problem(`"${c}" is not a unit (W, D, then T and H, M, S)`);
    if (!digits) return problem(`${c} needs a number before it`);
    const rank = (inTime ? 2 : 0) + Object.keys(table).indexOf(c) / 10;
    if (rank <= lastRank) return problem(`${c} out of order or repeated`);
    lastRank = rank;
    seconds += Number(digits) * unit;
    digits = "";
    units++;
  }
  if (digits) return problem("a number without a unit at the end");
  if (units === 0) return problem(inTime ? "T needs a unit after it" : "no unit (P14D, PT20S)");
  if (inTime && lastRank === 1) return problem("T needs a unit after it");
  if (seconds > options.maxSeconds) return problem(`longer than ${options.maxSeconds} seconds`);
  return { seconds };
}
