// Activity: is this digest already archived (its sidecar exists)? Then the image costs nothing.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { imageIdentitySchema } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { getArchivedImageInfo, type ArchivedImageInfo } from "../storage/archiveStore.js";
import { containerNameSchema } from "../storage/blobNames.js";
import { parseInput } from "../validation.js";

export const checkArchivedActivityName = "checkArchived";

export const checkArchivedInputSchema = imageIdentitySchema.extend({ container: containerNameSchema });
export type CheckArchivedInput = z.output<typeof checkArchivedInputSchema>;

const checkArchived: ActivityHandler = async (raw: unknown): Promise<ArchivedImageInfo> => {
  const { container, ...image } = parseInput(checkArchivedActivityName, checkArchivedInputSchema, raw);
  return getArchivedImageInfo(getRunDependencies().getContainer(container), image);
};

df.app.activity(checkArchivedActivityName, { handler: checkArchived });
