// Activity: is this digest already archived (its sidecar exists)? Then the image costs nothing.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import { getRunDependencies } from "../runs/runDependencies.js";
import { getArchivedImageInfo, type ArchivedImageInfo } from "../runs/runStore.js";
import type { ImageIdentity } from "../storage/blobNames.js";

export const checkArchivedActivityName = "checkArchived";

export interface CheckArchivedInput extends ImageIdentity {
  container: string;
}

const checkArchived: ActivityHandler = async (input: CheckArchivedInput): Promise<ArchivedImageInfo> => {
  const { container, ...image } = input;
  return getArchivedImageInfo(getRunDependencies().getContainer(container), image);
};

df.app.activity(checkArchivedActivityName, { handler: checkArchived });
