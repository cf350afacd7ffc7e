// ISO 8601 durations for settings (src/isoDuration.ts): fixed units only, ISO's order, whole numbers, bounded, and read
// in one pass (time linear in the text, which is itself bounded).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIsoDuration } from "../../src/isoDuration.js";

const YEAR = 366 * 86_400;
const seconds = (text: string) => parseIsoDuration(text, { maxSeconds: YEAR });

test("weeks, days, hours, minutes and seconds, alone and together (guards issue 23.4)", () => {
  const cases: [string, number][] = [
    ["P14D", 14 * 86_400],
    ["PT20S", 20],
    ["PT0S", 0],
    ["P0D", 0],
    ["P1W", 7 * 86_400],
    ["P1W2D", 9 * 86_400],
    ["P1DT12H", 86_400 + 12 * 3_600],
    ["PT1H30M", 5_400],
    ["PT90M", 5_400],
    ["P2DT3H4M5S", 2 * 86_400 + 3 * 3_600 + 4 * 60 + 5],
    ["P366D", YEAR],
  ];
  for (const [text, expected] of cases) assert.deepEqual(seconds(text), { seconds: expected }, text);
});

test("what is not a fixed-length ISO 8601 duration says why (guards issue 23.4)", () => {
  const cases: [string, RegExp][] = [
    ["", /must start with P/],
    ["14D", /must start with P/],
    ["p14d", /must start with P/],
    ["P", /no unit/],
    ["PT", /T needs a unit after it/],
    ["P1DT", /T needs a unit after it/],
    ["P1Y", /years and months have no fixed length/],
    ["P1M", /years and months have no fixed length/],
    ["P1.5D", /fractions are not read/],
    ["PT0,5S", /fractions are not read/],
    ["P1D1W", /W out of order or repeated/],
    ["PT1S1H", /H out of order or repeated/],
    ["P1D1D", /D out of order or repeated/],
    ["PD", /D needs a number before it/],
    ["P14", /a number without a unit/],
    ["P1TT1S", /T must come once/],
    ["P1T1S", /T must come once/],
    ["PT1D", /"D" is not a unit/],
    ["P14 D", /" " is not a unit/],
    ["P367D", /longer than 31622400 seconds/],
    [`P${"9".repeat(13)}D`, /longer than 12 digits/],
    [`P${"1".repeat(70)}D`, /longer than 64 characters/],
  ];
  for (const [text, problem] of cases) {
    const parsed = seconds(text);
    assert.ok("problem" in parsed, `${text} parsed as ${JSON.stringify(parsed)}`);
    assert.match(parsed.problem, problem, text);
    assert.match(parsed.problem, /is not an ISO 8601 duration/);
  }
});
