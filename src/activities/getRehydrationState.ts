// Activity: the state of an image's staging copies (its archive's and its referrers supplements': pending, ready), polled
// by restoreImage between durable timers; the run's claim on them is written again.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { restoreArchiveBlob, restoreImageRefSchema } from "../runs/restoreTarget.js";
import { listReferrersSupplements } from "../storage/archiveStore.js";
import { getArchiveSetRehydrationState, type RehydrationState } from "../storage/rehydration.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const getRehydrationState: ActivityHandler = async (raw: unknown): Promise<RehydrationState | null> => {
  const ref = parseInput(ActivityNames.getRehydrationState, restoreImageRefSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  const container = deps.getContainer(ref.run.container);
  const archiveBlob = restoreArchiveBlob(ref);
  const supplements = await listReferrersSupplements(container, archiveBlob);
  return (
    (await getArchiveSetRehydrationState(container, archiveBlob, supplements, { claimant: ref.run.runId })) ?? null
  );
};

df.app.activity(ActivityNames.getRehydrationState, { handler: getRehydrationState });
