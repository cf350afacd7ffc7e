// Orchestration: one archive run of one registry. Lists the images page by page (one activity per catalog page of
// repositories: filters applied, already archived ones counted and left out, the rest written as that page's batches;
// the continuation is a repository name in this history), then runs the batches one after another as
// sub-orchestrations (batchLoop.ts, shared with restore runs), and writes the run summary. Progress (counts only) goes to custom status. After STEPS_PER_GENERATION
// pages and batches it continues as new, so its history stays bounded for any registry size, and a crash or a
// timeout costs the page or batch in flight, never the listing so far.
import * as df from "durable-functions";
import { OrchestrationNames } from "../durable/orchestrationNames.js";
import { parseInput } from "../validation.js";
import { activityRetryOptions } from "../durable/activityRetry.js";
import type { OrchestrationContext, OrchestrationHandler } from "durable-functions";
import { z } from "zod";
import { batchLoopStateShape, totalsSchema } from "../runs/engine/runState.js";
import {
  archiveCounting,
  archiveRunInputSchema,
  batchRunContext,
  type ArchiveRunOutput,
  type RunProgress,
  type RunTotals,
} from "../runs/archiveRun.js";
import { assertInstanceOfRun } from "../runs/instanceIds.js";
import { isValidRepository } from "../registry/reference.js";
import { emptyTotals } from "../runs/engine/outcomeCounting.js";
import { callActivityWithRetry } from "../activities/activityCalls.js";
import type { ListImagesPageResult } from "../runs/listRunImages.js";
import { referrerProbeStateSchema } from "../runs/referrerProbe.js";
import type { RunBatchInput } from "./runBatch.js";
import "./runBatch.js"; // registers the child orchestrations
import { BATCHES_PER_GENERATION, runBatchLoop } from "./batchLoop.js";
import type { CatalogBackfillResult } from "../catalog/catalogBackfill.js";
import { firstLine } from "../errors.js";

/** Listing pages plus batches one generation runs before it continues as new (~4 history events each). */
const STEPS_PER_GENERATION = BATCHES_PER_GENERATION;

const count = z.number().int().min(0);
const runStateSchema = z.strictObject({
  ...batchLoopStateShape,
  startedAtUtc: z.iso.datetime(),
  listing: z.strictObject({
    /** Pages listed so far (the next page's number). */
    pages: count.max(1_000_000),
    /** The repository the catalog continues after. */
    after: z.string().refine(isValidRepository, "must be a repository name").optional(),
    done: z.boolean(),
    /** The time every page measures olderThanDays from (the listing's start). */
    nowUtc: z.iso.datetime(),
  }),
  totals: totalsSchema(archiveCounting),
  /** Requests the listing made to the registry. */
  registryRequests: count.default(0),
  /** refreshReferrers: requests the listing's referrer probes made (of the run's budget). */
  referrerRequests: count.default(0),
  /** refreshReferrers: the probes' cursor as the pages so far left it, and whether the budget ran out. */
  referrerProbe: referrerProbeStateSchema.optional(),
});
type RunState = z.output<typeof runStateSchema>;

/** The run, plus (after continue-as-new) where it is. */
export const archiveRunOrchestrationInputSchema = archiveRunInputSchema.extend({ state: runStateSchema.optional() });
type ArchiveRunOrchestrationInput = z.output<typeof archiveRunOrchestrationInputSchema>;

const archiveRun: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { state: savedState, ...run } = parseInput(
    OrchestrationNames.archiveRun,
    archiveRunOrchestrationInputSchema,
    context.df.getInput(),
  );
  assertInstanceOfRun("run", context.df.instanceId, run.runId);
  const progress = (state: RunState | undefined, phase: RunProgress["phase"]): RunProgress => ({
    ...(state?.totals ?? emptyTotals(archiveCounting)),
    running: 0,
    batches: state?.batchCount ?? 0,
    batchesDone: state?.nextBatch ?? 0,
    phase,
  });

  let state: RunState = savedState ?? {
    startedAtUtc: run.requestedAtUtc,
    listing: { pages: 0, done: false, nowUtc: context.df.currentUtcDateTime.toISOString() },
    batchCount: 0,
    nextBatch: 0,
    totals: emptyTotals(archiveCounting),
    jobExecutions: 0,
    registryRequests: 0,
    referrerRequests: 0,
    failedBatches: [],
  };
  let steps = 0;
  const continueAsNew = () => context.df.continueAsNew({ ...run, state } satisfies ArchiveRunOrchestrationInput);

  while (!state.listing.done) {
    if (steps++ >= STEPS_PER_GENERATION) return continueAsNew();
    context.df.setCustomStatus(progress(state, "listing"));
    const { listing } = state;
    // The page's images and batches are in its blob before this returns: a retry or a restart resumes here.
    const page: ListImagesPageResult = yield callActivityWithRetry(context, "listImagesPage", activityRetryOptions, {
      run,
      nowUtc: listing.nowUtc,
      page: listing.pages,
      ...(listing.after !== undefined && { after: listing.after }),
      firstBatch: state.batchCount,
      referrerRequestsUsed: state.referrerRequests,
      ...(state.referrerProbe && { referrerProbe: state.referrerProbe }),
    });
    state = {
      ...state,
      listing: {
        pages: listing.pages + 1,
        ...(page.next !== undefined && { after: page.next }),
        done: page.next === undefined,
        nowUtc: listing.nowUtc,
      },
      batchCount: state.batchCount + page.batchCount,
      totals: {
        ...state.totals,
        total: state.totals.total + page.total,
        alreadyArchived: state.totals.alreadyArchived + page.alreadyArchived,
        verified: state.totals.verified + (page.alreadyVerified ?? 0),
      },
      registryRequests: state.registryRequests + page.registryRequests,
      referrerRequests: state.referrerRequests + (page.referrers?.requests ?? 0),
      ...(page.referrerProbe && { referrerProbe: page.referrerProbe }),
    };
  }

  const finished = yield* runBatchLoop<RunTotals, RunState>(context, state, {
    runId: run.runId,
    stepsTaken: steps,
    batchInput: (batchIndex): RunBatchInput => ({ kind: "archive", run: batchRunContext(run), batchIndex }),
    counting: archiveCounting,
    // A failed batch's images are counted as failed by the summary, which reads them from the batch's blob (pages
    // make batches of different sizes: the orchestration does not know how many).
    failBatch: (s) => s.totals,
    onProgress: (s) => context.df.setCustomStatus(progress(s, "archiving")),
    continueAsNew: (s) => context.df.continueAsNew({ ...run, state: s } satisfies ArchiveRunOrchestrationInput),
  });
  if (!finished) return undefined;
  state = finished;

  context.df.setCustomStatus(progress(state, "summarizing"));
  // Archives written before blob index tags get theirs, a budget a run (never a reason for the run to fail).
  let catalogBackfill: CatalogBackfillResult | undefined;
  if (!run.dryRun) {
    try {
      catalogBackfill = yield callActivityWithRetry(context, "backfillCatalogTags", activityRetryOptions, {
        registry: run.registry,
        container: run.container,
      });
    } catch (error) {
      catalogBackfill = { examined: 0, indexed: 0, done: false, error: firstLine(error, 500) };
    }
  }
  const summary: { summaryBlob: string; totals: RunTotals } = yield callActivityWithRetry(
    context,
    "writeRunSummary",
    activityRetryOptions,
    {
      run,
      listingPages: state.listing.pages,
      batchCount: state.batchCount,
      failedBatches: state.failedBatches,
      startedAtUtc: state.startedAtUtc,
      endedAtUtc: context.df.currentUtcDateTime.toISOString(),
      jobExecutions: state.jobExecutions,
      registryRequests: state.registryRequests,
      ...(catalogBackfill && { catalogBackfill }),
    },
  );
  context.df.setCustomStatus({ ...progress(state, "done"), ...summary.totals });
  const output: ArchiveRunOutput = {
    runId: run.runId,
    registry: run.registry,
    summaryBlob: summary.summaryBlob,
    container: run.container,
    dryRun: run.dryRun,
    totals: { ...summary.totals, jobExecutions: state.jobExecutions },
    registryRequests: state.registryRequests,
  };
  return output;
};

df.app.orchestration(OrchestrationNames.archiveRun, archiveRun);
