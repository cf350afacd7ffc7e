// Activity: is this digest already archived (its sidecar exists)? Then the image costs nothing.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { z } from "zod";
import { imageRunContextSchema } from "../runs/archiveRun.js";
import { imageWorkItemSchema } from "../runs/engine/workItem.js";
import { getAppDependencies } from "../appDependencies.js";
import { assertRunInScope } from "../runs/runScope.js";
import { getArchivedImageInfo, type ArchivedImageInfo } from "../storage/archiveStore.js";
import { parseInput } from "../validation.js";

/** The image's run comes along: this first activity of archiveImage holds it to the settings (runs/runScope.ts). */
export const checkArchivedInputSchema = z.strictObject({
  run: imageRunContextSchema,
  repository: imageWorkItemSchema.shape.repository,
  digest: imageWorkItemSchema.shape.digest,
});
export type CheckArchivedInput = z.output<typeof checkArchivedInputSchema>;

const checkArchived: ActivityHandler = async (raw: unknown): Promise<ArchivedImageInfo> => {
  const { run, repository, digest } = parseInput(ActivityNames.checkArchived, checkArchivedInputSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(run, deps.config);
  return getArchivedImageInfo(deps.getContainer(run.container), { registry: run.registry, repository, digest });
};

df.app.activity(ActivityNames.checkArchived, { handler: checkArchived });
