// Every Durable instance id of a run, built and parsed here only:
//   archive-<registry slug>-<UTC time to the ms>-<6 hex>     an archive run (archiveRun)
//   restore-<target slug>-<UTC time to the ms>-<6 hex>       a restore run (restoreRun), named after its target
//   <run>:batch:<n>                                          its n-th batch (runBatch)
//   <run>:batch:<n>:<i>                                      the i-th image of that batch (archiveImage)
// Sortable, they say which registry a run is for, and are unique even for two runs started in the same millisecond
// (a reused id would replace a finished run and its summary). Children's ids derive from the parent's, as the Durable
// samples do, so the status endpoint finds the batch and the images in flight without listing instances.
import { randomBytes } from "node:crypto";
import { ArchiveError } from "../errors.js";

const RUN_ID = /^archive-([a-z0-9-]+)-(\d{8}T\d{9}Z)-[a-f0-9]{6}$/;
const RESTORE_RUN_ID = /^restore-([a-z0-9-]+)-(\d{8}T\d{9}Z)-[a-f0-9]{6}$/;

export type RunKindName = "archive" | "restore";

/** Each kind's top-level run ids (a kind added here is listed by GET /api/runs). */
const RUN_IDS: Record<RunKindName, RegExp> = { archive: RUN_ID, restore: RESTORE_RUN_ID };
export const runKindNames = Object.keys(RUN_IDS) as RunKindName[];

/** A top-level run's instance id, taken apart: its kind, the slug it carries and when it was started (to the ms). */
export interface ParsedRunInstanceId {
  kind: RunKindName;
  /** The registry's slug (an archive run), the target's (a restore run): registrySlug of it. */
  slug: string;
  /** ISO 8601, from the id's UTC time. */
  startedAt: string;
}

export function parseRunInstanceId(instanceId: string): ParsedRunInstanceId | undefined {
  for (const kind of runKindNames) {
    const match = RUN_IDS[kind].exec(instanceId);
    if (!match) continue;
    const t = match[2]!;
    const startedAt = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`;
    return { kind, slug: match[1]!, startedAt };
  }
  return undefined;
}

export function registrySlug(registry: string): string {
  return registry
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 100);
}

export function runInstanceId(
  registry: string,
  now: Date,
  random = randomBytes(3).toString("hex"),
  kind: RunKindName = "archive",
): string {
  const stamp = now.toISOString().replace(/[-:.]/g, "");
  return `${kind}-${registrySlug(registry)}-${stamp}-${random}`;
}

/** An archive run's id. */
export function isRunInstanceId(instanceId: string): boolean {
  return RUN_ID.test(instanceId);
}

/** A restore run's id. */
export function isRestoreRunInstanceId(instanceId: string): boolean {
  return RESTORE_RUN_ID.test(instanceId);
}

/** The target slug of a restore run's instance id. */
export function targetOfRestoreRunInstanceId(instanceId: string): string | undefined {
  return RESTORE_RUN_ID.exec(instanceId)?.[1];
}

/** The registry slug of a run's instance id, as runInstanceId wrote it. */
export function registryOfRunInstanceId(instanceId: string): string | undefined {
  return RUN_ID.exec(instanceId)?.[1];
}

export function batchInstanceId(runInstanceId: string, batchIndex: number): string {
  return `${runInstanceId}:batch:${batchIndex}`;
}

export function imageInstanceId(batchInstanceId: string, indexInBatch: number): string {
  return `${batchInstanceId}:${indexInBatch}`;
}

/**
 * An orchestration runs under the id its run gives it, or not at all: a forged start under another id must not write
 * into a real run's records (runs/<runId>/…), nor a run's batch claim another run's id. Pure: orchestrators call it.
 */
export function assertInstanceOfRun(
  kind: "run" | "batch" | "image",
  instanceId: string,
  runId: string,
  batchIndex?: number,
): void {
  const ok =
    kind === "run"
      ? instanceId === runId && (isRunInstanceId(runId) || isRestoreRunInstanceId(runId))
      : kind === "batch"
        ? instanceId === batchInstanceId(runId, batchIndex ?? -1)
        : instanceId.startsWith(`${runId}:batch:`) && /^\d+:\d+$/.test(instanceId.slice(runId.length + 7));
  if (!ok)
    throw new ArchiveError(
      "INVALID_ARGUMENT",
      `instance ${instanceId} is not ${kind === "image" ? "an" : "a"} ${kind} instance of run ${runId}`,
    );
}
