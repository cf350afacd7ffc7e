// How each kind of run counts its outcomes (src/runs/engine/outcomeCounting.ts with archiveCounting and
// restoreCounting): one status adds one to its total, only the kind's byte-counting statuses add bytes, totals add key
// by key. The engine counts every kind with these; the kinds differ only in the data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addOutcome, addTotals, emptyTotals } from "../../../../src/runs/engine/outcomeCounting.js";
import { archiveCounting } from "../../../../src/runs/archiveRun.js";
import { type ImageOutcome } from "../../../../src/runs/engine/workItem.js";
import { restoreCounting } from "../../../../src/runs/restoreRun.js";

const outcome = (status: ImageOutcome["status"], bytes?: number): ImageOutcome => ({
  repository: "team/app",
  digest: `sha256:${"a".repeat(64)}`,
  tags: [],
  status,
  ...(bytes !== undefined && { bytes }),
  attempts: 1,
  durationSeconds: 1,
});

test("an archive run counts archived bytes only; would-archive adds to total only", () => {
  let totals = emptyTotals(archiveCounting);
  assert.deepEqual(totals, { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0 });
  for (const [status, bytes] of [
    ["archived", 100],
    ["already-archived", 50],
    ["failed", 7],
    ["would-archive", 9],
  ] as const)
    totals = addOutcome(archiveCounting, totals, outcome(status, bytes));
  assert.deepEqual(totals, { total: 4, archived: 1, alreadyArchived: 1, failed: 1, bytesArchived: 100 });
  assert.deepEqual(addTotals(archiveCounting, totals, totals), {
    total: 8,
    archived: 2,
    alreadyArchived: 2,
    failed: 2,
    bytesArchived: 200,
  });
});

test("a restore run counts restored bytes only; already-present and would-restore add no bytes", () => {
  let totals = emptyTotals(restoreCounting);
  for (const [status, bytes] of [
    ["restored", 30],
    ["already-present", 40],
    ["would-restore", 5],
    ["failed", undefined],
  ] as const)
    totals = addOutcome(restoreCounting, totals, outcome(status, bytes));
  assert.deepEqual(totals, { total: 4, restored: 1, alreadyPresent: 1, failed: 1, bytes: 30 });
});
