// Orchestration: restore ONE image of a restore run. The target already answers the digest, its referrers and the
// tags it is restored under → already-present (nothing rehydrated, no job). Otherwise the archive is rehydrated BY COPY into its staging blob, claimed for this run
// (an earlier or concurrent restore's copy is reused), and waited for with durable timers (60 s → 120 … up to
// REHYDRATION_POLL_MAX_SECONDS, no compute while waiting, within the run's limit), then job executions in restore mode
// push it into the target (jobAttempts.ts, shared with archiveImage: start, polling, timeout, result, retries), the
// target is checked again, and the run releases its claim: the copy is deleted unless another restore
// still claims it. Never throws: a failure is an outcome with its reason. Deterministic.
import * as df from "durable-functions";
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import { z } from "zod";
import type { RestoreImageResult } from "../archive/runRestoreRequest.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { imageWorkItemSchema, type ImageOutcome, type ImageWorkItem } from "../runs/engine/workItem.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import { rehydrationPollDelaySeconds } from "../runs/runPolicy.js";
import {
  restoreImageRunContextSchema,
  targetRepository,
  type RestoreImagePhase,
  type RestoreImageRunContext,
} from "../runs/restoreRun.js";
import { restoreArchiveBlob, type RestoreTargetCheck } from "../runs/restoreTarget.js";
import type { RehydrationState } from "../storage/rehydration.js";
import { parseInput } from "../validation.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import { addSeconds, eachImageFailsAlone, runJobAttempts } from "./jobAttempts.js";

export const restoreImageInputSchema = z.strictObject({ run: restoreImageRunContextSchema, item: imageWorkItemSchema });
export type RestoreImageInput = z.output<typeof restoreImageInputSchema>;

const READ_RETRY = activityRetryOptions;

const restoreImage: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { run, item } = parseInput(OrchestrationNames.restoreImage, restoreImageInputSchema, context.df.getInput());
  assertInstanceOfRun("image", context.df.instanceId, run.runId);
  return yield* eachImageFailsAlone(context, item, (elapsed) => restoreOneImage(context, run, item, elapsed));
};

function* restoreOneImage(
  context: OrchestrationContext,
  run: RestoreImageRunContext,
  item: ImageWorkItem,
  elapsed: () => number,
): Generator<Task, ImageOutcome, unknown> {
  const ref = { run, repository: item.repository, digest: item.digest };
  const phase = (p: RestoreImagePhase["phase"]) => context.df.setCustomStatus({ phase: p } satisfies RestoreImagePhase);
  phase("checking");
  // Present means the digest, its referrers and every tag this restore pushes (a tag untagged or moved is restored).
  const checkRef = { ...ref, tags: item.tags };
  const check = (yield callActivityWithRetry(
    context,
    "checkRestoreTarget",
    READ_RETRY,
    checkRef,
  )) as RestoreTargetCheck;
  const done = (outcome: Omit<ImageOutcome, "repository" | "digest" | "tags" | "durationSeconds">): ImageOutcome => ({
    ...item,
    ...outcome,
    durationSeconds: elapsed(),
  });
  if (check.present) return done({ status: "already-present", attempts: 0 });
  if (!check.archived)
    return done({
      status: "failed",
      attempts: 0,
      error: { code: "INVALID_ARGUMENT", message: `${item.repository}@${item.digest} is not archived` },
    });
  if (run.dryRun)
    return done({ status: "would-restore", attempts: 0, ...(check.bytes !== undefined && { bytes: check.bytes }) });

  phase("rehydrating");
  // From the first startRehydration on, this run holds a claim on the copy; it is let go on every way out.
  const release = function* (deleteUnclaimed: boolean) {
    try {
      yield callActivityWithRetry(context, "releaseStagingCopies", READ_RETRY, { ...ref, deleteUnclaimed });
    } catch {
      // Left behind: the claim is stale once this run has ended, and the sweep deletes the copy when it is old.
    }
  };
  try {
    return yield* rehydrateAndRestore();
  } catch (failure) {
    yield* release(false);
    throw failure;
  }

  function* rehydrateAndRestore(): Generator<Task, ImageOutcome, unknown> {
    const waitStarted = context.df.currentUtcDateTime;
    const waited = () => Math.round((context.df.currentUtcDateTime.getTime() - waitStarted.getTime()) / 1000);
    const deadline = addSeconds(waitStarted, run.rehydrationTimeoutMinutes * 60);
    let state = (yield callActivityWithRetry(context, "startRehydration", READ_RETRY, ref)) as RehydrationState;
    for (let poll = 0; state.phase === "rehydrating"; poll++) {
      if (context.df.currentUtcDateTime >= deadline) {
        // The staging copy is left to finish: a later restore of this archive reuses it (or the sweep deletes it).
        yield* release(false);
        const message = `${state.archiveBlob} was still rehydrating (${run.rehydratePriority}) after ${run.rehydrationTimeoutMinutes} min`;
        return done({
          status: "failed",
          attempts: 0,
          waitedSeconds: waited(),
          error: { code: "REHYDRATION_TIMEOUT", message },
        });
      }
      const next = addSeconds(
        context.df.currentUtcDateTime,
        rehydrationPollDelaySeconds(poll, run.rehydrationPollMaxSeconds),
      );
      yield context.df.createTimer(next < deadline ? next : deadline);
      const polled = (yield callActivityWithRetry(
        context,
        "getRehydrationState",
        READ_RETRY,
        ref,
      )) as RehydrationState | null;
      // Gone (deleted by hand, or it failed): start it again.
      state =
        polled ?? ((yield callActivityWithRetry(context, "startRehydration", READ_RETRY, ref)) as RehydrationState);
    }
    const waitedSeconds = waited();

    phase("restoring");
    // Facts only: the archive, and whether it is read from its staging copy; the worker derives the rest from them.
    const restoreRequest = {
      archiveBlob: restoreArchiveBlob(ref),
      fromStaging: state.fromStaging,
      blobContainer: run.container,
      target: {
        registry: run.target.registry,
        repository: targetRepository(run.target, item.repository),
        // Exactly the tags the run resolved: an image asked for by digest gets none, so restoring an old digest never
        // moves a tag that has moved on since (its archive still records the tag).
        tags: item.tags,
      },
      // The referrers that arrived after the archive: pushed after it, from their own (rehydrated) supplements.
      ...(state.supplements?.length && { supplements: state.supplements }),
      runId: run.runId,
    };
    const attempts = yield* runJobAttempts<RestoreImageResult>(context, run, {
      start: (attemptId, reconcile) => ({
        restoreRequest: { ...restoreRequest, attemptId },
        reconcile,
        ...(run.maxParallel !== undefined && { workers: run.maxParallel }),
      }),
      result: (attemptId) => ({
        registry: run.registry,
        repository: item.repository,
        digest: item.digest,
        runId: run.runId,
        container: run.container,
        attemptId,
      }),
    });
    if (!attempts.succeeded) {
      // A copy that does not match its sidecar is of no use to a later restore; after other failures it is reused.
      yield* release(attempts.error.code === "DIGEST_MISMATCH");
      return done({ status: "failed", attempts: attempts.attempts, waitedSeconds, error: attempts.error });
    }
    // The worker read the target back; the orchestration checks it once more, from the app's side.
    const after = (yield callActivityWithRetry(
      context,
      "checkRestoreTarget",
      READ_RETRY,
      checkRef,
    )) as RestoreTargetCheck;
    yield* release(true);
    if (!after.present)
      return done({
        status: "failed",
        attempts: attempts.attempts,
        waitedSeconds,
        error: {
          code: "DIGEST_MISMATCH",
          message: `the target does not answer ${item.digest} (or a referrer, or a tag with it) after the restore`,
        },
      });
    const outcome: ImageOutcome = {
      ...item,
      tags: attempts.result.tags.length ? attempts.result.tags : item.tags,
      status: "restored",
      ...(attempts.result.bytes !== undefined && { bytes: attempts.result.bytes }),
      ...(check.sha256 && { sha256: check.sha256 }),
      attempts: attempts.attempts,
      durationSeconds: elapsed(),
      waitedSeconds,
    };
    return outcome;
  }
}

df.app.orchestration(OrchestrationNames.restoreImage, restoreImage);
