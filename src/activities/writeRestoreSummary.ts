// Activity: assemble a restore run's runs/<runId>/summary.json (kind "restore") from its listing and batch outcomes.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import type { RestoreTotals } from "../runs/restoreRun.js";
import { writeRestoreSummary as write, writeRestoreSummaryInputSchema } from "../runs/restoreSummary.js";
import { parseInput } from "../validation.js";

const writeRestoreSummary: ActivityHandler = async (
  raw: unknown,
): Promise<{ summaryBlob: string; totals: RestoreTotals }> => {
  const input = parseInput(ActivityNames.writeRestoreSummary, writeRestoreSummaryInputSchema, raw);
  const deps = getAppDependencies();
  return write(input, { container: deps.getContainer(input.run.container), prices: deps.config.prices });
};

df.app.activity(ActivityNames.writeRestoreSummary, { handler: writeRestoreSummary });
