// The nightly timer (schedule from the NIGHTLY_SCHEDULE app setting): one run per registry in
// NIGHTLY_REGISTRIES, skipping a registry whose previous run is still going; with NIGHTLY_REFRESH_REFERRERS, each run
// also archives referrers that arrived since an image was archived.
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { runClient } from "../durable/runClient.js";
import { runKinds } from "../durable/runKinds.js";
import { describeError } from "../errors.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseStartArchiveRun, startArchiveRun } from "../runs/startArchiveRun.js";

export async function nightlyArchive(_timer: Timer, context: InvocationContext): Promise<void> {
  const { config, resolveRegistry, lock } = getAppDependencies();
  const client = runClient(df.getClient(context), runKinds.archive);
  for (const registry of config.nightlyRegistries) {
    try {
      const result = await startArchiveRun(
        parseStartArchiveRun({ registry, refreshReferrers: config.nightlyRefreshReferrers }),
        {
          client,
          config,
          resolveRegistry,
          lock,
          now: new Date(),
          requestedBy: "timer",
        },
      );
      if (result.kind === "conflict")
        context.warn(`nightly: ${registry} skipped, ${result.instanceId} is still running`);
      else context.log(`nightly: started ${result.instanceId}`);
    } catch (error) {
      context.error(`nightly: cannot start a run of ${registry}: ${describeError(error)}`);
    }
  }
}

app.timer("nightlyArchive", {
  schedule: "%NIGHTLY_SCHEDULE%",
  extraInputs: [df.input.durableClient()],
  handler: nightlyArchive,
});
