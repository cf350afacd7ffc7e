// Activity: the images of one batch (orchestrations pass batch numbers, the data stays in blobs).
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { batchRefSchema, type ImageWorkItem } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { readBatch as readBatchBlob } from "../runs/runStore.js";
import { parseInput } from "../validation.js";

export const readBatchActivityName = "readBatch";
export type ReadBatchInput = z.output<typeof batchRefSchema>;

const readBatch: ActivityHandler = async (raw: unknown): Promise<ImageWorkItem[]> => {
  const input = parseInput(readBatchActivityName, batchRefSchema, raw);
  return readBatchBlob(getRunDependencies().getContainer(input.container), input.runId, input.batchIndex);
};

df.app.activity(readBatchActivityName, { handler: readBatch });
