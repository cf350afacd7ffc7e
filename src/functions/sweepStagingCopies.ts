// The staging sweep, on the nightly timer's schedule (NIGHTLY_SCHEDULE): deletes the staging copies no running
// restore claims that were not written for STAGING_MAX_AGE_MINUTES (runs/stagingSweep.ts), so that a copy a failed
// restore left behind is not billed in Hot tier for ever.
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { runClient } from "../durable/runClient.js";
import { runKinds } from "../durable/runKinds.js";
import { describeError } from "../errors.js";
import { getAppDependencies } from "../appDependencies.js";
import { sweepStagingCopies } from "../runs/stagingSweep.js";

export async function sweepStagingCopiesTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { config, getContainer } = getAppDependencies();
  const client = runClient(df.getClient(context), runKinds.restore);
  try {
    const result = await sweepStagingCopies(getContainer(config.archiveContainer), {
      maxAgeMinutes: config.stagingMaxAgeMinutes,
      now: new Date(),
      listRunningRestores: async () => (await client.listRunningRuns()).map((r) => r.instanceId),
    });
    const line =
      `staging sweep: deleted ${result.deleted.length} copies${result.deleted.length ? ` (${result.deleted.join(", ")})` : ""}` +
      ` and ${result.staleClaims} stale claims; kept ${result.inUse} in use, ${result.recent} written within ${config.stagingMaxAgeMinutes} min`;
    // Copies left behind mean restores that failed or ended without releasing them: worth a warning.
    if (result.deleted.length || result.staleClaims) context.warn(line);
    else context.log(line);
  } catch (error) {
    context.error(`staging sweep: ${describeError(error)}`);
  }
}

app.timer("sweepStagingCopies", {
  schedule: "%NIGHTLY_SCHEDULE%",
  extraInputs: [df.input.durableClient()],
  handler: sweepStagingCopiesTimer,
});
