#!/usr/bin/env node
// The CLI for people: `acr-cold-archive archive <registry>/<repository>:<tag|@digest>`.
// Same code path as the worker job (runArchiveRequest); adds flags, a progress bar on a TTY and --json.
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { createReadStream } from "node:fs";
import { restoreImageArchive } from "../archive/restoreArchive.js";
import { readRegistrySettings, readWorkerConfig } from "../config.js";
import { formatIssues } from "../validation.js";
import { archiveRequestSchema } from "../archive/archiveRequest.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import { parseImageReference } from "../registry/reference.js";
import { describeError } from "../errors.js";
import { runArchiveRequest } from "../archive/runArchiveRequest.js";

const USAGE = `usage: acr-cold-archive archive <registry>/<repository>[:<tag>|@<digest>] [options]
       acr-cold-archive restore <archive.tar.gz | -> <registry>/<repository>[:<tag>] [--json]

restore pushes every blob and manifest of an archive byte for byte (the original digests), checking each digest;
without :<tag> the root is pushed under the tags recorded in the archive.

archive options:
  --container <name>        blob container (default: images)
  --blob-base-name <name>   explicit archive blob name (the old queue message's blobBaseName)
  --run-id <id>             also write a result blob under runs/<id>/results/
  --refresh-referrers       already archived: archive the referrers that arrived since, as a supplementary archive
  --json                    print one JSON result on stdout
  -h, --help                show this help

storage:  AZURE_STORAGE_CONNECTION_STRING, or STORAGE_ACCOUNT_URL / STORAGE_ACCOUNT with DefaultAzureCredential
registry: ACR_USERNAME + ACR_PASSWORD, Entra ID for *.azurecr.io, or anonymous (REGISTRY_AUTH to force one)`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        container: { type: "string", default: "images" },
        "blob-base-name": { type: "string" },
        "run-id": { type: "string" },
        "refresh-referrers": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, image, ...extra] = positionals;
  if (command === "restore") return restore(positionals.slice(1), values.json);
  if (command !== "archive") throw new UsageError(command ? `unknown command "${command}"` : "missing command");
  if (!image) throw new UsageError("missing image reference");
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);

  const request = archiveRequestSchema.safeParse({
    image,
    blobContainer: values.container,
    ...(values["blob-base-name"] !== undefined && { blobBaseName: values["blob-base-name"] }),
    ...(values["run-id"] !== undefined && { runId: values["run-id"] }),
    ...(values["refresh-referrers"] && { refreshReferrers: true }),
  });
  if (!request.success) throw new UsageError(formatIssues(request.error).join("; "));
  // A person's own command line names the registry: ACR_USERNAME/ACR_PASSWORD belong to it unless ACR_LOGIN_SERVER says.
  const config = readWorkerConfig({
    ACR_LOGIN_SERVER: parseImageReference(request.data.image).registry.toLowerCase(),
    ...process.env,
  });

  const showBar = process.stderr.isTTY && !values.json;
  const bar = showBar
    ? new cliProgress.SingleBar(
        { format: " {phase} [{bar}] {percentage}% {value}/{total} MiB", hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let barStarted = false;
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new Error("SIGINT")));
  try {
    const result = await runArchiveRequest(request.data, config, {
      abortSignal: abort.signal,
      onProgress: ({ phase, bytes, totalBytes }) => {
        if (!bar) return;
        const mib = (n: number) => Math.round(n / 1048576);
        if (!barStarted && totalBytes > 0) {
          bar.start(Math.max(mib(totalBytes), 1), 0, { phase });
          barStarted = true;
        }
        if (barStarted) bar.update(mib(bytes), { phase });
      },
    });
    bar?.stop();
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const size =
        result.bytes !== undefined
          ? ` (${(result.bytes / 1048576).toFixed(1)} MiB, sha256 ${result.sha256?.slice(0, 12)}…)`
          : "";
      process.stdout.write(`${result.status}: ${result.image} -> ${result.container}/${result.archiveBlob}${size}\n`);
    }
    return 0;
  } finally {
    bar?.stop();
  }
}

async function restore(args: string[], json: boolean): Promise<number> {
  const [file, target, ...extra] = args;
  if (!file || !target)
    throw new UsageError("restore needs an archive file (or -) and a target <registry>/<repository>[:<tag>]");
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  let ref;
  try {
    ref = parseImageReference(target);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (ref.digest) throw new UsageError("a restore target names a repository and optionally a tag, not a digest");
  const explicitTag = /:[^/]+$/.test(target) ? ref.tag : undefined;
  const access = readRegistrySettings({ ACR_LOGIN_SERVER: ref.registry.toLowerCase(), ...process.env });
  const client = createRegistryClientFactory({ auth: access.auth, insecure: access.insecure })(ref.registry);
  const source = file === "-" ? process.stdin : createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    source.once("error", (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`cannot read ${file}: ${error.code ?? error.message}`)),
    );
    source.once("readable", () => resolve());
  });
  await opened;
  const name = file === "-" ? "standard input" : file;
  const result = await restoreImageArchive(source, client, ref.repository, {
    name,
    ...(explicitTag && { tags: [explicitTag] }),
  });
  const external = result.externalLayers ? `, ${result.externalLayers} external layers left to their URLs` : "";
  const referrers = result.referrers
    ? `, ${result.referrers} referrers (listed by the ${result.referrersListedBy ?? "cosign tags"})`
    : "";
  const counts = `${result.blobsPushed} blobs pushed, ${result.blobsPresent} already there, ${result.manifests} manifests${external}${referrers}`;
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      `restored ${result.registry}/${result.repository}@${result.digest} as ${result.tags.join(", ") || "(untagged)"}: ${counts}\n`,
    );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`acr-cold-archive: ${error.message} (see --help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`acr-cold-archive: ${describeError(error)}\n`);
      process.exitCode = 1;
    }
  },
);
