// Activity: the images of one batch (orchestrations pass batch numbers, the data stays in blobs).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { ImageWorkItem } from "../runs/engine/workItem.js";
import { batchRunContextSchema } from "../runs/archiveRun.js";
import { restoreBatchRunContextSchema } from "../runs/restoreRun.js";
import { assertRunInScope } from "../runs/runScope.js";
import { getAppDependencies } from "../appDependencies.js";
import { readBatch as readBatchBlob } from "../runs/runStore.js";
import { parseInput } from "../validation.js";

/** The batch's run comes along: this first activity of runBatch holds it to the settings (runs/runScope.ts). */
export const readBatchInputSchema = z.strictObject({
  run: z.union([batchRunContextSchema, restoreBatchRunContextSchema]),
  batchIndex: z.number().int().min(0).max(1_000_000),
});
export type ReadBatchInput = z.output<typeof readBatchInputSchema>;

const readBatch: ActivityHandler = async (raw: unknown): Promise<ImageWorkItem[]> => {
  const { run, batchIndex } = parseInput(ActivityNames.readBatch, readBatchInputSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(run, deps.config);
  return readBatchBlob(deps.getContainer(run.container), run.runId, batchIndex);
};

df.app.activity(ActivityNames.readBatch, { handler: readBatch });
