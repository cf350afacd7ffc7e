// Activity: make an image's archive readable — rehydrate it by copy into its staging blob (Hot, the run's priority),
// or find the copy an earlier restore started (storage/rehydration.ts). Idempotent.
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { restoreArchiveBlob, restoreImageRefSchema } from "../runs/restoreTarget.js";
import { assertRunInScope } from "../runs/runScope.js";
import { startRehydration as start, type RehydrationState } from "../storage/rehydration.js";
import { parseInput } from "../validation.js";

const startRehydration: ActivityHandler = async (raw: unknown): Promise<RehydrationState> => {
  const ref = parseInput(ActivityNames.startRehydration, restoreImageRefSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  return start(deps.getContainer(ref.run.container), restoreArchiveBlob(ref), { priority: ref.run.rehydratePriority });
};

df.app.activity(ActivityNames.startRehydration, { handler: startRehydration });
