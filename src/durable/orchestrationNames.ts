// The orchestrations' names, below both the orchestrators that register under them and the client code that starts
// and watches them (durable/runClient.ts), so that neither imports the other.
export const OrchestrationNames = {
  archiveRun: "archiveRun",
  runBatch: "runBatch",
  archiveImage: "archiveImage",
  restoreRun: "restoreRun",
  restoreImage: "restoreImage",
} as const;
