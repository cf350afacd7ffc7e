// The kinds of run, as data: what the engine (the batch orchestration, the batch loop, the status endpoint) needs to
// know of each — its orchestrations, how it counts outcomes, what one item's orchestration gets, what a running item
// counts as while its wave is in flight. Everything else about a kind lives in its own model (archiveRun.ts,
// restoreRun.ts under src/runs). Pure: orchestrators read it; it sits here, beside the orchestrations' names.
import { OrchestrationNames } from "./orchestrationNames.js";
import {
  archiveCounting,
  imageRunContext,
  type BatchRunContext,
  type ImageRunContext,
  type RunTotals,
} from "../runs/archiveRun.js";
import { type ImageWorkItem } from "../runs/engine/workItem.js";
import {
  restoreCounting,
  restoreImageRunContext,
  type RestoreBatchRunContext,
  type RestoreImagePhase,
  type RestoreImageRunContext,
  type RestoreTotals,
} from "../runs/restoreRun.js";
import type { OutcomeCounting, Totals } from "../runs/engine/outcomeCounting.js";
import {
  isRestoreRunInstanceId,
  isRunInstanceId,
  registryOfRunInstanceId,
  targetOfRestoreRunInstanceId,
  type RunKindName,
} from "../runs/instanceIds.js";

export type { RunKindName };

export interface RunKind<T extends Totals<T>, BatchRun, ItemRun> {
  name: RunKindName;
  /** The orchestration of a whole run, and the one each item of a batch runs. */
  runOrchestration: string;
  itemOrchestration: string;
  counting: OutcomeCounting<T>;
  /** A top-level instance id of this kind's runs. */
  isRunInstanceId: (instanceId: string) => boolean;
  /**
   * What a running run holds, one run at a time (the registry an archive run reads, the target a restore pushes to):
   * from its input, or the slug its instance id carries when the input is not shown.
   */
  subjectOf: (input: unknown, instanceId: string) => string;
  /** The run's custom status phase while its batches run (the status endpoint then reads the batch in flight). */
  batchPhase: string;
  /** What one item's orchestration gets of its batch's run. */
  itemRun: (run: BatchRun) => ItemRun;
  /** The progress counters of items still running, and which one a running item adds to (by its custom status). */
  liveKeys: readonly string[];
  liveKey: (itemStatus: unknown) => string;
}

export const archiveRunKind: RunKind<RunTotals, BatchRunContext, ImageRunContext> = {
  name: "archive",
  runOrchestration: OrchestrationNames.archiveRun,
  itemOrchestration: OrchestrationNames.archiveImage,
  counting: archiveCounting,
  isRunInstanceId,
  subjectOf: (input, instanceId) =>
    (input as { registry?: string } | undefined)?.registry ?? registryOfRunInstanceId(instanceId) ?? "",
  batchPhase: "archiving",
  itemRun: imageRunContext,
  liveKeys: ["running"],
  liveKey: () => "running",
};

export const restoreRunKind: RunKind<RestoreTotals, RestoreBatchRunContext, RestoreImageRunContext> = {
  name: "restore",
  runOrchestration: OrchestrationNames.restoreRun,
  itemOrchestration: OrchestrationNames.restoreImage,
  counting: restoreCounting,
  isRunInstanceId: isRestoreRunInstanceId,
  subjectOf: (input, instanceId) =>
    (input as { target?: { registry?: string } } | undefined)?.target?.registry ??
    targetOfRestoreRunInstanceId(instanceId) ??
    "",
  batchPhase: "restoring",
  itemRun: restoreImageRunContext,
  liveKeys: ["rehydrating", "restoring"],
  // Checking counts as waiting for the archive.
  liveKey: (itemStatus) =>
    (itemStatus as RestoreImagePhase | undefined)?.phase === "restoring" ? "restoring" : "rehydrating",
};

export const runKinds = { archive: archiveRunKind, restore: restoreRunKind } as const satisfies Record<
  RunKindName,
  unknown
>;

/** A work item's orchestration input, whatever the kind: its run's context and the item. */
export interface ItemInput<ItemRun> {
  run: ItemRun;
  item: ImageWorkItem;
}
