// Activity: list the registry's images (filters applied), note which are already archived, write the batches.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ListImagesResult } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { listRunImages, listRunImagesInputSchema } from "../runs/runActivities.js";
import { parseInput } from "../validation.js";

export const listImagesActivityName = "listImages";

const listImages: ActivityHandler = async (raw: unknown): Promise<ListImagesResult> => {
  const input = parseInput(listImagesActivityName, listRunImagesInputSchema, raw);
  const deps = getRunDependencies();
  // Both refuse what configuration does not allow, before the registry or the container is touched.
  return listRunImages(input, { registry: deps.getRegistryClient(input.run.registry), container: deps.getContainer(input.run.container) });
};

df.app.activity(listImagesActivityName, { handler: listImages });
