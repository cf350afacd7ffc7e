// Orchestration state on disk, for a host started with --state-dir: one JSON file per instance (written whole, to a
// temporary name and renamed, so a killed host leaves each file either old or new, never torn), and the orchestration
// clock's origin. What is stored is the state between episodes: status, input and output, custom status, history,
// the replay mirror, the messages not yet processed. Work in flight (activities, timers, a child not yet started) is
// not stored: it is what the history scheduled and does not show done, and a restarted host schedules it again, as
// the Azure Storage backend redelivers its queue messages (activities run at least once).
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InboxItem, ParentLink, RuntimeStatus } from "./orchestrationInstance.js";
import type { ReplayMirrorSnapshot } from "./replayMirror.js";

export interface StoredInstance {
  instanceId: string;
  name: string;
  parent: ParentLink | undefined;
  runtimeStatus: RuntimeStatus;
  createdTime: number;
  lastUpdatedTime: number;
  executionId: string;
  inputJson: string | undefined;
  outputJson: string | undefined;
  customStatusJson: string | undefined;
  historyText: string;
  inbox: InboxItem[];
  lastEpisodeTime: number;
  mirror: ReplayMirrorSnapshot;
}

export class InstanceStore {
  private readonly instancesDir: string;

  constructor(readonly dir: string) {
    this.instancesDir = join(dir, "instances");
    mkdirSync(this.instancesDir, { recursive: true });
  }

  save(instance: StoredInstance): void {
    const file = join(this.instancesDir, `${encodeURIComponent(instance.instanceId)}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(instance));
    renameSync(`${file}.tmp`, file);
  }

  loadAll(): StoredInstance[] {
    return readdirSync(this.instancesDir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => JSON.parse(readFileSync(join(this.instancesDir, name), "utf8")) as StoredInstance);
  }

  /** The orchestration clock's origin: kept, so orchestration time goes on from where the last host left it. */
  clockOrigin(fallback: number): number {
    const file = join(this.dir, "clock.json");
    try {
      return (JSON.parse(readFileSync(file, "utf8")) as { origin: number }).origin;
    } catch {
      writeFileSync(file, JSON.stringify({ origin: fallback }));
      return fallback;
    }
  }
}
