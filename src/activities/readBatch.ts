// Activity: the images of one batch (orchestrations pass batch numbers, the data stays in blobs).
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ImageWorkItem } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { readBatch as readBatchBlob } from "../runs/runStore.js";

export const readBatchActivityName = "readBatch";

const readBatch: ActivityHandler = async (input: { runId: string; container: string; batchIndex: number }): Promise<ImageWorkItem[]> => {
  return readBatchBlob(getRunDependencies().getContainer(input.container), input.runId, input.batchIndex);
};

df.app.activity(readBatchActivityName, { handler: readBatch });
