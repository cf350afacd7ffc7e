// Activity: does the restore's target already have the image (its digest, referrers and tags), and is it archived here?
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import {
  checkRestoreTarget as check,
  restoreTargetCheckSchema,
  type RestoreTargetCheck,
} from "../runs/restoreTarget.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const checkRestoreTarget: ActivityHandler = async (raw: unknown): Promise<RestoreTargetCheck> => {
  const ref = parseInput(ActivityNames.checkRestoreTarget, restoreTargetCheckSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(ref.run, deps.config);
  return check(ref, {
    container: deps.getContainer(ref.run.container),
    target: deps.getTargetRegistryClient(ref.run.target.registry),
  });
};

df.app.activity(ActivityNames.checkRestoreTarget, { handler: checkRestoreTarget });
