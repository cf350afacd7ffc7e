// The app's and the worker's settings (src/config.ts) and the request schemas, pure: every error names the variable
// or field, and a registry password is bound to the one host it belongs to.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  readAppConfig,
  readCostSettings,
  readRegistrySettings,
  readRestoreLimits,
  readWorkerConfig,
} from "../../src/config.js";
import { DEFAULT_PRICES } from "../../src/cost/costEstimate.js";
import { isArchiveError } from "../../src/errors.js";
import { startArchiveRunSchema } from "../../src/runs/startArchiveRun.js";
import { formatIssues } from "../../src/validation.js";
import { referenceArchiveRequestSchema } from "../../src/archive/archiveRequest.js";

test("configuration errors name the variable or field", () => {
  assert.throws(
    () => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", PIGZ_LEVEL: "12", UPLOAD_CONCURRENCY: "zero" }),
    (e: unknown) => {
      assert.ok(isArchiveError(e) && e.code === "CONFIG_INVALID");
      assert.match((e as Error).message, /PIGZ_LEVEL: must be ≤ 9/);
      assert.match((e as Error).message, /UPLOAD_CONCURRENCY: must be a number/);
      return true;
    },
  );
  assert.throws(
    () => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", ACR_USERNAME: "u" }),
    /ACR_USERNAME and ACR_PASSWORD must be set together/,
  );
  const config = readWorkerConfig({ STORAGE_ACCOUNT: "archive01" });
  assert.deepEqual(config.storage, { kind: "accountUrl", accountUrl: "https://archive01.blob.core.windows.net" });
  const request = referenceArchiveRequestSchema.safeParse({ image: "acr.io/app:1", blobContainer: "images", extra: 1 });
  assert.ok(!request.success);
  assert.deepEqual(formatIssues(request.error), ["extra: unknown field"]);
  const run = startArchiveRunSchema.safeParse({ registry: "acr.io", maxParallel: 0, olderThanDays: 1.5 });
  assert.ok(!run.success);
  assert.deepEqual(formatIssues(run.error).sort(), ["maxParallel: must be ≥ 1", "olderThanDays: must be an integer"]);
});

test("ACR_USERNAME and ACR_PASSWORD need ACR_LOGIN_SERVER, the one host they belong to", () => {
  assert.throws(
    () => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", ACR_USERNAME: "u", ACR_PASSWORD: "p" }),
    /ACR_LOGIN_SERVER: is required with ACR_USERNAME and ACR_PASSWORD/,
  );
  const config = readWorkerConfig({
    AZURE_STORAGE_CONNECTION_STRING: "x",
    ACR_USERNAME: "u",
    ACR_PASSWORD: "p",
    ACR_LOGIN_SERVER: "myacr.azurecr.io",
  });
  assert.deepEqual(config.registryAuth, {
    kind: "password",
    username: "u",
    password: "p",
    loginServer: "myacr.azurecr.io",
  });
  assert.throws(
    () => readWorkerConfig({ AZURE_STORAGE_CONNECTION_STRING: "x", ACR_LOGIN_SERVER: "Not A Host" }),
    /ACR_LOGIN_SERVER: must be a registry login server/,
  );
});

test("REGISTRY_READS_PER_MINUTE: half of ACR Standard's read limit by default, 0 for none, bounded; listing settings", () => {
  assert.equal(readWorkerConfig({ STORAGE_ACCOUNT: "archive01" }).registryReadsPerMinute, 1500);
  assert.equal(
    readWorkerConfig({ STORAGE_ACCOUNT: "archive01", REGISTRY_READS_PER_MINUTE: "0" }).registryReadsPerMinute,
    0,
  );
  assert.throws(
    () => readWorkerConfig({ STORAGE_ACCOUNT: "archive01", REGISTRY_READS_PER_MINUTE: "-5" }),
    /REGISTRY_READS_PER_MINUTE: must be ≥ 0/,
  );
  const app = readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local", REGISTRY_READS_PER_MINUTE: "900" });
  assert.equal(app.registry.readsPerMinute, 900);
  assert.deepEqual(app.listing, {
    pageRepositories: 100,
    concurrency: 8,
    referrerRefresh: { maxRequests: 10_000, limits: { maxDepth: 3, maxCount: 100 } },
  });
  assert.throws(
    () => readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local", LISTING_PAGE_REPOSITORIES: "5000" }),
    /LISTING_PAGE_REPOSITORIES: must be ≤ 1000/,
  );
});

test("REGISTRY_IDLE_TIMEOUT_SECONDS: 120 s by default, in ms for the worker, the app and the CLI's registry access; bounded and named when wrong (guards issue 21.8)", () => {
  assert.equal(readWorkerConfig({ STORAGE_ACCOUNT: "archive01" }).registryIdleTimeoutMs, 120_000);
  assert.equal(
    readWorkerConfig({ STORAGE_ACCOUNT: "archive01", REGISTRY_IDLE_TIMEOUT_SECONDS: "5" }).registryIdleTimeoutMs,
    5000,
  );
  assert.equal(readRegistrySettings({ REGISTRY_IDLE_TIMEOUT_SECONDS: "30" }).idleTimeoutMs, 30_000);
  const app = readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local", REGISTRY_IDLE_TIMEOUT_SECONDS: "90" });
  assert.equal(app.registry.idleTimeoutMs, 90_000);
  for (const [value, message] of [
    ["0", /REGISTRY_IDLE_TIMEOUT_SECONDS: must be ≥ 1/],
    ["7200", /REGISTRY_IDLE_TIMEOUT_SECONDS: must be ≤ 3600/],
    ["soon", /REGISTRY_IDLE_TIMEOUT_SECONDS: must be a number/],
  ] as const)
    assert.throws(
      () => readWorkerConfig({ STORAGE_ACCOUNT: "archive01", REGISTRY_IDLE_TIMEOUT_SECONDS: value }),
      message,
    );
});

test("refreshReferrers settings: the probes' budget and limits, and the nightly switch, each named when wrong", () => {
  const app = readAppConfig({
    STORAGE_ACCOUNT: "archive01",
    JOB_RUNNER: "local",
    REFRESH_REFERRERS_MAX_REQUESTS: "250",
    REFERRERS_MAX_DEPTH: "1",
    NIGHTLY_REFRESH_REFERRERS: "true",
  });
  assert.deepEqual(app.listing.referrerRefresh, { maxRequests: 250, limits: { maxDepth: 1, maxCount: 100 } });
  assert.equal(app.nightlyRefreshReferrers, true);
  assert.equal(readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local" }).nightlyRefreshReferrers, false);
  assert.throws(
    () => readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local", REFRESH_REFERRERS_MAX_REQUESTS: "0" }),
    /REFRESH_REFERRERS_MAX_REQUESTS: must be ≥ 1/,
  );
  assert.throws(
    () => readAppConfig({ STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local", NIGHTLY_REFRESH_REFERRERS: "sometimes" }),
    /NIGHTLY_REFRESH_REFERRERS/,
  );
});

test("RESTORE_MAX_HELD_MIB and RESTORE_MAX_HELD_MANIFESTS: 64 MiB and 10,000 by default, each named when wrong (guards issue 21.2)", () => {
  assert.deepEqual(readWorkerConfig({ STORAGE_ACCOUNT: "archive01" }).restoreLimits, {
    maxHeldBytes: 64 * 1024 * 1024,
    maxHeldCount: 10_000,
  });
  assert.deepEqual(
    readWorkerConfig({ STORAGE_ACCOUNT: "archive01", RESTORE_MAX_HELD_MIB: "8", RESTORE_MAX_HELD_MANIFESTS: "50" })
      .restoreLimits,
    { maxHeldBytes: 8 * 1024 * 1024, maxHeldCount: 50 },
  );
  assert.deepEqual(readRestoreLimits({ RESTORE_MAX_HELD_MIB: "16" }), {
    maxHeldBytes: 16 * 1024 * 1024,
    maxHeldCount: 10_000,
  });
  assert.throws(
    () => readRestoreLimits({ RESTORE_MAX_HELD_MIB: "0", RESTORE_MAX_HELD_MANIFESTS: "many" }),
    (e: unknown) => {
      assert.ok(isArchiveError(e) && e.code === "CONFIG_INVALID");
      assert.match((e as Error).message, /RESTORE_MAX_HELD_MIB: must be ≥ 1/);
      assert.match((e as Error).message, /RESTORE_MAX_HELD_MANIFESTS: must be a number/);
      return true;
    },
  );
  assert.throws(
    () => readWorkerConfig({ STORAGE_ACCOUNT: "archive01", RESTORE_MAX_HELD_MIB: "5000" }),
    /RESTORE_MAX_HELD_MIB: must be ≤ 4096/,
  );
});

test("GZIP_LEVEL is the gzip level; its old name PIGZ_LEVEL is still read; both set and different is refused", () => {
  const base = { AZURE_STORAGE_CONNECTION_STRING: "x" };
  assert.equal(readWorkerConfig(base).tuning.gzipLevel, 1, "the default");
  assert.equal(readWorkerConfig({ ...base, GZIP_LEVEL: "6" }).tuning.gzipLevel, 6);
  assert.equal(readWorkerConfig({ ...base, PIGZ_LEVEL: "0" }).tuning.gzipLevel, 0, "the old name");
  assert.equal(readWorkerConfig({ ...base, GZIP_LEVEL: "3", PIGZ_LEVEL: "3" }).tuning.gzipLevel, 3);
  assert.throws(
    () => readWorkerConfig({ ...base, GZIP_LEVEL: "3", PIGZ_LEVEL: "9" }),
    (e: unknown) =>
      isArchiveError(e) && e.code === "CONFIG_INVALID" && /GZIP_LEVEL \(3\) and PIGZ_LEVEL \(9/.test(e.message),
  );
  assert.throws(() => readWorkerConfig({ ...base, GZIP_LEVEL: "10" }), /GZIP_LEVEL: must be ≤ 9/);
});

test("STAGING_MAX_AGE_MINUTES: 72 h by default, whole minutes from 1, named when wrong", () => {
  const base = { STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local" };
  assert.equal(readAppConfig(base).stagingMaxAgeMinutes, 72 * 60);
  assert.equal(readAppConfig({ ...base, STAGING_MAX_AGE_MINUTES: "1440" }).stagingMaxAgeMinutes, 1440);
  assert.throws(() => readAppConfig({ ...base, STAGING_MAX_AGE_MINUTES: "0" }), /STAGING_MAX_AGE_MINUTES: must be ≥ 1/);
  assert.throws(
    () => readAppConfig({ ...base, STAGING_MAX_AGE_MINUTES: "1.5" }),
    /STAGING_MAX_AGE_MINUTES: must be an integer/,
  );
  assert.throws(() => readAppConfig({ ...base, STAGING_MAX_AGE_MINUTES: "soon" }), /STAGING_MAX_AGE_MINUTES/);
});

test("cost settings: list prices by default (East US, LRS, USD, and their source), each named when wrong; a changed price makes the settings the source (guards issue 25.3)", () => {
  const base = { STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local" };
  const defaults = readAppConfig(base);
  assert.deepEqual(defaults.prices, DEFAULT_PRICES);
  assert.equal(defaults.registrySku, undefined);
  assert.equal(defaults.catalogBackfillMaxBlobs, 5000);
  const west = readAppConfig({
    ...base,
    COST_PRICES_REGION: "westeurope",
    COST_PRICES_REDUNDANCY: "GRS",
    COST_PRICES_READ_ON: "2027-01-15",
    COST_CURRENCY: "EUR",
    COST_ARCHIVE_PER_GB_MONTH: "0.0018",
    COST_RETRIEVAL_PER_GB_HIGH: "0.09",
    REGISTRY_SKU: "Premium",
    CATALOG_BACKFILL_MAX_BLOBS: "0",
  });
  assert.equal(west.prices.archivePerGibMonth, 0.0018);
  assert.deepEqual(west.prices.retrievalPerGib, { Standard: 0.02, High: 0.09 });
  assert.equal(west.prices.source, "the deployment's COST_* settings");
  assert.deepEqual(
    [west.prices.region, west.prices.redundancy, west.prices.readOn, west.prices.currency],
    ["westeurope", "GRS", "2027-01-15", "EUR"],
  );
  assert.equal(west.registrySku, "Premium");
  assert.equal(west.catalogBackfillMaxBlobs, 0);
  assert.throws(
    () =>
      readAppConfig({
        ...base,
        COST_ARCHIVE_PER_GB_MONTH: "-1",
        COST_RETRIEVAL_PER_GB_STANDARD: "cheap",
        COST_PRICES_REDUNDANCY: "ZRS",
        COST_PRICES_READ_ON: "yesterday",
        REGISTRY_SKU: "Classic",
        CATALOG_BACKFILL_MAX_BLOBS: "-5",
      }),
    (e: unknown) => {
      const message = (e as Error).message;
      for (const name of [
        "COST_ARCHIVE_PER_GB_MONTH: must be ≥ 0",
        "COST_RETRIEVAL_PER_GB_STANDARD: must be a number",
        "COST_PRICES_REDUNDANCY",
        "COST_PRICES_READ_ON: must be a date",
        "REGISTRY_SKU: must be one of Basic, Standard, Premium",
        "CATALOG_BACKFILL_MAX_BLOBS: must be ≥ 0",
      ])
        assert.ok(message.includes(name), `${name} in ${message}`);
      return true;
    },
  );
  assert.deepEqual(readCostSettings({}).prices, DEFAULT_PRICES);
});

test("PURGE_ENABLED off, PURGE_GRACE P14D and PURGE_MAX_IMAGES 100 by default; each read, bounded and named when wrong (guards issue 23.4)", () => {
  const base = { STORAGE_ACCOUNT: "archive01", JOB_RUNNER: "local" };
  assert.deepEqual(readAppConfig(base).purge, { enabled: false, graceSeconds: 14 * 86_400, maxImages: 100 });
  assert.deepEqual(readAppConfig({ ...base, PURGE_ENABLED: "", PURGE_GRACE: "", PURGE_MAX_IMAGES: "" }).purge, {
    enabled: false,
    graceSeconds: 14 * 86_400,
    maxImages: 100,
  });
  assert.deepEqual(
    readAppConfig({ ...base, PURGE_ENABLED: "true", PURGE_GRACE: "PT20S", PURGE_MAX_IMAGES: "5" }).purge,
    { enabled: true, graceSeconds: 20, maxImages: 5 },
  );
  assert.equal(readAppConfig({ ...base, PURGE_GRACE: "PT0S" }).purge.graceSeconds, 0);
  assert.throws(
    () => readAppConfig({ ...base, PURGE_GRACE: "14 days" }),
    (e: unknown) => {
      assert.ok(isArchiveError(e) && e.code === "CONFIG_INVALID");
      assert.match((e as Error).message, /PURGE_GRACE: "14 days" is not an ISO 8601 duration/);
      return true;
    },
  );
  assert.throws(() => readAppConfig({ ...base, PURGE_GRACE: "P1M" }), /PURGE_GRACE: .*years and months/);
  assert.throws(() => readAppConfig({ ...base, PURGE_GRACE: "P400D" }), /PURGE_GRACE: .*longer than/);
  assert.throws(() => readAppConfig({ ...base, PURGE_MAX_IMAGES: "0" }), /PURGE_MAX_IMAGES: must be ≥ 1/);
  assert.throws(() => readAppConfig({ ...base, PURGE_ENABLED: "maybe" }), /PURGE_ENABLED/);
});
