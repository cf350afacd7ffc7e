// Activity: the worker's result blob for one attempt of one item, whatever the kind (an archive's ArchiveImageResult, a
// restore's RestoreImageResult): the worker's word, as it wrote it; the item's orchestration reads what its kind wrote.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { imageIdentitySchema } from "../runs/engine/workItem.js";
import { getAppDependencies } from "../appDependencies.js";
import { readWorkerResult as readResultBlob } from "../storage/archiveStore.js";
import { attemptIdSchema, containerNameSchema, runIdSchema } from "../storage/blobNames.js";
import { parseInput } from "../validation.js";

export const readWorkerResultInputSchema = imageIdentitySchema.extend({
  runId: runIdSchema,
  container: containerNameSchema,
  attemptId: attemptIdSchema,
});
export type ReadWorkerResultInput = z.output<typeof readWorkerResultInputSchema>;

const readWorkerResult: ActivityHandler = async (raw: unknown): Promise<Record<string, unknown> | null> => {
  const { runId, container, attemptId, ...image } = parseInput(
    ActivityNames.readWorkerResult,
    readWorkerResultInputSchema,
    raw,
  );
  const blobs = getAppDependencies().getContainer(container);
  return (await readResultBlob<Record<string, unknown>>(blobs, runId, image, attemptId)) ?? null;
};

df.app.activity(ActivityNames.readWorkerResult, { handler: readWorkerResult });
