#!/usr/bin/env node
// The Container Apps Job entrypoint: archives the one image named by ARCHIVE_REQUEST (or QUEUE_MESSAGE_FILE), or, in
// restore mode, pushes the one archive named by RESTORE_REQUEST into its target registry (job.ts).
// Exit 0 when archived, already archived or restored; otherwise exit 1 with one line on stderr that says why.
// The heap policy is set before the job's modules are loaded: loading them alone grows V8's young generation to its
// largest, which the policy keeps small (heapPolicy.ts).
import { applyStreamingHeapPolicy } from "../heapPolicy.js";

applyStreamingHeapPolicy();
const { runWorkerJob } = await import("./job.js");
await runWorkerJob();
