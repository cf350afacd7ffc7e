// Activity: keep one batch's per-image outcomes for the run summary.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ImageOutcome } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { writeBatchOutcomes as writeOutcomesBlob } from "../runs/runStore.js";

export const writeBatchOutcomesActivityName = "writeBatchOutcomes";

const writeBatchOutcomes: ActivityHandler = async (input: { runId: string; container: string; batchIndex: number; outcomes: ImageOutcome[] }): Promise<void> => {
  await writeOutcomesBlob(getRunDependencies().getContainer(input.container), input.runId, input.batchIndex, input.outcomes);
};

df.app.activity(writeBatchOutcomesActivityName, { handler: writeBatchOutcomes });
