// What every kind of run's orchestration input has, and what it keeps in its state while its batches run
// (batchLoop.ts) and passes to its summary activity: the schemas, in one place. Pure: orchestrators check their input
// with them.
import { z } from "zod";
import { loginServerSchema } from "../../registry/reference.js";
import { containerNameSchema, runIdSchema } from "../../storage/blobNames.js";
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

/**
 * What every kind of run's orchestration input has, resolved by its starter before it starts (checked again by each
 * orchestrator and activity: an orchestration input is untrusted). A kind's input schema extends it.
 */
export const runInputShape = {
  runId: runIdSchema,
  /** The registry the run is about (login server): the one archived, or the archived source of a restore. */
  registry: loginServerSchema,
  container: containerNameSchema,
  dryRun: z.boolean(),
  maxParallel: z.number().int().min(1).max(100),
  maxAttempts: z.number().int().min(1).max(10),
  jobTimeoutMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  pollMaxIntervalSeconds: z.number().int().min(1).max(3600),
  batchSize: z.number().int().min(1).max(1000),
  requestedAtUtc: z.iso.datetime({ error: "must be an ISO 8601 UTC time" }),
};
