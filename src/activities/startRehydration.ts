// Activity: make an image's archive and its referrers supplements readable — rehydrate each by copy into its staging
// blob (Hot, the run's priority), or find the copies an earlier or concurrent restore started, claimed for this run
// first (storage/rehydration.ts: the copies stay until no claim is left). Idempotent.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { restoreArchiveBlob, restoreImageRefSchema } from "../runs/restoreTarget.js";
import { assertRunInScope } from "../runs/runScope.js";
import { listReferrersSupplements } from "../storage/archiveStore.js";
import { startArchiveSetRehydration, type RehydrationState } from "../storage/rehydration.js";
import { parseInput } from "../validation.js";

const startRehydration: ActivityHandler = async (raw: unknown): Promise<RehydrationState> => {
  const ref = parseInput(ActivityNames.startRehydration, restoreImageRefSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  const container = deps.getContainer(ref.run.container);
  const archiveBlob = restoreArchiveBlob(ref);
  const supplements = await listReferrersSupplements(container, archiveBlob);
  return startArchiveSetRehydration(container, archiveBlob, supplements, {
    priority: ref.run.rehydratePriority,
    claimant: ref.run.runId,
  });
};

df.app.activity(ActivityNames.startRehydration, { handler: startRehydration });
