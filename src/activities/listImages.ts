// Activity: list the registry's images (filters applied), note which are already archived, write the batches.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import type { ListImagesResult } from "../runs/archiveRun.js";
import { getAppDependencies } from "../appDependencies.js";
import { listRunImages, listRunImagesInputSchema } from "../runs/listRunImages.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const listImages: ActivityHandler = async (raw: unknown): Promise<ListImagesResult> => {
  const input = parseInput(ActivityNames.listImages, listRunImagesInputSchema, raw);
  const deps = getAppDependencies();
  // The run is held to the settings before the registry or the container is touched.
  assertRunInScope(input.run, deps.config);
  return listRunImages(input, {
    registry: deps.getRegistryClient(input.run.registry),
    container: deps.getContainer(input.run.container),
  });
};

df.app.activity(ActivityNames.listImages, { handler: listImages });
