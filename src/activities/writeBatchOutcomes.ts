// Activity: keep one batch's per-image outcomes for the run summary.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { batchRefSchema, imageOutcomeSchema } from "../runs/engine/workItem.js";
import { getAppDependencies } from "../appDependencies.js";
import { assertRunNotEnded, writeBatchOutcomes as writeOutcomesBlob } from "../runs/runStore.js";
import { parseInput } from "../validation.js";

export const writeBatchOutcomesInputSchema = batchRefSchema.extend({ outcomes: z.array(imageOutcomeSchema).max(1000) });
export type WriteBatchOutcomesInput = z.output<typeof writeBatchOutcomesInputSchema>;

const writeBatchOutcomes: ActivityHandler = async (raw: unknown): Promise<void> => {
  const input = parseInput(ActivityNames.writeBatchOutcomes, writeBatchOutcomesInputSchema, raw);
  const container = getAppDependencies().getContainer(input.container);
  await assertRunNotEnded(container, input.runId); // a finished run's records are final
  await writeOutcomesBlob(container, input.runId, input.batchIndex, input.outcomes);
};

df.app.activity(ActivityNames.writeBatchOutcomes, { handler: writeBatchOutcomes });
