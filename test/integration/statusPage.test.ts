// The status page (GET /api/ui) in a real browser: Debian's Chromium driven headless by playwright-core, against the
// app's real registrations in the local Functions host, a real registry, real Azurite and real worker processes, during
// a real archive run. The page shows the run's progress moving and, at the end, the summary's counts; its images
// failures first; a crafted summary's markup as text (image names, tags and error messages are attacker-controlled);
// no console or page error; semantic tables, text contrast, no sideways scrolling at 375 px. It writes
// .tmp/status-page.png, .tmp/status-page-narrow.png and .tmp/status-page-running.png (mid-run) for a person to look at.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { chromium, type Browser, type Page } from "playwright-core";
import { summaryBlobName } from "../../src/storage/blobNames.js";
import { JsonArrayBlobWriter } from "../../src/storage/jsonArrayBlob.js";
import { startAzurite, type AzuriteInstance } from "../../tools/localenv/azurite.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startFunctionsHost, type LocalFunctionsHost } from "../../tools/localenv/functionsHost.js";
import { registryBlobPath, startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { SAMPLE_IMAGES } from "../../tools/localenv/samples.js";
import { repoRoot } from "../support/repoRoot.js";
import { startRequestLog, type RequestLog } from "../support/loopback.js";

const CHROMIUM = "/usr/bin/chromium";
/** A run id whose summary this test writes by hand, with markup in every field it controls. */
const CRAFTED_RUN = "archive-evil-example-20200101T000000000Z-abcdef";
const MARKUP = {
  repository: '<img src=x onerror="window.__xss=1">',
  tag: "<script>window.__xss=2</script>",
  digest: "sha256:<svg onload=window.__xss=3>",
  errorCode: "<b>CODE</b>",
  errorMessage: '<img src=x onerror="window.__xss=4"> & <a href="javascript:window.__xss=5">click</a>',
  registry: "evil.example<i>io</i>",
  costKey: "<em>monthly</em>",
  costValue: '<iframe src="javascript:window.__xss=6"></iframe>',
};

let registry: TestRegistry;
/**
 * The registry the run archives, through a front that holds the last image's blob reads (`ui/app-6`) until the test has seen
 * the page show the run part-way: the bar's moving is then seen whatever the machine's speed.
 */
let front: RequestLog;
let releaseLastImage: () => void = () => undefined;
const lastImageReleased = new Promise<void>((resolve) => (releaseLastImage = resolve));
let azurite: AzuriteInstance;
let host: LocalFunctionsHost;
let container: ContainerClient;
let browser: Browser;
let page: Page;
const problems: string[] = []; // console errors and page errors
let catalogDeployed = false;
let runId = "";

/**
 * Runs `source`, a function's text, in the page with `arg`: browser code is kept as text here (this project's types
 * have no DOM), and what it returns is checked by the test.
 */
async function inPage<T>(source: string, arg: unknown = null): Promise<T> {
  return page.evaluate(`(${source})(${JSON.stringify(arg)})`) as Promise<T>;
}

/** Polls `expression` (text) in the page until it is true: page.waitForFunction evaluates inside the page, which its CSP forbids. */
async function waitInPage(expression: string, timeoutInMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`the page never showed ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Totals {
  total: number;
  archived: number;
  alreadyArchived: number;
  failed: number;
  bytesArchived: number;
}

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the status page's browser test needs Debian's chromium (bash scripts/ensure-tools.sh installs it)`,
    );
  [registry, azurite] = await Promise.all([startRegistry(), startAzurite()]);
  for (const sample of SAMPLE_IMAGES) await pushImage(registry.host, sample.repositoryAndTag, sample.image);
  // More images, archived one at a time: the run lasts long enough for the page to show it moving.
  for (let i = 1; i <= 6; i++) await pushImage(registry.host, `ui/app-${i}:v${i}`, smallImage(`ui-${i}`));
  // One image whose layer is corrupt in the registry's storage: it fails (DIGEST_MISMATCH) and is listed first.
  const broken = await pushImage(registry.host, "broken/app:1", { layers: [{ textBytes: 50_000 }] });
  const manifest = JSON.parse(
    await (
      await fetch(`http://${registry.host}/v2/broken/app/manifests/${broken.digest}`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text(),
  ) as { layers: { digest: string }[] };
  const path = registryBlobPath(registry, manifest.layers[0]!.digest);
  const bytes = await readFile(path);
  bytes[100]! ^= 0xff;
  await writeFile(path, bytes);

  front = await startRequestLog(registry.host, {
    delay: (req) => (req.url?.startsWith("/v2/ui/app-6/blobs/") ? lastImageReleased : undefined),
  });
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("images");
  host = await startFunctionsHost({
    timeScale: 0.02,
    env: {
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      JOB_RUNNER: "local",
      ARCHIVE_CONTAINER: "images",
      TASKHUB_NAME: "statuspage",
      NIGHTLY_SCHEDULE: "0 0 2 * * *",
      ALLOWED_REGISTRIES: "127.0.0.1:*",
      MAX_ATTEMPTS: "1",
      DEFAULT_MAX_PARALLEL: "1",
    },
  });
  const catalog = await host.request("/api/catalog?repository=samples/hello");
  await catalog.body?.cancel();
  catalogDeployed = catalog.status !== 404;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root (CI containers), Chromium's sandbox cannot start.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // Without a catalog route, the catalog search's fetch is a 404, which Chromium logs: the page says so itself.
    if (!catalogDeployed && message.location().url.includes("/api/catalog")) return;
    problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
});

after(async () => {
  await browser?.close();
  releaseLastImage();
  await host?.stop();
  await front?.close();
  await Promise.all([registry?.stop(), azurite?.stop()]);
});

/** The run's row as the page shows it (one snapshot). */
async function readRow(id: string) {
  return inPage<
    | {
        status: string | undefined;
        value: number;
        max: number;
        text: string | undefined;
        counts: Record<string, number>;
        summaryHref: string | undefined;
      }
    | undefined
  >(
    `(runId) => {
      const row = [...document.querySelectorAll("#runs tbody tr")].find((r) => r.dataset.runId === runId);
      if (!row) return undefined;
      const bar = row.querySelector("progress");
      const counts = {};
      for (const span of row.querySelectorAll(".counts span"))
        counts[span.dataset.key] = Number.parseInt(span.textContent, 10);
      return {
        status: row.dataset.status,
        value: bar.value,
        max: bar.max,
        text: row.querySelector(".progress-text")?.textContent?.trim(),
        counts,
        summaryHref: row.querySelector("td a")?.href,
      };
    }`,
    id,
  );
}

test("the page follows a real archive run: the progress bar moves, and the final counts are the summary's", async () => {
  await page.goto(`${host.baseUrl}/api/ui?code=${host.key}&refresh=0.5`);
  await waitInPage(`document.getElementById("runs-message")?.textContent === "No runs yet."`);

  const response = await host.request("/api/archive", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registry: front.host, maxParallel: 1 }),
  });
  const accepted = (await response.json()) as { id: string };
  assert.equal(response.status, 202, JSON.stringify(accepted));
  runId = accepted.id;

  // What the page shows, read every 100 ms until the run's row says it ended.
  const readings: { value: number; max: number; status: string | undefined }[] = [];
  const deadline = Date.now() + 300_000;
  for (;;) {
    const row = await readRow(runId);
    if (row) {
      const last = readings.at(-1);
      if (!last || last.value !== row.value || last.max !== row.max || last.status !== row.status) {
        readings.push({ value: row.value, max: row.max, status: row.status });
        // The first reading part-way, for a person to look at.
        if (row.value > 0 && row.value < row.max && !readings.slice(0, -1).some((r) => r.value > 0)) {
          await mkdir(join(repoRoot(), ".tmp"), { recursive: true });
          await page.screenshot({ path: join(repoRoot(), ".tmp", "status-page-running.png") });
          releaseLastImage(); // seen part-way: the held image may go on
        }
      }
      if (row.status === "Completed" || row.status === "Failed") break;
    }
    if (Date.now() > deadline) throw new Error(`the page never showed the run end:\n${host.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const final = (await readRow(runId))!;
  assert.equal(final.status, "Completed", JSON.stringify(readings));
  assert.ok(
    readings.some((r) => r.status === "Running" && r.value > 0 && r.value < r.max),
    `the bar was seen part-way: ${JSON.stringify(readings)}`,
  );
  assert.ok(new Set(readings.map((r) => r.value)).size >= 2, `at least two readings: ${JSON.stringify(readings)}`);

  const summary = JSON.parse(
    (await container.getBlockBlobClient(summaryBlobName(runId)).downloadToBuffer()).toString("utf8"),
  ) as { totals: Totals; images: { repository: string; status: string; bytes?: number }[] };
  const t = summary.totals;
  assert.equal(t.failed, 1, "broken/app failed");
  assert.deepEqual(
    { archived: final.counts.archived, alreadyArchived: final.counts.alreadyArchived, failed: final.counts.failed },
    { archived: t.archived, alreadyArchived: t.alreadyArchived, failed: t.failed },
    "the row's counts are the summary's",
  );
  assert.equal(final.text, `${t.total} / ${t.total}`);
  assert.equal(final.value, t.total);
  assert.equal(final.summaryHref, container.getBlobClient(summaryBlobName(runId)).url);

  // The run's images: failures first, one row each, with the summary's outcome and size.
  await page.click(`#runs tr[data-run-id="${runId}"] button`);
  await waitInPage(`document.querySelectorAll("#images tbody tr").length === ${t.total}`);
  const rows = await inPage<string[][]>(
    `() => [...document.querySelectorAll("#images tbody tr")].map((tr) =>
      [...tr.querySelectorAll("th, td")].map((cell) => cell.textContent))`,
  );
  assert.equal(rows[0]![0], "failed");
  assert.match(rows[0]![1]!, /^broken\/app:1$/);
  assert.match(rows[0]![4]!, /^DIGEST_MISMATCH: /);
  assert.ok(rows.slice(1).every((r) => r[0] !== "failed"));
  const outcomes = (list: string[]) => [...list].sort().join(",");
  assert.equal(outcomes(rows.map((r) => r[0]!)), outcomes(summary.images.map((i) => i.status)));
  // The cost report the summary carries, shown as facts (an estimate, in the summary's currency).
  const cost = (summary as unknown as { cost?: { estimate: boolean; currency: string } }).cost;
  assert.ok(cost?.estimate, "the summary has a cost report");
  const shownCost = (await page.textContent("#detail-cost")) ?? "";
  assert.match(shownCost, /estimate\s*true/);
  assert.ok(shownCost.includes(`currency${cost.currency}`), shownCost);

  // The catalog search: what this deployment has.
  await page.fill("#catalog-form input[name=registry]", front.host);
  await page.fill("#catalog-form input[name=repository]", "samples/hello");
  await page.click("#catalog-form button");
  if (!catalogDeployed)
    await waitInPage(
      `document.getElementById("catalog-message")?.textContent === "The catalog is not available in this deployment."`,
    );
  else await waitInPage(`document.querySelectorAll("#catalog tbody tr").length > 0`);
  assert.deepEqual(problems, []);
});

test("everything the page shows from data is text: a crafted summary's markup is shown, never parsed or run", async () => {
  const writer = new JsonArrayBlobWriter(container, summaryBlobName(CRAFTED_RUN), "images", { pretty: true });
  await writer.append({
    repository: MARKUP.repository,
    digest: MARKUP.digest,
    tags: [MARKUP.tag],
    status: "failed",
    bytes: 1,
    attempts: 1,
    durationSeconds: 0,
    error: { code: MARKUP.errorCode, message: MARKUP.errorMessage },
  });
  await writer.commit({
    schemaVersion: 1,
    runId: CRAFTED_RUN,
    registry: MARKUP.registry,
    totals: { total: 1, archived: 0, alreadyArchived: 0, failed: 1, bytesArchived: 0, jobExecutions: 0 },
    cost: { [MARKUP.costKey]: MARKUP.costValue },
  });
  // The runs list is read again (every 5 s): the crafted run, the oldest, comes last.
  await page.waitForSelector(`#runs tr[data-run-id="${CRAFTED_RUN}"]`, { timeout: 30_000 });
  await page.click(`#runs tr[data-run-id="${CRAFTED_RUN}"] button`);
  await waitInPage(`document.getElementById("detail-heading")?.textContent === "Run ${CRAFTED_RUN}"`);
  await waitInPage(`document.querySelectorAll("#images tbody tr").length === 1`);
  const shown = await inPage<{
    image: string[];
    runRow: string | undefined;
    cost: string | undefined;
    elements: number;
    scripts: number;
    xss: unknown;
  }>(
    `(runId) => ({
      image: [...document.querySelectorAll("#images tbody tr th, #images tbody tr td")].map((c) => c.textContent),
      runRow: [...document.querySelectorAll("#runs tbody tr")].find((r) => r.dataset.runId === runId)?.textContent,
      cost: document.getElementById("detail-cost")?.textContent,
      elements: document.querySelectorAll("img, svg, iframe, b, i, em, a[href^='javascript']").length,
      scripts: document.scripts.length,
      xss: window.__xss,
    })`,
    CRAFTED_RUN,
  );
  assert.equal(shown.image[1], `${MARKUP.repository}:${MARKUP.tag}`);
  assert.equal(shown.image[4], `${MARKUP.errorCode}: ${MARKUP.errorMessage}`);
  assert.ok(shown.runRow?.includes(MARKUP.registry), shown.runRow);
  assert.ok(shown.cost?.includes(MARKUP.costKey) && shown.cost.includes(MARKUP.costValue), shown.cost);
  assert.equal(shown.elements, 0, "no element was made of the data");
  assert.equal(shown.scripts, 1, "the page's own script only");
  assert.equal(shown.xss, undefined);
  assert.deepEqual(problems, []);
});

/** WCAG contrast of every visible text against its background: [text, ratio] of those under 4.5:1. */
async function lowContrast(): Promise<[string, number][]> {
  return inPage<[string, number][]>(`() => {
    const rgb = (css) => (css.match(/[\\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (element) => {
      for (let e = element; e; e = e.parentElement) {
        const [r, g, b, a] = rgb(getComputedStyle(e).backgroundColor);
        if (a === undefined || a > 0) return [r, g, b];
      }
      return [255, 255, 255];
    };
    const low = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const element = node.parentElement;
      if (!node.textContent.trim() || !element.checkVisibility()) continue;
      const l1 = luminance(rgb(getComputedStyle(element).color));
      const l2 = luminance(background(element));
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      if (ratio < 4.5) low.push([node.textContent.trim().slice(0, 40), Math.round(ratio * 100) / 100]);
    }
    return low;
  }`);
}

test("accessible basics: table headers with scope, captions, text contrast ≥ 4.5:1, no sideways scrolling at 375 px; screenshots", async () => {
  // The real run's images, for the screenshots.
  await page.click(`#runs tr[data-run-id="${runId}"] button`);
  await waitInPage(`document.getElementById("detail-heading")?.textContent === "Run ${runId}"`);
  await waitInPage(`document.querySelectorAll("#images tbody tr").length > 1`);
  const tables = await inPage<{ id: string; caption: string; headersWithoutScope: number; columnHeaders: number }[]>(
    `() => [...document.querySelectorAll("table")].map((t) => ({
      id: t.id,
      caption: t.caption?.textContent ?? "",
      headersWithoutScope: [...t.querySelectorAll("th")].filter((th) => !["col", "row"].includes(th.scope)).length,
      columnHeaders: t.querySelectorAll("thead th[scope=col]").length,
    }))`,
  );
  for (const table of tables) {
    assert.ok(table.caption, `#${table.id} has a caption`);
    assert.equal(table.headersWithoutScope, 0, `#${table.id}: every th has a scope`);
    if (table.id !== "catalog" || catalogDeployed)
      assert.ok(table.columnHeaders > 0, `#${table.id} has column headers`);
  }
  assert.deepEqual(await lowContrast(), [], "text under 4.5:1 at 1280 px");
  const out = join(repoRoot(), ".tmp");
  await mkdir(out, { recursive: true });
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path: join(out, "status-page.png"), fullPage: true });

  await page.setViewportSize({ width: 375, height: 800 });
  await waitInPage("window.innerWidth === 375");
  const widths = await inPage<{ page: number; viewport: number }>(
    `() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth })`,
  );
  assert.ok(widths.page <= widths.viewport, `no sideways scrolling of the page at 375 px: ${JSON.stringify(widths)}`);
  assert.deepEqual(await lowContrast(), [], "text under 4.5:1 at 375 px");
  await page.screenshot({ path: join(out, "status-page-narrow.png"), fullPage: true });
  assert.deepEqual(problems, []);
});
