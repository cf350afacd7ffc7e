// How each kind of run counts its outcomes (src/runs/engine/outcomeCounting.ts with archiveCounting and
// restoreCounting): one status adds one to its total, only the kind's byte-counting statuses add bytes, totals add key
// by key. The engine counts every kind with these; the kinds differ only in the data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addOutcome, addTotals, emptyTotals } from "../../../../src/runs/engine/outcomeCounting.js";
import { archiveCounting } from "../../../../src/runs/archiveRun.js";
import { type ImageOutcome } from "../../../../src/runs/engine/workItem.js";
import { restoreCounting } from "../../../../src/runs/restoreRun.js";

const outcome = (status: ImageOutcome["status"], bytes?: number, verified?: true): ImageOutcome => ({
  repository: "team/app",
  digest: `sha256:${"a".repeat(64)}`,
  tags: [],
  status,
  ...(bytes !== undefined && { bytes }),
  ...(verified && { verified }),
  attempts: 1,
  durationSeconds: 1,
});

test("an archive run counts archived bytes only; would-archive adds to total only; verified archives by their flag (guards issue 23.1)", () => {
  let totals = emptyTotals(archiveCounting);
  assert.deepEqual(totals, { total: 0, archived: 0, alreadyArchived: 0, failed: 0, bytesArchived: 0, verified: 0 });
  for (const [status, bytes, verified] of [
    ["archived", 100, true],
    ["already-archived", 50, true],
    ["already-archived", 1, undefined],
    ["failed", 7, undefined],
    ["would-archive", 9, undefined],
  ] as const)
    totals = addOutcome(archiveCounting, totals, outcome(status, bytes, verified));
  assert.deepEqual(totals, { total: 5, archived: 1, alreadyArchived: 2, failed: 1, bytesArchived: 100, verified: 2 });
  assert.deepEqual(addTotals(archiveCounting, totals, totals), {
    total: 10,
    archived: 2,
    alreadyArchived: 4,
    failed: 2,
    bytesArchived: 200,
    verified: 4,
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
