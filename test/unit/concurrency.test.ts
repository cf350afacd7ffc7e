// Bounded concurrency: mapConcurrent's limit and order, and settleConcurrent's outcomes in input order (what the
// referrer discovery relies on to throw what a sequential walk would throw, whatever finishes first).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mapConcurrent, settleConcurrent, settledValue } from "../../src/concurrency.js";

test("mapConcurrent: at most `limit` calls in flight, results in the input's order", async () => {
  let active = 0;
  let peak = 0;
  const results = await mapConcurrent([30, 5, 20, 1, 10], 2, async (ms, i) => {
    active++;
    peak = Math.max(peak, active);
    await sleep(ms);
    active--;
    return i;
  });
  assert.deepEqual(results, [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
});

test("settleConcurrent: every call runs, each outcome in the input's order, the first failure in order thrown", async () => {
  let started = 0;
  // Item 3 fails first in time, item 1 first in order.
  const outcomes = await settleConcurrent([40, 30, 0, 1], 4, async (ms, i) => {
    started++;
    await sleep(ms);
    if (i === 1 || i === 3) throw new Error(`item ${i}`);
    return i;
  });
  assert.equal(started, 4);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ["fulfilled", "rejected", "fulfilled", "rejected"],
  );
  assert.equal(settledValue(outcomes[0]!), 0);
  const firstInOrder = outcomes.find((o) => o.status === "rejected")!;
  assert.throws(() => settledValue(firstInOrder), /item 1/);
  await assert.rejects(
    settleConcurrent([1], 0, async () => 1),
    RangeError,
  );
});
