// Activity: delete an image's staging copy once it is restored (the archive itself stays in Archive tier).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { restoreArchiveBlob, restoreImageRefSchema } from "../runs/restoreTarget.js";
import { deleteStagingCopy as remove } from "../storage/rehydration.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const deleteStagingCopy: ActivityHandler = async (raw: unknown): Promise<boolean> => {
  const ref = parseInput(ActivityNames.deleteStagingCopy, restoreImageRefSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  return remove(deps.getContainer(ref.run.container), restoreArchiveBlob(ref));
};

df.app.activity(ActivityNames.deleteStagingCopy, { handler: deleteStagingCopy });
