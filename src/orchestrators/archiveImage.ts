// Orchestration: ONE image. Skip it when its digest is already archived; otherwise run job executions with the
// image's request (jobAttempts.ts: start, durable-timer polling, timeout, result, retries; shared with restoreImage).
// It never throws: a failure is an outcome with its reason. Deterministic: time comes only from
// currentUtcDateTime, and everything it knows arrives through activities.
import type { ErrorSummary } from "../errors.js";
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import { z } from "zod";
import { imageRunContextSchema, type ImageRunContext } from "../runs/archiveRun.js";
import { imageWorkItemSchema, type ImageOutcome, type ImageWorkItem } from "../runs/engine/workItem.js";
import { MAX_TAGS_PER_REQUEST } from "../runs/runPolicy.js";
import { outcomeFromResult } from "../runs/runTotals.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import type { ArchivedImageInfo } from "../storage/archiveStore.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import { eachImageFailsAlone, runJobAttempts } from "./jobAttempts.js";

export const archiveImageInputSchema = z.strictObject({ run: imageRunContextSchema, item: imageWorkItemSchema });
export type ArchiveImageInput = z.output<typeof archiveImageInputSchema>;

// Reads are idempotent: transient failures are retried by the framework, 4 times from 5 s.
const READ_RETRY = activityRetryOptions;

const archiveImage: OrchestrationHandler = function* (context: OrchestrationContext) {
  // A forged input (the webhook key starts any orchestration) ends here, Failed with what was wrong.
  const { run, item } = parseInput(OrchestrationNames.archiveImage, archiveImageInputSchema, context.df.getInput());
  assertInstanceOfRun("image", context.df.instanceId, run.runId);
  return yield* eachImageFailsAlone(context, item, (elapsed) => archiveOneImage(context, run, item, elapsed));
};

function* archiveOneImage(
  context: OrchestrationContext,
  run: ImageRunContext,
  item: ImageWorkItem,
  elapsed: () => number,
): Generator<Task, ImageOutcome, unknown> {
  const image = { registry: run.registry, repository: item.repository, digest: item.digest };
  const existing = (yield callActivityWithRetry(context, "checkArchived", READ_RETRY, {
    run,
    repository: item.repository,
    digest: item.digest,
  })) as ArchivedImageInfo;
  // Archived, and the listing found referrers its archive lacks: the job writes them into a supplementary archive.
  const refreshReferrers = existing.archived && item.refreshReferrers === true;
  if (existing.archived && !refreshReferrers) {
    const outcome: ImageOutcome = {
      ...item,
      status: "already-archived",
      ...(existing.bytes !== undefined && { bytes: existing.bytes }),
      ...(existing.sha256 && { sha256: existing.sha256 }),
      ...(existing.verified && { verified: true as const }),
      attempts: 0,
      durationSeconds: elapsed(),
    };
    return outcome;
  }

  if (item.tags.length > MAX_TAGS_PER_REQUEST) {
    const error: ErrorSummary = {
      code: "INVALID_ARGUMENT",
      message: `${item.tags.length} tags point at this digest; an archive records at most ${MAX_TAGS_PER_REQUEST}`,
    };
    const refused: ImageOutcome = { ...item, status: "failed", attempts: 0, durationSeconds: elapsed(), error };
    return refused;
  }
  // The image as values: the worker fetches it by digest and records its tags (the first as the one asked for).
  const base = {
    ...image,
    tags: item.tags,
    blobContainer: run.container,
    runId: run.runId,
    ...(refreshReferrers && { refreshReferrers }),
  };
  const attempts = yield* runJobAttempts<ArchiveImageResult>(context, run, {
    start: (attemptId, reconcile) => ({
      request: { ...base, attemptId },
      reconcile,
      ...(run.maxParallel !== undefined && { workers: run.maxParallel }),
    }),
    result: (attemptId) => ({ ...image, runId: run.runId, container: run.container, attemptId }),
  });
  if (attempts.succeeded) return outcomeFromResult(item, attempts.result, attempts.attempts, elapsed());
  const failed: ImageOutcome = {
    ...item,
    status: "failed",
    attempts: attempts.attempts,
    durationSeconds: elapsed(),
    error: attempts.error,
    ...(attempts.registryRequests !== undefined && { registryRequests: attempts.registryRequests }),
  };
  return failed;
}

df.app.orchestration(OrchestrationNames.archiveImage, archiveImage);
