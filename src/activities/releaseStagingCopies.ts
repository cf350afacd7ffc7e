// Activity: a restore is done with an image's staging copies (its archive's and its referrers supplements'): its claim
// goes and, after a restore (or a copy that does not match its sidecar), each copy no other restore claims is deleted
// (the archives themselves stay in Archive tier). A copy another restore still reads stays (storage/rehydration.ts).
import * as df from "durable-functions";
import { ActivityNames } from "./activityNames.js";
import type { ActivityHandler } from "durable-functions";
import { getAppDependencies } from "../appDependencies.js";
import { releaseStagingInputSchema, restoreArchiveBlob } from "../runs/restoreTarget.js";
import { listReferrersSupplements } from "../storage/archiveStore.js";
import { releaseStagingCopies as release } from "../storage/rehydration.js";
import { assertRunInScope } from "../runs/runScope.js";
import { parseInput } from "../validation.js";

const releaseStagingCopies: ActivityHandler = async (raw: unknown): Promise<number> => {
  const input = parseInput(ActivityNames.releaseStagingCopies, releaseStagingInputSchema, raw);
  const deps = getAppDependencies();
  assertRunInScope(input.run, deps.config);
  const container = deps.getContainer(input.run.container);
  const archiveBlob = restoreArchiveBlob(input);
  const supplements = await listReferrersSupplements(container, archiveBlob);
  return release(container, archiveBlob, supplements, {
    claimant: input.run.runId,
    deleteUnclaimed: input.deleteUnclaimed,
  });
};

df.app.activity(ActivityNames.releaseStagingCopies, { handler: releaseStagingCopies });
