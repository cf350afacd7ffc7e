// The cost report's arithmetic (src/cost/costEstimate.ts), pure: Archive-tier cost a month, the early-deletion date,
// a restore's retrieval at either priority, and a registry saving that exists only above the SKU's included storage.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  archivePerMonth,
  archiveRunCost,
  DEFAULT_PRICES,
  earlyDeletionFreeFrom,
  GIB,
  registryAllowance,
  registrySaving,
  restoreRunCost,
  retrievalEstimate,
  type PriceSheet,
  type RegistryStorage,
} from "../../../src/cost/costEstimate.js";

const prices: PriceSheet = {
  ...DEFAULT_PRICES,
  archivePerGibMonth: 0.002,
  retrievalPerGib: { Standard: 0.02, High: 0.1 },
  archiveReadsPer10k: { Standard: 5, High: 50 },
  registryStoragePerGibDay: 0.003,
};

test("Archive tier a month: GiB × the price; 10 TiB at the list price is the documented $10.14 (guards issue 25.3)", () => {
  assert.equal(archivePerMonth(10 * 1024 * GIB, DEFAULT_PRICES), 10.1376);
  assert.equal(archivePerMonth(GIB / 2, prices), 0.001);
  assert.equal(archivePerMonth(0, prices), 0);
});

test("the early-deletion charge ends 180 days after the commit", () => {
  assert.equal(earlyDeletionFreeFrom(new Date("2026-12-03T10:00:00Z")).toISOString(), "2027-06-01T10:00:00.000Z");
});

test("a restore's retrieval: data per GiB plus one Archive read per archive, Standard and High side by side", () => {
  const estimate = retrievalEstimate({ bytes: 50 * GIB, blobs: 200, priority: "High" }, prices);
  // Standard: 50 × 0.02 + 200 × 5 / 10,000 = 1 + 0.1; High: 50 × 0.10 + 200 × 50 / 10,000 = 5 + 1.
  assert.deepEqual(estimate, { bytes: 50 * GIB, blobs: 200, Standard: 1.1, High: 6, priority: "High", chosen: 6 });
  const run = restoreRunCost({ bytes: 50 * GIB, archives: 200, priority: "Standard" }, prices);
  assert.equal(run.estimate, true);
  assert.equal(run.retrieval.chosen, 1.1);
  assert.deepEqual(run.prices, {
    region: "eastus",
    redundancy: "LRS",
    readOn: DEFAULT_PRICES.readOn,
    source: DEFAULT_PRICES.source,
  });
});

test("a registry inside its included storage is told there is no saving, whatever is deleted (guards issue 25.3)", () => {
  const standard: RegistryStorage = { source: "arm", sku: "Standard", includedBytes: 100 * GIB, usedBytes: 60 * GIB };
  const saving = registrySaving(40 * GIB, standard, prices);
  assert.equal(saving.status, "none");
  assert.equal(saving.status === "none" && saving.perMonth, 0);
  assert.match(saving.status === "none" ? saving.reason : "", /60\.00 GiB of the 100\.00 GiB its SKU includes/);
  assert.match(registryAllowance(standard, prices).summary, /inside its allowance .*saves nothing/);
});

test("above the allowance, only the part of the freed bytes that was billed is saved", () => {
  const storage: RegistryStorage = { source: "arm", sku: "Basic", includedBytes: 10 * GIB, usedBytes: 25 * GIB };
  // 15 GiB billed; freeing 20 GiB brings usage to 5 GiB: all 15 GiB stop being billed, not 20.
  const saving = registrySaving(20 * GIB, storage, prices);
  assert.deepEqual(saving, {
    status: "saving",
    freedBytes: 20 * GIB,
    billedBytesBefore: 15 * GIB,
    billedBytesAfter: 0,
    perMonth: 1.35, // 15 GiB × 0.003 × 30
  });
  // Freeing 5 GiB: 15 → 10 GiB billed.
  const five = registrySaving(5 * GIB, storage, prices);
  assert.equal(five.status === "saving" && five.billedBytesAfter, 10 * GIB);
  assert.equal(five.status === "saving" && five.perMonth, 0.45);
  const allowance = registryAllowance(storage, prices);
  assert.equal(allowance.aboveIncludedBytes, 15 * GIB);
  assert.equal(allowance.extraStoragePerMonth, 1.35);
});

test("without the registry's usage the saving is unknown, never claimed; nothing deleted is no saving", () => {
  const unknown = registrySaving(GIB, { source: "setting", sku: "Premium", includedBytes: 500 * GIB }, prices);
  assert.equal(unknown.status, "unknown");
  assert.equal(unknown.status === "unknown" && unknown.atMostPerMonth, 0.09);
  assert.equal(registrySaving(0, { source: "unknown" }, prices).status, "none");
  assert.match(registryAllowance({ source: "unknown", note: "no ARM" }, prices).summary, /not known \(no ARM\)/);
});

test("an archive run's report: what it archived and what its selection holds, a month, and when all may be deleted", () => {
  const cost = archiveRunCost(
    { archivedBytes: GIB, heldBytes: 3 * GIB, endedAt: new Date("2026-12-01T03:00:00Z") },
    prices,
  );
  assert.equal(cost.estimate, true);
  assert.equal(cost.currency, "USD");
  assert.deepEqual(cost.archived, {
    bytes: GIB,
    archivePerMonth: 0.002,
    earlyDeletionFreeFrom: "2027-05-30T03:00:00.000Z",
  });
  assert.deepEqual(cost.held, { bytes: 3 * GIB, archivePerMonth: 0.006 });
  assert.equal(cost.registrySaving.status, "none");
  assert.equal(
    archiveRunCost({ archivedBytes: 0, heldBytes: 0, endedAt: new Date() }, prices).archived.earlyDeletionFreeFrom,
    undefined,
  );
});
