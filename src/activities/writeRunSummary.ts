// Activity: assemble runs/<runId>/summary.json from the listing and the batch outcomes.
import * as df from "durable-functions";
import type { ActivityHandler } from "durable-functions";
import type { RunTotals } from "../runs/archiveRun.js";
import { getRunDependencies } from "../runs/runDependencies.js";
import { writeRunSummary as writeSummary, type WriteRunSummaryInput } from "../runs/runActivities.js";

export const writeRunSummaryActivityName = "writeRunSummary";

const writeRunSummary: ActivityHandler = async (input: WriteRunSummaryInput): Promise<{ summaryBlob: string; totals: RunTotals }> => {
  return writeSummary(input, { container: getRunDependencies().getContainer(input.run.container) });
};

df.app.activity(writeRunSummaryActivityName, { handler: writeRunSummary });
