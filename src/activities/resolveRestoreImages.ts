// Activity: a restore run's listing, over the archive container (runs/resolveRestoreImages.ts), cut into batches.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import type { ResolveRestoreImagesResult } from "../runs/restoreRun.js";
import { resolveRestoreImages as resolve, resolveRestoreImagesInputSchema } from "../runs/resolveRestoreImages.js";
import { restoreImageRunContext } from "../runs/restoreRun.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const resolveRestoreImages: ActivityHandler = async (raw: unknown): Promise<ResolveRestoreImagesResult> => {
  const input = parseInput(ActivityNames.resolveRestoreImages, resolveRestoreImagesInputSchema, raw);
  const deps = getAppDependencies();
  // The run is held to the settings (its target, its limits) before the container is touched.
  assertRunInScope(restoreImageRunContext(input.run), deps.config);
  return resolve(input, { container: deps.getContainer(input.run.container) });
};

df.app.activity(ActivityNames.resolveRestoreImages, { handler: resolveRestoreImages });
