// Activity: index tags for the registry's archives written before them, within the run's budget (CATALOG_BACKFILL_MAX_BLOBS).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import {
  backfillCatalogTags as backfill,
  catalogBackfillInputSchema,
  type CatalogBackfillResult,
} from "../catalog/catalogBackfill.js";
import { parseInput } from "../validation.js";

const backfillCatalogTags: ActivityHandler = async (raw: unknown): Promise<CatalogBackfillResult> => {
  const input = parseInput(ActivityNames.backfillCatalogTags, catalogBackfillInputSchema, raw);
  const deps = getAppDependencies();
  // The archive container only (a forged input names no other), and the registry's own prefix only.
  return backfill(input, {
    container: deps.getContainer(input.container),
    maxBlobs: deps.config.catalogBackfillMaxBlobs,
  });
};

df.app.activity(ActivityNames.backfillCatalogTags, { handler: backfillCatalogTags });
