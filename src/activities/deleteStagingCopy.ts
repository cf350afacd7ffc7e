// Activity: delete an image's staging copies (its archive's and its referrers supplements') once it is restored (the
// archives themselves stay in Archive tier).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { restoreArchiveBlob, restoreImageRefSchema } from "../runs/restoreTarget.js";
import { listReferrersSupplements } from "../storage/archiveStore.js";
import { deleteArchiveSetStagingCopies } from "../storage/rehydration.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const deleteStagingCopy: ActivityHandler = async (raw: unknown): Promise<boolean> => {
  const ref = parseInput(ActivityNames.deleteStagingCopy, restoreImageRefSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  const container = deps.getContainer(ref.run.container);
  const archiveBlob = restoreArchiveBlob(ref);
  const supplements = await listReferrersSupplements(container, archiveBlob);
  return (await deleteArchiveSetStagingCopies(container, archiveBlob, supplements)) > 0;
};

df.app.activity(ActivityNames.deleteStagingCopy, { handler: deleteStagingCopy });
