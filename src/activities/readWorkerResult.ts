// Activity: the worker's result blob for one image of a run (digest, bytes, sha256, blob names, or its error).
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { readWorkerResult as readResultBlob } from "../runs/runStore.js";
import type { ImageIdentity } from "../storage/blobNames.js";

export const readWorkerResultActivityName = "readWorkerResult";

export interface ReadWorkerResultInput extends ImageIdentity {
  runId: string;
  container: string;
}

const readWorkerResult: ActivityHandler = async (input: ReadWorkerResultInput): Promise<ArchiveImageResult | null> => {
  const { runId, container, ...image } = input;
  return (await readResultBlob(getRunDependencies().getContainer(container), runId, image)) ?? null;
};

df.app.activity(readWorkerResultActivityName, { handler: readWorkerResult });
