// Activity: assemble runs/<runId>/summary.json from the listing and the batch outcomes.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import type { RunTotals } from "../runs/archiveRun.js";
import { getAppDependencies } from "../appDependencies.js";
import { writeRunSummary as writeSummary, writeRunSummaryInputSchema } from "../runs/runSummary.js";
import { parseInput } from "../validation.js";

const writeRunSummary: ActivityHandler = async (raw: unknown): Promise<{ summaryBlob: string; totals: RunTotals }> => {
  const input = parseInput(ActivityNames.writeRunSummary, writeRunSummaryInputSchema, raw);
  const deps = getAppDependencies();
  return writeSummary(input, {
    container: deps.getContainer(input.run.container),
    referrerMaxRequests: deps.config.listing.referrerRefresh.maxRequests,
    prices: deps.config.prices,
  });
};

df.app.activity(ActivityNames.writeRunSummary, { handler: writeRunSummary });
