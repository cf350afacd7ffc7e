// The orchestrators' side of every activity: its name, the type of its input, and calls that check that type where
// the orchestrator calls it. Activity modules are imported for their types only, so loading an orchestrator loads
// no activity (and none of the clients activities use): a test host can run the real orchestrators over stand-ins.
import type { OrchestrationContext, RetryOptions, Task } from "durable-functions";
import type { CheckArchivedInput } from "./checkArchived.js";
import type { GetJobExecutionInput } from "./getJobExecution.js";
import type { ReadBatchInput } from "./readBatch.js";
import type { ReadWorkerResultInput } from "./readWorkerResult.js";
import type { StartJobExecutionInput } from "./startJobExecution.js";
import type { StopJobExecutionInput } from "./stopJobExecution.js";
import type { WriteBatchOutcomesInput } from "./writeBatchOutcomes.js";
import type { ListRunImagesPageInput } from "../runs/listRunImages.js";
import type { WriteRunSummaryInput } from "../runs/runSummary.js";
import type { ReleaseStagingInput, RestoreImageRef, RestoreTargetCheckRef } from "../runs/restoreTarget.js";
import type { ResolveRestoreImagesInput } from "../runs/resolveRestoreImages.js";
import type { WriteRestoreSummaryInput } from "../runs/restoreSummary.js";
import type { CatalogBackfillInput } from "../catalog/catalogBackfill.js";
import { ActivityNames } from "./activityNames.js";

export { ActivityNames };

export interface ActivityInputs {
  listImagesPage: ListRunImagesPageInput;
  readBatch: ReadBatchInput;
  writeBatchOutcomes: WriteBatchOutcomesInput;
  writeRunSummary: WriteRunSummaryInput;
  checkArchived: CheckArchivedInput;
  startJobExecution: StartJobExecutionInput;
  getJobExecution: GetJobExecutionInput;
  stopJobExecution: StopJobExecutionInput;
  readWorkerResult: ReadWorkerResultInput;
  resolveRestoreImages: ResolveRestoreImagesInput;
  checkRestoreTarget: RestoreTargetCheckRef;
  startRehydration: RestoreImageRef;
  getRehydrationState: RestoreImageRef;
  releaseStagingCopies: ReleaseStagingInput;
  writeRestoreSummary: WriteRestoreSummaryInput;
  backfillCatalogTags: CatalogBackfillInput;
}

export type ActivityName = keyof ActivityInputs;

export function callActivity<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  input: ActivityInputs[N],
): Task {
  return context.df.callActivity(ActivityNames[name], input);
}

export function callActivityWithRetry<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  retry: RetryOptions,
  input: ActivityInputs[N],
): Task {
  return context.df.callActivityWithRetry(ActivityNames[name], retry, input);
}
