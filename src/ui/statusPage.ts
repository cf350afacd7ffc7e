// The status page (GET /api/ui): one self-contained HTML page, no build step and no framework. Its script reads the
// read API with the function key the page was opened with (`?code=`, sent on as `x-functions-key`): the runs
// (GET runs), each running run's status endpoint (GET archive/{id}, restore/{id}) for live progress bars, a run's
// images failures first (GET runs/{id}), and the catalog (GET catalog, when the deployment has it). Everything it shows
// comes from data (image names, tags, error messages are the registry's, hence an attacker's) and is put in the page
// with textContent only, never parsed as HTML; the Content-Security-Policy allows only this script and style (by hash),
// so an injected handler could not run either. The page is static: the server interpolates nothing into it.
//
// What the page expects of routes other helpers fill (and shows "not available" without):
//   - GET catalog?registry=&repository=&tag= → `{ images: object[] (or items), totals?: object, continuationToken?: string }`;
//     each image's fields become columns, `totals` (with its `cost`) a list of facts;
//   - a run summary's `cost` (an object, any shape) → GET runs/{id} → `run.cost`: shown as a list of facts.
import { createHash } from "node:crypto";

const STYLE = `
:root { color: #1b1b1b; background: #ffffff; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; }
header, main { max-width: 80rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 1px solid #c7c7c7; }
h1 { font-size: 1.4rem; margin: 0.8rem 0 0.2rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 0.4rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
p { margin: 0.3rem 0; }
.muted { color: #4d4d4d; }
.notice { color: #8c0000; font-weight: 600; min-height: 1.4em; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin: 0.4rem 0 0.6rem; }
label { display: flex; flex-direction: column; font-size: 0.9rem; color: #1b1b1b; }
input, select { font: inherit; padding: 0.25rem 0.4rem; border: 1px solid #6b6b6b; border-radius: 4px; color: #1b1b1b; background: #fff; min-width: 0; }
button { font: inherit; padding: 0.3rem 0.8rem; border: 1px solid #0b4fb3; border-radius: 4px; background: #0b4fb3; color: #ffffff; cursor: pointer; }
button.link { background: none; border: none; padding: 0; color: #0b4fb3; text-decoration: underline; text-align: left; overflow-wrap: anywhere; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, .scroll:focus-visible { outline: 3px solid #c25e00; outline-offset: 2px; }
a { color: #0b4fb3; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
caption { text-align: left; color: #4d4d4d; padding: 0.2rem 0; caption-side: top; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.5rem; border-bottom: 1px solid #d6d6d6; }
thead th { background: #eef0f2; color: #1b1b1b; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f7f7f8; }
td.num { text-align: right; white-space: nowrap; }
.id { overflow-wrap: anywhere; min-width: 11rem; }
.name { overflow-wrap: anywhere; min-width: 9rem; }
.reason { overflow-wrap: anywhere; min-width: 14rem; }
.time { min-width: 6.2rem; }
.nowrap { white-space: nowrap; }
.failed, .status-Failed, .status-Terminated { color: #a10000; font-weight: 600; }
.reason.failed { font-weight: normal; }
.status-Completed { color: #0a5c2a; }
.status-Running, .status-Pending { color: #0b4fb3; }
progress { width: 6rem; height: 1rem; vertical-align: middle; }
.counts span { display: inline-block; margin-right: 0.6rem; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0.3rem 0; }
dl.facts dt { color: #4d4d4d; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  header, main { padding: 0 0.6rem; }
  progress { width: 5rem; }
}
`;

const SCRIPT = `
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var key = params.get("code");
  var refresh = Math.min(60, Math.max(0.5, Number(params.get("refresh")) || 2)) * 1000;
  var base = new URL(".", location.href);
  // What the page knows of each kind of run: the counts that say an item is done, and those it shows.
  var KINDS = {
    archive: {
      done: ["archived", "alreadyArchived", "failed"],
      shown: [["archived", "archived"], ["alreadyArchived", "already archived"], ["failed", "failed"], ["running", "running"]]
    },
    restore: {
      done: ["restored", "alreadyPresent", "failed"],
      shown: [["restored", "restored"], ["alreadyPresent", "already there"], ["failed", "failed"], ["rehydrating", "rehydrating"], ["restoring", "restoring"]]
    }
  };
  var TERMINAL = { Completed: true, Failed: true, Terminated: true, Unknown: true };
  var runs = new Map(); // id -> { record, row, progress }
  var filters = { kind: "", registry: "", status: "" };
  var runsToken = null;
  var detail = null; // { id, token }

  function $(id) { return document.getElementById(id); }
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function notice(text) { $("notice").textContent = text || ""; }

  async function getJson(path, query) {
    var url = new URL(path, base);
    if (query) Object.keys(query).forEach(function (k) { if (query[k]) url.searchParams.set(k, query[k]); });
    var headers = { accept: "application/json" };
    if (key) headers["x-functions-key"] = key;
    var response = await fetch(url, { headers: headers, cache: "no-store", credentials: "omit" });
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, body: body };
  }
  function problemText(answer) {
    if (answer.status === 401) return "The function key is missing or wrong: open this page with ?code=<function key>.";
    var b = answer.body || {};
    var problems = Array.isArray(b.problems) ? b.problems.join("; ") : "";
    return "HTTP " + answer.status + (b.error ? ": " + b.error : "") + (problems ? " (" + problems + ")" : "");
  }

  function formatBytes(n) {
    if (typeof n !== "number" || !isFinite(n)) return "";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }
  function formatTime(iso) {
    if (typeof iso !== "string") return "";
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : d.toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "");
  }
  function scalarText(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.map(scalarText).join(", ");
    if (typeof value === "object") return JSON.stringify(value);
    if (typeof value === "number") return value.toLocaleString("en-US", { maximumFractionDigits: 6 });
    return String(value);
  }
  // An object of any shape (a cost report, catalog totals) as facts: dotted keys, text values.
  function renderFacts(container, value) {
    var dl = el("dl", null, "facts");
    (function walk(v, prefix, depth) {
      Object.keys(v).forEach(function (k) {
        var item = v[k];
        var name = prefix ? prefix + "." + k : k;
        if (item && typeof item === "object" && !Array.isArray(item) && depth < 3) walk(item, name, depth + 1);
        else { dl.appendChild(el("dt", name)); dl.appendChild(el("dd", scalarText(item))); }
      });
    })(value, "", 0);
    container.replaceChildren(dl);
  }
  function safeHttpUrl(text) {
    try {
      var url = new URL(text);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }
  // The summary blob's location; a link to its URL (reading it takes a data role on the container, see the README).
  function summaryLink(summary, text) {
    var location = summary.container + "/" + summary.blob;
    var href = safeHttpUrl(summary.url);
    var node = el(href ? "a" : "span", text || location);
    node.title = location;
    if (href) {
      node.href = href;
      node.rel = "noreferrer noopener";
    }
    return node;
  }

  // ---- Runs ----
  function kindOf(record) { return KINDS[record.kind] || { done: [], shown: [] }; }
  function doneOf(record, counts) {
    return kindOf(record).done.reduce(function (sum, k) { return sum + (typeof counts[k] === "number" ? counts[k] : 0); }, 0);
  }
  function renderRow(entry) {
    var r = entry.record;
    var counts = entry.progress || r.counts || {};
    var row = entry.row;
    row.replaceChildren();
    var idCell = el("th", null, "id");
    idCell.scope = "row";
    var open = el("button", r.id, "link");
    open.type = "button";
    open.setAttribute("aria-label", "Show the images of run " + r.id);
    open.addEventListener("click", function () { openDetail(r.id); });
    idCell.appendChild(open);
    row.appendChild(idCell);
    row.appendChild(el("td", r.kind + (r.dryRun ? " (dry run)" : "")));
    var catalogRegistry = document.querySelector("#catalog-form input[name=registry]");
    if (catalogRegistry && !catalogRegistry.value && r.registry) catalogRegistry.value = r.registry;
    var where = r.registry || "";
    if (r.target) where += " → " + r.target.registry + (r.target.repositoryPrefix ? "/" + r.target.repositoryPrefix : "");
    row.appendChild(el("td", where));
    var status = r.runtimeStatus + (r.phase && !TERMINAL[r.runtimeStatus] ? " (" + r.phase + ")" : "");
    var statusCell = el("td", status, "status status-" + r.runtimeStatus);
    if (r.error) statusCell.title = r.error;
    row.appendChild(statusCell);
    var total = typeof counts.total === "number" ? counts.total : 0;
    var done = doneOf(r, counts);
    var progressCell = el("td", null, "progress");
    var bar = el("progress");
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, Math.max(total, 1));
    bar.setAttribute("aria-label", "Progress of run " + r.id);
    progressCell.appendChild(bar);
    progressCell.appendChild(el("span", " " + done + " / " + total, "progress-text"));
    row.appendChild(progressCell);
    var countsCell = el("td", null, "counts");
    kindOf(r).shown.forEach(function (pair) {
      if (typeof counts[pair[0]] !== "number") return;
      var span = el("span", counts[pair[0]] + " " + pair[1], pair[0] === "failed" && counts.failed > 0 ? "failed" : "");
      span.dataset.key = pair[0];
      countsCell.appendChild(span);
    });
    row.appendChild(countsCell);
    row.appendChild(el("td", formatTime(r.createdTime), "time"));
    row.appendChild(el("td", formatTime(r.endedTime), "time"));
    var summaryCell = el("td");
    if (r.summary) {
      var link = summaryLink(r.summary, "summary.json");
      link.classList.add("nowrap");
      link.setAttribute("aria-label", "Summary of run " + r.id + ": " + link.title);
      summaryCell.appendChild(link);
    }
    else summaryCell.appendChild(el("span", TERMINAL[r.runtimeStatus] ? "none" : "when it ends", "muted"));
    row.appendChild(summaryCell);
    row.dataset.status = r.runtimeStatus;
  }
  function upsertRun(record, atEnd) {
    var entry = runs.get(record.id);
    if (!entry) {
      var row = el("tr");
      row.dataset.runId = record.id;
      entry = { record: record, row: row, progress: null };
      runs.set(record.id, entry);
      var body = $("runs").tBodies[0];
      if (atEnd) body.appendChild(row);
      else {
        // Newest first: before the first row of an older run.
        var before = null;
        for (var i = 0; i < body.rows.length; i++) {
          var other = runs.get(body.rows[i].dataset.runId);
          if (other && other.record.createdTime < record.createdTime) { before = body.rows[i]; break; }
        }
        body.insertBefore(row, before);
      }
    } else {
      entry.record = record;
      if (TERMINAL[record.runtimeStatus]) entry.progress = null;
    }
    renderRow(entry);
    return entry;
  }
  async function loadRuns(more) {
    var answer = await getJson("runs", {
      kind: filters.kind, registry: filters.registry, status: filters.status,
      continuationToken: more ? runsToken : ""
    });
    if (answer.status !== 200) { $("runs-message").textContent = problemText(answer); return; }
    $("runs-message").textContent = "";
    answer.body.runs.forEach(function (record) { upsertRun(record, more); });
    if (!more) runsToken = answer.body.continuationToken || null;
    else runsToken = answer.body.continuationToken || null;
    $("more-runs").hidden = !runsToken;
    if (runs.size === 0) $("runs-message").textContent = "No runs yet.";
  }
  function resetRuns() {
    runs.clear();
    $("runs").tBodies[0].replaceChildren();
    runsToken = null;
  }
  async function pollRunning() {
    var going = Array.from(runs.values()).filter(function (e) { return !TERMINAL[e.record.runtimeStatus] && KINDS[e.record.kind]; });
    await Promise.all(going.map(async function (entry) {
      var r = entry.record;
      var answer = await getJson(r.kind + "/" + encodeURIComponent(r.id));
      if (answer.status !== 200 || !answer.body) return;
      var s = answer.body;
      entry.progress = s.progress || null;
      r.runtimeStatus = s.runtimeStatus === "ContinuedAsNew" ? "Running" : s.runtimeStatus;
      if (s.progress && typeof s.progress.phase === "string") r.phase = s.progress.phase;
      if (TERMINAL[r.runtimeStatus]) {
        // Ended: the record now has the summary's counts and location.
        var final = await getJson("runs/" + encodeURIComponent(r.id), { limit: "1" });
        if (final.status === 200 && final.body) upsertRun(final.body.run);
        if (detail && detail.id === r.id) openDetail(r.id);
        return;
      }
      renderRow(entry);
    }));
  }

  // ---- One run: facts, cost report, images (failures first) ----
  function imageName(image) {
    var name = String(image.repository || "");
    var tags = Array.isArray(image.tags) ? image.tags : [];
    return tags.length ? name + ":" + tags.join(", ") : name;
  }
  function renderImages(images, append) {
    var body = $("images").tBodies[0];
    if (!append) body.replaceChildren();
    images.forEach(function (image) {
      var row = el("tr");
      var status = String(image.status || "");
      row.appendChild(el("td", status, status === "failed" ? "failed" : ""));
      var name = el("th", imageName(image), "name");
      name.scope = "row";
      row.appendChild(name);
      var digest = String(image.digest || "");
      var digestCell = el("td", digest.length > 19 ? digest.slice(0, 19) + "…" : digest);
      digestCell.title = digest;
      row.appendChild(digestCell);
      row.appendChild(el("td", formatBytes(image.bytes), "num"));
      var error = image.error && typeof image.error === "object" ? image.error : null;
      var reason = error ? String(error.code || "") + ": " + String(error.message || "") : "";
      row.appendChild(el("td", reason, error ? "reason failed" : "reason"));
      body.appendChild(row);
    });
  }
  function renderDetail(run) {
    $("detail-heading").textContent = "Run " + run.id;
    var facts = { kind: run.kind, registry: run.registry, status: run.runtimeStatus, "started (UTC)": formatTime(run.createdTime), "ended (UTC)": formatTime(run.endedTime) };
    if (run.target) facts.target = run.target.registry + (run.target.repositoryPrefix ? "/" + run.target.repositoryPrefix : "");
    if (run.dryRun) facts["dry run"] = "yes";
    if (run.error) facts.error = run.error;
    Object.keys(run.counts || {}).forEach(function (k) { facts[k] = k.toLowerCase().indexOf("bytes") >= 0 ? formatBytes(run.counts[k]) : run.counts[k]; });
    renderFacts($("detail-facts"), facts);
    var summary = $("detail-summary");
    summary.replaceChildren();
    if (run.summary) { summary.appendChild(el("span", "Summary: ")); summary.appendChild(summaryLink(run.summary)); }
    else summary.appendChild(el("span", "No summary yet: it is written when the run ends.", "muted"));
    if (run.cost && typeof run.cost === "object") renderFacts($("detail-cost"), run.cost);
    else $("detail-cost").replaceChildren(el("p", "Not available: this run's summary has no cost report.", "muted"));
  }
  async function openDetail(id, more) {
    var answer = await getJson("runs/" + encodeURIComponent(id), { continuationToken: more && detail ? detail.token : "" });
    $("run-detail").hidden = false;
    if (answer.status !== 200) { $("images-message").textContent = problemText(answer); return; }
    detail = { id: id, token: answer.body.continuationToken || null };
    renderDetail(answer.body.run);
    renderImages(answer.body.images, more);
    var shown = $("images").tBodies[0].rows.length;
    $("images-message").textContent = answer.body.run.summary
      ? shown + " image(s) shown" + (detail.token ? ", more below" : "") + "."
      : "The images are listed when the run's summary is written.";
    $("more-images").hidden = !detail.token;
    if (!more) $("detail-heading").scrollIntoView({ block: "start" });
  }

  // ---- Catalog (GET catalog, when this deployment has it) ----
  var catalogQuery = null;
  var catalogToken = null;
  async function searchCatalog(more) {
    var answer = await getJson("catalog", Object.assign({}, catalogQuery, { continuationToken: more ? catalogToken : "" }));
    var message = $("catalog-message");
    var table = $("catalog");
    if (answer.status === 404) {
      message.textContent = "The catalog is not available in this deployment.";
      table.hidden = true;
      $("catalog-totals").replaceChildren();
      return;
    }
    var body = answer.body || {};
    var items = Array.isArray(body.images) ? body.images : Array.isArray(body.items) ? body.items : null;
    if (answer.status !== 200 || !items) {
      message.textContent = answer.status === 200 ? "Not available: the catalog answered in an unknown shape." : problemText(answer);
      return;
    }
    if (!more) {
      var columns = [];
      items.slice(0, 50).forEach(function (item) {
        if (item && typeof item === "object") Object.keys(item).forEach(function (k) { if (columns.indexOf(k) < 0) columns.push(k); });
      });
      table.dataset.columns = JSON.stringify(columns);
      var head = el("tr");
      columns.forEach(function (c) { var th = el("th", c); th.scope = "col"; head.appendChild(th); });
      table.tHead.replaceChildren(head);
      table.tBodies[0].replaceChildren();
      if (body.totals && typeof body.totals === "object") renderFacts($("catalog-totals"), body.totals);
      else $("catalog-totals").replaceChildren(el("p", "Cost report: not available.", "muted"));
    }
    var cols = JSON.parse(table.dataset.columns || "[]");
    items.forEach(function (item) {
      var row = el("tr");
      cols.forEach(function (c) { row.appendChild(el("td", scalarText(item && item[c]))); });
      table.tBodies[0].appendChild(row);
    });
    table.hidden = false;
    catalogToken = body.continuationToken || null;
    $("more-catalog").hidden = !catalogToken;
    message.textContent = table.tBodies[0].rows.length + " result(s)" + (catalogToken ? ", more below" : "") + ".";
  }

  // ---- Wiring ----
  function guard(promise) {
    return Promise.resolve(promise).then(function () { notice(""); }, function (error) {
      notice("Cannot reach the API: " + (error && error.message ? error.message : String(error)));
    });
  }
  $("run-filters").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    filters = { kind: form.elements.kind.value, registry: form.elements.registry.value.trim(), status: form.elements.status.value };
    resetRuns();
    guard(loadRuns(false));
  });
  $("more-runs").addEventListener("click", function () { guard(loadRuns(true)); });
  $("more-images").addEventListener("click", function () { if (detail) guard(openDetail(detail.id, true)); });
  $("catalog-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    catalogQuery = {
      registry: form.elements.registry.value.trim(),
      repository: form.elements.repository.value.trim(),
      tag: form.elements.tag.value.trim(),
    };
    guard(searchCatalog(false));
  });
  $("more-catalog").addEventListener("click", function () { guard(searchCatalog(true)); });

  var ticks = 0;
  var busy = false;
  async function tick() {
    if (busy) return;
    busy = true;
    try {
      // New runs appear on a slower beat than the progress of those going.
      if (ticks++ % Math.max(1, Math.round(5000 / refresh)) === 0) await loadRuns(false);
      await pollRunning();
      notice("");
    } catch (error) {
      notice("Cannot reach the API: " + (error && error.message ? error.message : String(error)));
    } finally {
      busy = false;
      setTimeout(tick, refresh);
    }
  }
  tick();
})();
`;

const BODY = `
<header>
  <h1>acr-cold-archive</h1>
  <p class="muted">Runs, their images, and the catalog of what is archived. Progress refreshes on its own.</p>
  <p id="notice" class="notice" role="status" aria-live="polite"></p>
</header>
<main>
  <section aria-labelledby="runs-heading">
    <h2 id="runs-heading">Runs</h2>
    <form id="run-filters">
      <label>Kind <select name="kind"><option value="">any</option><option>archive</option><option>restore</option></select></label>
      <label>Registry <input name="registry" placeholder="myacr.azurecr.io" autocomplete="off" spellcheck="false"></label>
      <label>Status <select name="status"><option value="">any</option><option>Running</option><option>Pending</option><option>Completed</option><option>Failed</option><option>Terminated</option></select></label>
      <button type="submit">Show</button>
    </form>
    <p id="runs-message" role="status"></p>
    <div class="scroll" role="region" aria-labelledby="runs-heading" tabindex="0">
      <table id="runs">
        <caption>Newest first. Choose a run to see its images.</caption>
        <thead><tr><th scope="col">Run</th><th scope="col">Kind</th><th scope="col">Registry</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Counts</th><th scope="col">Started (UTC)</th><th scope="col">Ended (UTC)</th><th scope="col">Summary</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <button id="more-runs" type="button" hidden>More runs</button>
  </section>
  <section id="run-detail" aria-labelledby="detail-heading" hidden>
    <h2 id="detail-heading">Run</h2>
    <div id="detail-facts"></div>
    <p id="detail-summary"></p>
    <h3 id="cost-heading">Cost report</h3>
    <div id="detail-cost"></div>
    <h3 id="images-heading">Images</h3>
    <p id="images-message" role="status"></p>
    <div class="scroll" role="region" aria-labelledby="images-heading" tabindex="0">
      <table id="images">
        <caption>Failures first, then the rest in the summary's order.</caption>
        <thead><tr><th scope="col">Outcome</th><th scope="col">Image</th><th scope="col">Digest</th><th scope="col">Size</th><th scope="col">Reason</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <button id="more-images" type="button" hidden>More images</button>
  </section>
  <section aria-labelledby="catalog-heading">
    <h2 id="catalog-heading">Catalog</h2>
    <form id="catalog-form">
      <label>Registry <input name="registry" required placeholder="myacr.azurecr.io" autocomplete="off" spellcheck="false"></label>
      <label>Repository <input name="repository" placeholder="team/api" autocomplete="off" spellcheck="false"></label>
      <label>Tag <input name="tag" autocomplete="off" spellcheck="false"></label>
      <button type="submit">Search</button>
    </form>
    <p id="catalog-message" role="status"></p>
    <div id="catalog-totals"></div>
    <div class="scroll" role="region" aria-labelledby="catalog-heading" tabindex="0">
      <table id="catalog" hidden><caption>What the archive holds</caption><thead></thead><tbody></tbody></table>
    </div>
    <button id="more-catalog" type="button" hidden>More results</button>
  </section>
</main>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page, whole: static (nothing from a request or from data is put into it). */
export const statusPageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>acr-cold-archive: runs</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * The page's response headers. The CSP admits this script and this style only (by hash: no inline handler, no other
 * origin), fetches to this origin only; no-referrer keeps the key in the page's URL from leaking through a link.
 */
export const statusPageHeaders: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};
