// Every activity of the app, by the name it registers under: imported by each activity file (to register) and by
// activityCalls.ts (to call), so that neither imports the other.
export const ActivityNames = {
  listImagesPage: "listImagesPage",
  readBatch: "readBatch",
  writeBatchOutcomes: "writeBatchOutcomes",
  writeRunSummary: "writeRunSummary",
  checkArchived: "checkArchived",
  startJobExecution: "startJobExecution",
  getJobExecution: "getJobExecution",
  stopJobExecution: "stopJobExecution",
  readWorkerResult: "readWorkerResult",
  resolveRestoreImages: "resolveRestoreImages",
  checkRestoreTarget: "checkRestoreTarget",
  startRehydration: "startRehydration",
  getRehydrationState: "getRehydrationState",
  releaseStagingCopies: "releaseStagingCopies",
  writeRestoreSummary: "writeRestoreSummary",
  backfillCatalogTags: "backfillCatalogTags",
} as const;
