// V8's heap policy for a process that streams an archive (the worker, the CLI). Node 20's V8 counts the ArrayBuffer
// bytes allocated since the last full GC against the old generation's limit, and once it has seen how little our JS
// heap grows (~20 MB live) it sets that limit only ~20 MB above it. Every network chunk is a fresh ArrayBuffer: V8
// scavenges when ~32 MB of them are young, and at that moment the chunks not yet swept exceed the slack, so every such
// scavenge started a full Mark-Compact as well: 30-80 per GiB, 2-3 s of CPU per GiB (measured on the 1 GiB loopback
// bench: /proc per-thread CPU, --trace-gc; at commit 82a4665 this happened in some runs, not in most).
// - A growing factor of 3 (the limit 3 x the live heap) leaves that slack: ~13 Mark-Compacts per GiB.
// - The young generation stays at its initial size (semi-spaces of 1 MB, not 16): the JS heap allocates little, and the
//   16 MB semi-spaces were ~25 MB of peak RSS. Scavenges get more frequent (cheap: little survives) and more of the
//   chunks read ahead get promoted, ~25 Mark-Compacts per GiB in all, still a third of the CPU they cost before.
// V8 reads both whenever it next sizes its heap; the young generation's only helps before it has grown, and loading our
// modules alone grows it to 16 MB: the worker sets the policy before it loads them (worker/main.ts), the CLI at start.
import v8 from "node:v8";

/** The old generation's limit after a full GC, as a growth over its live size: factor 1 + HEAP_GROWING_PERCENT/100. */
export const HEAP_GROWING_PERCENT = 200;

export function applyStreamingHeapPolicy(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  v8.setFlagsFromString("--semi-space-growth-factor=1");
}
