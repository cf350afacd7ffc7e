// Activity: one page of the run's listing (a catalog page of repositories: filters applied, already archived images
// noted, the page and its batches written). The orchestration calls it page after page with the continuation.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { listRunImagesPage, listRunImagesPageInputSchema, type ListImagesPageResult } from "../runs/listRunImages.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const listImagesPage: ActivityHandler = async (raw: unknown): Promise<ListImagesPageResult> => {
  const input = parseInput(ActivityNames.listImagesPage, listRunImagesPageInputSchema, raw);
  const deps = getAppDependencies();
  // The run is held to the settings before the registry or the container is touched.
  assertRunInScope(input.run, deps.config);
  return listRunImagesPage(input, {
    registry: deps.getRegistryClient(input.run.registry),
    container: deps.getContainer(input.run.container),
    ...deps.config.listing,
  });
};

df.app.activity(ActivityNames.listImagesPage, { handler: listImagesPage });
