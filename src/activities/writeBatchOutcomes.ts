// Activity: keep one batch's per-image outcomes for the run summary.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { batchRefSchema, imageOutcomeSchema } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { writeBatchOutcomes as writeOutcomesBlob } from "../runs/runStore.js";
import { parseInput } from "../validation.js";

export const writeBatchOutcomesActivityName = "writeBatchOutcomes";

export const writeBatchOutcomesInputSchema = batchRefSchema.extend({ outcomes: z.array(imageOutcomeSchema).max(1000) });
export type WriteBatchOutcomesInput = z.output<typeof writeBatchOutcomesInputSchema>;

const writeBatchOutcomes: ActivityHandler = async (raw: unknown): Promise<void> => {
  const input = parseInput(writeBatchOutcomesActivityName, writeBatchOutcomesInputSchema, raw);
  await writeOutcomesBlob(getRunDependencies().getContainer(input.container), input.runId, input.batchIndex, input.outcomes);
};

df.app.activity(writeBatchOutcomesActivityName, { handler: writeBatchOutcomes });
