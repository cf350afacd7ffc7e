// The worker job itself (ARCHIVE_REQUEST or RESTORE_REQUEST), loaded by main.ts once the heap policy is set.
import { readWorkerConfig } from "../config.js";
import { ArchiveError, describeError } from "../errors.js";
import { readRequestFromEnvironment, runArchiveRequest } from "../archive/runArchiveRequest.js";
import { readRestoreRequest, runRestoreRequest } from "../archive/runRestoreRequest.js";

async function main(): Promise<void> {
  const config = readWorkerConfig(process.env);
  if (config.archiveContainer === undefined) {
    throw new ArchiveError(
      "CONFIG_INVALID",
      "ARCHIVE_CONTAINER: is required for the worker job (the one container it may write; the deployment sets it)",
    );
  }
  const abort = new AbortController();
  process.once("SIGTERM", () => abort.abort(new Error("SIGTERM")));
  if (config.restoreRequestJson !== undefined) {
    if (config.archiveRequestJson !== undefined)
      throw new ArchiveError("CONFIG_INVALID", "ARCHIVE_REQUEST and RESTORE_REQUEST: set one, not both");
    // Where it may push comes from its own env: none by default, and then every restore is refused.
    if (config.restoreTargetRegistries.length === 0)
      throw new ArchiveError(
        "CONFIG_INVALID",
        "RESTORE_TARGET_REGISTRIES: is required for a restore (the registries this job may push to; the deployment names them)",
      );
    const request = readRestoreRequest(config.restoreRequestJson);
    const result = await runRestoreRequest(request, config, { abortSignal: abort.signal, requireTargets: true });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  // The job must know what it may read: its request comes from an orchestration input, which can be forged.
  if (config.allowedRegistries.length === 0) {
    throw new ArchiveError(
      "CONFIG_INVALID",
      "ALLOWED_REGISTRIES: is required for the worker job (the registries it may read; the deployment sets the source registry)",
    );
  }
  const request = await readRequestFromEnvironment(config);
  const result = await runArchiveRequest(request, config, { abortSignal: abort.signal });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs the job: its result on stdout; on failure one line on stderr and exit code 1. */
export function runWorkerJob(): Promise<void> {
  return main().catch((error: unknown) => {
    process.stderr.write(`acr-cold-archive worker: ${describeError(error)}\n`);
    process.exitCode = 1;
  });
}
