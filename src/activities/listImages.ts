// Activity: list the registry's images (filters applied), note which are already archived, write the batches.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ListImagesResult } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { listRunImages, type ListRunImagesInput } from "../runs/runActivities.js";

export const listImagesActivityName = "listImages";

const listImages: ActivityHandler = async (input: ListRunImagesInput): Promise<ListImagesResult> => {
  const deps = getRunDependencies();
  return listRunImages(input, { registry: deps.getRegistryClient(input.run.registry), container: deps.getContainer(input.run.container) });
};

df.app.activity(listImagesActivityName, { handler: listImages });
