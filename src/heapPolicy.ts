// V8's heap policy for a process that streams an archive (the worker, the CLI). Node 20's V8 counts the ArrayBuffer
// bytes allocated since the last full GC against the old generation's limit, and once it has seen how little our
// JS heap grows (~20 MB live) it sets that limit only ~20 MB above it. Every network chunk is a fresh ArrayBuffer: V8
// scavenges when ~32 MB of them are young, and at that moment the chunks not yet swept exceed the slack, so every
// such scavenge started a full Mark-Compact as well: 30-80 per GiB, 2-3 s of CPU per GiB (measured on the 1 GiB
// loopback bench, /proc per-thread CPU and --trace-gc; at commit 82a4665 the same happened in some runs, not all).
// A growing factor of 3 (limit = 3 x the live heap) leaves that slack: 6-13 Mark-Compacts per GiB, for ~20 MB more
// peak RSS. The factor applies to the next limit V8 computes, so setting it at start-up is enough.
import v8 from "node:v8";

/** The old generation's limit after a full GC, as a growth over its live size: factor 1 + HEAP_GROWING_PERCENT/100. */
export const HEAP_GROWING_PERCENT = 200;

export function applyStreamingHeapPolicy(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
