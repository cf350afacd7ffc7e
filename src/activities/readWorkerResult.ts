// Activity: the worker's result blob for one attempt of one image (digest, bytes, sha256, blob names, or its error).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
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

const readWorkerResult: ActivityHandler = async (raw: unknown): Promise<ArchiveImageResult | null> => {
  const { runId, container, attemptId, ...image } = parseInput(
    ActivityNames.readWorkerResult,
    readWorkerResultInputSchema,
    raw,
  );
  return (
    (await readResultBlob<ArchiveImageResult>(getAppDependencies().getContainer(container), runId, image, attemptId)) ??
    null
  );
};

df.app.activity(ActivityNames.readWorkerResult, { handler: readWorkerResult });
