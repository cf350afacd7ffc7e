#!/usr/bin/env node
// The Container Apps Job entrypoint: archives the one image named by ARCHIVE_REQUEST (or QUEUE_MESSAGE_FILE).
// Exit 0 when archived or already archived; otherwise exit 1 with one line on stderr that says why.
import { readWorkerConfig } from "../config.js";
import { ArchiveError, describeError } from "../errors.js";
import { readRequestFromEnvironment, runArchiveRequest } from "../archive/runArchiveRequest.js";

async function main(): Promise<void> {
  const config = readWorkerConfig(process.env);
  // The job must know what it may read: its request comes from an orchestration input, which can be forged.
  if (config.allowedRegistries.length === 0) {
    throw new ArchiveError(
      "CONFIG_INVALID",
      "ALLOWED_REGISTRIES: is required for the worker job (the registries it may read; the deployment sets the source registry)",
    );
  }
  if (config.archiveContainer === undefined) {
    throw new ArchiveError(
      "CONFIG_INVALID",
      "ARCHIVE_CONTAINER: is required for the worker job (the one container it may write; the deployment sets it)",
    );
  }
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
