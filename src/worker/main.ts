#!/usr/bin/env node
// The Container Apps Job entrypoint: archives the one image named by ARCHIVE_REQUEST (or QUEUE_MESSAGE_FILE).
// Exit 0 when archived or already archived; otherwise exit 1 with one line on stderr that says why.
import { readWorkerConfig } from "../config.js";
import { describeError } from "../errors.js";
import { readRequestFromEnvironment, runArchiveRequest } from "./runArchiveRequest.js";

async function main(): Promise<void> {
  const config = readWorkerConfig(process.env);
  const request = await readRequestFromEnvironment(config);
  const abort = new AbortController();
  process.once("SIGTERM", () => abort.abort(new Error("SIGTERM")));
  const result = await runArchiveRequest(request, config, { abortSignal: abort.signal });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`acr-cold-archive worker: ${describeError(error)}\n`);
  process.exitCode = 1;
});
