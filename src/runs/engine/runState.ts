// What every kind of run keeps in its orchestration's state while its batches run (batchLoop.ts), and passes to its
// summary activity: the schemas, in one place. Pure: orchestrators check their input with them.
import { z } from "zod";
import type { OutcomeCounting, Totals } from "./outcomeCounting.js";

const count = z.number().int().min(0);

/** Batches whose sub-orchestration failed (after its activities' retries): their items are failed in the summary. */
export const failedBatchesSchema = z
  .array(z.strictObject({ batchIndex: count, message: z.string().max(300) }))
  .max(100_000)
  .default([]);
export type FailedBatches = z.output<typeof failedBatchesSchema>;

/** The batch loop's part of a run's state: its batches, the next one, the job executions they started. */
export const batchLoopStateShape = {
  batchCount: count,
  nextBatch: count,
  jobExecutions: count,
  failedBatches: failedBatchesSchema,
};

/**
 * A kind's totals as its run's state holds them: every key of its counting, a count (0 when absent: the state of a run
 * that began before a total was added).
 */
export function totalsSchema<T extends Totals<T>>(counting: OutcomeCounting<T>) {
  const counted = count.default(0);
  return z.strictObject(
    Object.fromEntries(counting.keys.map((key) => [key, counted])) as Record<keyof T, typeof counted>,
  );
}
