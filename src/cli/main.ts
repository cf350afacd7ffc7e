#!/usr/bin/env node
// The CLI for people: `acr-cold-archive archive <registry>/<repository>:<tag|@digest>`, `restore`, and `find` (the catalog).
// Same code path as the worker job (runArchiveRequest); adds flags, a progress bar on a TTY and --json.
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { createReadStream } from "node:fs";
import { restoreImageArchive } from "../archive/restoreArchive.js";
import { readCostSettings, readRegistrySettings, readRestoreLimits, readWorkerConfig } from "../config.js";
import { queryCatalog, type CatalogPage } from "../catalog/catalog.js";
import { CATALOG_MAX_PAGE_SIZE, parseCatalogQuery } from "../catalog/catalogQuery.js";
import { readRegistryStorage } from "../registry/registryStorage.js";
import { formatIssues } from "../validation.js";
import { referenceArchiveRequestSchema } from "../archive/archiveRequest.js";
import { createRegistryClientFactory } from "../registry/createRegistryClient.js";
import { parseImageReference } from "../registry/reference.js";
import { describeError, isArchiveError } from "../errors.js";
import { applyStreamingHeapPolicy } from "../heapPolicy.js";
import { runArchiveRequest } from "../archive/runArchiveRequest.js";
import { setTimeout as sleep } from "node:timers/promises";
import { ArchiveError } from "../errors.js";
import { assertRestoreRequestInScope, restoreRequestSchema } from "../archive/restoreRequest.js";
import { runRestoreRequest } from "../archive/runRestoreRequest.js";
import { archiveBlobIdentity, readableBlobName } from "../storage/blobNames.js";
import { createBlobServiceClient } from "../storage/blobServiceClient.js";
import { listReferrersSupplements } from "../storage/archiveStore.js";
import {
  getArchiveSetRehydrationState,
  releaseStagingCopies,
  startArchiveSetRehydration,
  type RehydrationState,
} from "../storage/rehydration.js";

const USAGE = `usage: acr-cold-archive archive <registry>/<repository>[:<tag>|@<digest>] [options]
       acr-cold-archive find [<registry>/]<repository>[:<tag>|@<digest>] [--registry <login server>] [--json]
       acr-cold-archive restore <archive.tar.gz | -> <registry>/<repository>[:<tag>] [--json]
       acr-cold-archive restore --from-blob <archive blob> <registry>/<repository>[:<tag>] [--wait] [options]

restore pushes every blob and manifest of an archive byte for byte (the original digests), checking each digest;
without :<tag> the root is pushed under the tags recorded in the archive. --from-blob reads the archive from
storage: an archive in Archive tier is first rehydrated by copy into staging/<archive blob> (Hot; the archive itself
stays archived), which takes hours; without --wait the command starts (or finds) that copy and exits 3, and running it
again later restores once the copy is ready. The archive's sha256 is checked against its sidecar; the staging copy is
claimed for the target repository meanwhile, and deleted after the restore unless another restore still claims it.

restore options:
  --from-blob <name>        the archive blob (…@sha256-<hex>.tar.gz) in --container
  --wait                    wait for the rehydration, with a progress line on stderr
  --priority <p>            rehydrate priority: Standard (default, up to 15 h) or High (under 1 h for small blobs)
  --poll-seconds <n>        seconds between checks of the copy while waiting (default 60)

find answers from the archives' blob index tags and sidecars (nothing is rehydrated): every archive of the repository
(of a tag: every digest the tag has named; of a digest: that one), with its size, verification and purge state, the
date it may be deleted without Archive tier's early-deletion charge, and estimated costs (COST_* settings).

find options:
  --registry <host>         the login server, when the reference does not start with it (default: ACR_LOGIN_SERVER)
  --archived-after <time>   archived at or after (2026-12-01 or 2026-12-01T10:00:00Z)
  --archived-before <time>  archived before
  --state <state>           verified, unverified, purged or not-purged
  --json                    print the catalog's answer (as GET /api/catalog, every page in one) on stdout

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
  applyStreamingHeapPolicy();
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        container: { type: "string", default: "images" },
        "blob-base-name": { type: "string" },
        "run-id": { type: "string" },
        "from-blob": { type: "string" },
        wait: { type: "boolean", default: false },
        priority: { type: "string" },
        "poll-seconds": { type: "string" },
        "refresh-referrers": { type: "boolean", default: false },
        registry: { type: "string" },
        "archived-after": { type: "string" },
        "archived-before": { type: "string" },
        state: { type: "string" },
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
  if (command === "restore" && values["from-blob"] !== undefined)
    return restoreFromStorage(values["from-blob"], positionals.slice(1), {
      container: values.container,
      wait: values.wait,
      json: values.json,
      ...(values.priority !== undefined && { priority: values.priority }),
      ...(values["poll-seconds"] !== undefined && { pollSeconds: values["poll-seconds"] }),
    });
  if (command === "restore") return restore(positionals.slice(1), values.json);
  if (command === "find")
    return find(positionals.slice(1), {
      container: values.container,
      json: values.json,
      ...(values.registry !== undefined && { registry: values.registry }),
      ...(values["archived-after"] !== undefined && { archivedAfter: values["archived-after"] }),
      ...(values["archived-before"] !== undefined && { archivedBefore: values["archived-before"] }),
      ...(values.state !== undefined && { state: values.state }),
    });
  if (command !== "archive") throw new UsageError(command ? `unknown command "${command}"` : "missing command");
  if (!image) throw new UsageError("missing image reference");
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);

  // The reference on the command line is parsed once, here, into the worker's request.
  const request = referenceArchiveRequestSchema.safeParse({
    image,
    blobContainer: values.container,
    ...(values["blob-base-name"] !== undefined && { blobBaseName: values["blob-base-name"] }),
    ...(values["run-id"] !== undefined && { runId: values["run-id"] }),
    ...(values["refresh-referrers"] && { refreshReferrers: true }),
  });
  if (!request.success) throw new UsageError(formatIssues(request.error).join("; "));
  // A person's own command line names the registry: ACR_USERNAME/ACR_PASSWORD belong to it unless ACR_LOGIN_SERVER says.
  const config = readWorkerConfig({
    ACR_LOGIN_SERVER: request.data.registry.toLowerCase(),
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
      // A tag this run recorded is one a restore by tag now resolves to this digest (README: restore by tag).
      const recorded = result.tagsRecorded?.length ? `; tags recorded: ${result.tagsRecorded.join(", ")}` : "";
      process.stdout.write(
        `${result.status}: ${result.image} -> ${result.container}/${result.archiveBlob}${size}${recorded}\n`,
      );
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
  const limits = readRestoreLimits(process.env);
  const client = createRegistryClientFactory({
    auth: access.auth,
    insecure: access.insecure,
    ...(access.idleTimeoutMs && { idleTimeoutMs: access.idleTimeoutMs }),
  })(ref.registry);
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
    limits,
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

interface FindFlags {
  container: string;
  json: boolean;
  registry?: string;
  archivedAfter?: string;
  archivedBefore?: string;
  state?: string;
}

/** `find`: the catalog's answer (catalog/catalog.ts, as GET /api/catalog gives it), every page, as a table or JSON. */
async function find(args: string[], flags: FindFlags): Promise<number> {
  const [reference, ...extra] = args;
  if (!reference) throw new UsageError("find needs a repository: [<registry>/]<repository>[:<tag>|@<digest>]");
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const first = reference.split("/")[0] ?? "";
  const withRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  const registry = withRegistry ? first : (flags.registry ?? process.env.ACR_LOGIN_SERVER);
  if (!registry)
    throw new UsageError("find needs the registry: start the reference with its login server, or pass --registry");
  const full = withRegistry ? reference : `${registry}/${reference}`;
  let ref;
  try {
    ref = parseImageReference(full);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const explicitTag = /:[^/@]+$/.test(full.split("@")[0]!) ? ref.tag : undefined;
  let query;
  try {
    query = parseCatalogQuery({
      registry: ref.registry,
      repository: ref.repository,
      ...(explicitTag && { tag: explicitTag }),
      ...(ref.digest && { digest: ref.digest }),
      ...(flags.archivedAfter !== undefined && { archivedAfter: flags.archivedAfter }),
      ...(flags.archivedBefore !== undefined && { archivedBefore: flags.archivedBefore }),
      ...(flags.state !== undefined && { state: flags.state }),
      pageSize: CATALOG_MAX_PAGE_SIZE,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replaceAll("\n", "; "));
  }
  const config = readWorkerConfig({ ACR_LOGIN_SERVER: ref.registry.toLowerCase(), ...process.env });
  const { prices, registrySku } = readCostSettings(process.env);
  const subscriptionId = process.env.AZURE_SUBSCRIPTION_ID;
  const deps = {
    container: createBlobServiceClient(config.storage).getContainerClient(flags.container),
    prices,
    registryStorage: (loginServer: string) =>
      readRegistryStorage(loginServer, {
        ...(subscriptionId && { subscriptionId }),
        ...(process.env.ARM_ENDPOINT && { armEndpoint: process.env.ARM_ENDPOINT }),
        ...(registrySku && { fallbackSku: registrySku }),
      }),
  };
  const firstPage = await queryCatalog(query, deps);
  const items = [...firstPage.items];
  for (let token = firstPage.continuationToken; token;) {
    const page = await queryCatalog({ ...query, continuationToken: token }, deps);
    items.push(...page.items);
    token = page.continuationToken;
  }
  const answer = { ...firstPage, items, continuationToken: undefined };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  process.stdout.write(formatCatalogTable(answer));
  return 0;
}

/** The human table of `find`: one line an archive, then the totals (every cost an estimate, and so marked). */
function formatCatalogTable(page: CatalogPage): string {
  const day = (iso: string) => iso.slice(0, 10);
  const rows = page.items.map((i) => [
    i.repository,
    i.tags.join(",") || "(untagged)",
    `${i.digest.slice(0, 19)}…`,
    i.archivedAt.slice(0, 19).replace("T", " "),
    `${mib(i.bytes)} MiB`,
    i.state ? `${i.state.verified === "yes" ? "verified" : "unverified"}, purge ${i.state.purge}` : "not indexed",
    day(i.cost.earlyDeletionFreeFrom),
    `~${i.cost.archivePerMonth} ${i.cost.currency}`,
  ]);
  const head = ["REPOSITORY", "TAGS", "DIGEST", "ARCHIVED (UTC)", "SIZE", "STATE", "DELETE FREE FROM", "PER MONTH"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd()}\n`;
  let out = rows.length ? line(head) + rows.map(line).join("") : `nothing archived matches in ${page.registry}\n`;
  const t = page.totals;
  if (t) {
    const span = t.earliestArchivedAt ? `, archived ${day(t.earliestArchivedAt)} … ${day(t.latestArchivedAt!)}` : "";
    out += `\n${t.images} archives, ${t.supplements} referrers supplements, ${mib(t.bytes)} MiB${span}${t.complete ? "" : " (counted up to the bound: more exist)"}\n`;
    out += `estimated Archive tier cost: ~${t.cost.archivePerMonth} ${t.cost.currency} a month (list prices ${t.cost.prices.region} ${t.cost.prices.redundancy}, read ${t.cost.prices.readOn}; an estimate)\n`;
    if (t.cost.allEarlyDeletionFreeFrom)
      out += `all of it may be deleted without the early-deletion charge from ${day(t.cost.allEarlyDeletionFreeFrom)}\n`;
    if (t.registry) out += `registry: ${t.registry.summary}\n`;
  }
  return out;
}

interface RestoreFromStorageFlags {
  container: string;
  wait: boolean;
  json: boolean;
  priority?: string;
  pollSeconds?: string;
}

/** Exit code of `restore --from-blob` without --wait while the archive is still being rehydrated. */
const EXIT_REHYDRATING = 3;

async function restoreFromStorage(
  archiveBlob: string,
  args: string[],
  flags: RestoreFromStorageFlags,
): Promise<number> {
  const [target, ...extra] = args;
  if (!target) throw new UsageError("restore --from-blob needs a target <registry>/<repository>[:<tag>]");
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const ref = parseTarget(target);
  const priority = flags.priority ?? "Standard";
  if (priority !== "Standard" && priority !== "High") throw new UsageError("--priority must be Standard or High");
  const pollSeconds = Number(flags.pollSeconds ?? 60);
  if (!Number.isInteger(pollSeconds) || pollSeconds < 1 || pollSeconds > 3600)
    throw new UsageError("--poll-seconds must be a whole number of seconds, 1-3600");
  if (!archiveBlobIdentity(archiveBlob))
    throw new UsageError(`--from-blob: "${archiveBlob}" is not an archive blob name (…@sha256-<hex>.tar.gz)`);
  const parsed = restoreRequestSchema.safeParse({
    archiveBlob,
    fromStaging: false, // (as the rehydration finds it, below)
    blobContainer: flags.container,
    target: { registry: ref.registry.toLowerCase(), repository: ref.repository, ...(ref.tag && { tags: [ref.tag] }) },
  });
  if (!parsed.success) throw new UsageError(formatIssues(parsed.error).join("; "));
  const config = readWorkerConfig({ ACR_LOGIN_SERVER: ref.registry.toLowerCase(), ...process.env });
  // Checked before storage is touched, when the env names the targets (the worker job always does).
  assertRestoreRequestInScope(parsed.data, config, { requireTargets: false });
  const container = createBlobServiceClient(config.storage).getContainerClient(flags.container);

  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new Error("SIGINT")));
  const started = Date.now();
  // The archive and the referrers supplements its sidecar records (referrers that arrived later), made readable together.
  const supplements = await listReferrersSupplements(container, archiveBlob, { abortSignal: abort.signal });
  // One claim per target repository: running the command again (after exit 3) claims, and then releases, the same.
  const claimant = `cli-${createHash("sha256").update(`${ref.registry.toLowerCase()}/${ref.repository}`).digest("hex").slice(0, 24)}`;
  let state = await startArchiveSetRehydration(container, archiveBlob, supplements, {
    priority,
    claimant,
    abortSignal: abort.signal,
  });
  const progress = (s: RehydrationState) => {
    const waited = Math.round((Date.now() - started) / 1000);
    const status = [s.copyStatus && `copy ${s.copyStatus}`, s.archiveStatus].filter(Boolean).join(", ");
    return `rehydrating ${archiveBlob} into ${readableBlobName(archiveBlob, s)} (${priority}, ${mib(s.bytes)} MiB): ${status || s.phase}, waited ${waited} s`;
  };
  if (state.phase === "rehydrating" && !flags.wait) {
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ status: "rehydrating", archiveBlob, stagingBlob: readableBlobName(archiveBlob, state), priority })}\n`,
      );
    else
      process.stdout.write(
        `${progress(state)}; ${state.started ? "copy started" : "copy already under way"}: run this again later, or add --wait\n`,
      );
    return EXIT_REHYDRATING;
  }
  const tty = process.stderr.isTTY;
  const waited = state.phase === "rehydrating";
  while (state.phase === "rehydrating") {
    process.stderr.write(tty ? `\r${progress(state)}` : `${progress(state)}\n`);
    await sleep(pollSeconds * 1000, undefined, { signal: abort.signal });
    const next = await getArchiveSetRehydrationState(container, archiveBlob, supplements, {
      claimant,
      abortSignal: abort.signal,
    });
    if (!next)
      throw new ArchiveError("STORAGE_ERROR", `the staging copy of ${archiveBlob} disappeared while rehydrating`);
    state = next;
  }
  if (tty && waited) process.stderr.write("\n");
  const request = {
    ...parsed.data,
    fromStaging: state.fromStaging,
    ...(state.supplements && { supplements: state.supplements }),
  };
  const release = (deleteUnclaimed: boolean) =>
    releaseStagingCopies(container, archiveBlob, supplements, { claimant, deleteUnclaimed, abortSignal: abort.signal });
  const result = await runRestoreRequest(request, config, {
    abortSignal: abort.signal,
    requireTargets: false,
  }).catch(async (error: unknown) => {
    // A copy that does not match its sidecar is of no use to anyone; after other failures it is kept for a retry.
    await release(isArchiveError(error) && error.code === "DIGEST_MISMATCH").catch(() => undefined);
    throw error;
  });
  await release(true);
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      `restored ${result.target}@${result.digest} as ${result.tags.join(", ") || "(untagged)"} from ${archiveBlob}: ${result.blobsPushed} blobs pushed, ${result.blobsPresent} already there, ${result.manifests} manifests${result.supplements ? `, ${result.supplements} referrers supplements after it` : ""}, archive sha256 as its sidecar says\n`,
    );
  return 0;
}

function parseTarget(target: string) {
  let ref;
  try {
    ref = parseImageReference(target);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (ref.digest) throw new UsageError("a restore target names a repository and optionally a tag, not a digest");
  const explicitTag = /:[^/]+$/.test(target) ? ref.tag : undefined;
  return { registry: ref.registry, repository: ref.repository, ...(explicitTag && { tag: explicitTag }) };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

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
