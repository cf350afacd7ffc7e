// Keeps the app, the deployment and the README honest with each other. infra/main.bicep is compiled by the real Bicep
// CLI (scripts/bicep.sh) and the ARM JSON it yields is deployed on paper (test/support/armTemplate.ts) with the
// parameter values each check needs, so every check reads what Azure would be given: every setting the app reads is
// set, with values src/config.ts accepts; every role the code needs is assigned at the narrowest scope, per identity,
// and nothing more; no secret travels as a plain setting or env value; no key or connection string; the archive
// account can hold Archive-tier blobs; both Durable backends deploy; azure.yaml, the parameters file and the README's
// Deploy section fit the compiled template.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import picomatch from "picomatch";
import {
  appSettingsSchema,
  archiveTuningEnvSchema,
  readAppSettings,
  readWorkerConfig,
  registryEnvSchema,
  storageEnvSchema,
  workerScopeEnvSchema,
} from "../../src/config.js";
import { parseJobResourceId } from "../../src/jobs/jobResourceId.js";
import { SECRET_ENV_NAMES } from "../../src/jobs/jobRunner.js";
import { archiveBlobName, resultBlobName, stagingBlobName, summaryBlobName } from "../../src/storage/blobNames.js";
import {
  deploy,
  parameterProblems,
  type DeployedResource,
  type Deployment,
  type Json,
} from "../support/armTemplate.js";
import { azureAnswer, compileMainTemplate, pinnedBicepVersion } from "../support/compiledInfra.js";
import { repoRoot } from "../support/repoRoot.js";

const ROOT = repoRoot();
const template = await compileMainTemplate();
const mainParameters = template.parameters ?? {};

// ---- deploying it on paper ---------------------------------------------------------------------------------------------

const SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1";
const REGISTRY_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000b2";
const TENANT = "00000000-0000-0000-0000-0000000000c3";
const REGISTRY = { name: "myregistry", resourceGroup: "rg-registry", loginServer: "myregistry.azurecr.io" };

/** What `azd up` passes at the least: the azd environment, and the source registry (the hook finds its group). */
const REQUIRED: Record<string, Json> = {
  environmentName: "archive-prod",
  location: "westeurope",
  sourceRegistryName: REGISTRY.name,
  sourceRegistryResourceGroupName: REGISTRY.resourceGroup,
};

type Identity = "function" | "job";

/** One deployment's resources, found by what they are. */
class Deployed {
  constructor(
    readonly parameters: Record<string, Json>,
    readonly deployment: Deployment,
  ) {}

  get resources(): DeployedResource[] {
    return this.deployment.resources.filter((r) => !r.existing);
  }

  ofType(type: string): DeployedResource[] {
    return this.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());
  }

  one(type: string, where: (r: DeployedResource) => boolean = () => true): DeployedResource {
    const found = this.ofType(type).filter(where);
    assert.equal(found.length, 1, `expected one ${type}, found ${found.length}: ${found.map((r) => r.id).join(", ")}`);
    return found[0] as DeployedResource;
  }

  get site(): DeployedResource {
    return this.one("Microsoft.Web/sites");
  }

  get appSettings(): Record<string, string> {
    const config = this.one("Microsoft.Web/sites/config", (r) => r.name === `${this.site.name}/appsettings`);
    const settings = field(config.body, "properties") as Record<string, Json>;
    for (const [key, value] of Object.entries(settings))
      assert.equal(typeof value, "string", `app setting ${key} is not a string: ${JSON.stringify(value)}`);
    return settings as Record<string, string>;
  }

  get job(): DeployedResource {
    return this.one("Microsoft.App/jobs");
  }

  get workerContainer(): Record<string, Json> {
    const containers = field(this.job.body, "properties", "template", "containers") as Json[];
    assert.equal(containers.length, 1, "the job template must hold exactly one container (the worker)");
    return containers[0] as Record<string, Json>;
  }

  get workerEnv(): { name: string; value?: string; secretRef?: string }[] {
    return this.workerContainer.env as { name: string; value?: string; secretRef?: string }[];
  }

  /** The worker's env as the container sees it: values, and secrets as the job holds them. */
  get workerEnvValues(): Record<string, string> {
    const secrets = new Map(this.jobSecrets.map((s) => [s.name, s.value]));
    return Object.fromEntries(
      this.workerEnv.map((e) => [
        e.name,
        e.secretRef !== undefined ? (secrets.get(e.secretRef) ?? "") : (e.value ?? ""),
      ]),
    );
  }

  get jobSecrets(): { name: string; value: string }[] {
    return field(this.job.body, "properties", "configuration", "secrets") as { name: string; value: string }[];
  }

  /** The resource id of a user-assigned identity the site or the job runs as. */
  identityId(who: Identity): string {
    const resource = who === "function" ? this.site : this.job;
    const ids = Object.keys(field(resource.body, "identity", "userAssignedIdentities") as Record<string, Json>);
    assert.equal(ids.length, 1, `${resource.name} must run as exactly one user-assigned identity`);
    return ids[0] as string;
  }

  identityProperty(who: Identity, property: "clientId" | "principalId"): string {
    const identity = this.one("Microsoft.ManagedIdentity/userAssignedIdentities", (r) => r.id === this.identityId(who));
    return azureAnswer(identity, ["properties", property]) as string;
  }

  inModule(module: string, type: string): DeployedResource[] {
    return this.ofType(type).filter((r) => r.module === module);
  }

  get archiveAccount(): DeployedResource {
    const accounts = this.inModule("archiveStorage", "Microsoft.Storage/storageAccounts");
    assert.equal(accounts.length, 1, "the archive-storage module deploys one storage account");
    return accounts[0] as DeployedResource;
  }

  get hostStorage(): DeployedResource {
    const accounts = this.inModule("functionApp", "Microsoft.Storage/storageAccounts");
    assert.equal(accounts.length, 1, "the function-app module deploys one storage account (the host's)");
    return accounts[0] as DeployedResource;
  }

  childrenOf(parent: DeployedResource, type: string): DeployedResource[] {
    return this.ofType(type).filter((r) => r.id.toLowerCase().startsWith(`${parent.id.toLowerCase()}/`));
  }
}

function field(object: Json | undefined, ...path: string[]): Json {
  let value: Json | undefined = object;
  for (const key of path) {
    assert.ok(
      value !== null && typeof value === "object" && !Array.isArray(value) && key in value,
      `no ${path.join(".")} in ${JSON.stringify(object).slice(0, 300)}`,
    );
    value = (value as Record<string, Json>)[key];
  }
  return value as Json;
}

const deployments = new Map<string, Deployed>();

/** main.bicep deployed with REQUIRED and `overrides`; throws on what ARM would refuse (a parameter out of bounds, …). */
function deployMain(overrides: Record<string, Json> = {}): Deployed {
  const key = JSON.stringify(overrides);
  let deployed = deployments.get(key);
  if (!deployed) {
    const parameters = { ...REQUIRED, ...overrides };
    deployed = new Deployed(
      parameters,
      deploy(template, parameters, {
        subscriptionId: SUBSCRIPTION,
        tenantId: TENANT,
        location: "westeurope",
        runtime: azureAnswer,
      }),
    );
    deployments.set(key, deployed);
  }
  return deployed;
}

/** The value a parameter takes in a deployment (its default unless given). */
function param(deployed: Deployed, name: string): Json {
  const value = deployed.deployment.parameters[name];
  assert.ok(value !== undefined, `main.bicep has no parameter ${name}`);
  return value;
}

/** Deployments that between them take every branch the templates have: backends, registry modes, credentials, targets. */
const VARIANTS: Record<string, Json>[] = [
  {},
  {
    durableBackend: "durableTaskScheduler",
    sourceRegistryPermissionsMode: "AbacRepositoryPermissions",
    restoreTargetRegistryNames: ["TgtOne", "tgttwo"],
    purgeEnabled: true,
  },
  {
    durableBackend: "durableTaskScheduler",
    durableTaskSchedulerSku: "Dedicated",
    restoreTargetRegistryNames: ["tgtone"],
    restoreTargetRegistriesResourceGroupName: "rg-targets",
  },
  {
    sourceRegistrySubscriptionId: REGISTRY_SUBSCRIPTION,
    registryUsername: "token-user",
    registryPassword: "token-password",
    enableNightlyRun: false,
    deleteArchives: true,
    purgeEnabled: true,
    purgeGrace: "PT20S",
  },
];

const SAMPLE_REQUEST = JSON.stringify({ image: `${REGISTRY.loginServer}/app:1.0` });

// ---- the compiler ------------------------------------------------------------------------------------------------------

describe("infra/main.bicep compiles with the pinned Bicep CLI", () => {
  test("the compiled template is subscription-scoped and every variant deploys (guards issue 24.2)", () => {
    assert.match(String(template.$schema), /subscriptionDeploymentTemplate\.json/);
    for (const overrides of VARIANTS)
      assert.ok(deployMain(overrides).resources.length > 10, `variant ${JSON.stringify(overrides)}`);
  });

  test("the README names the pinned Bicep version as the one that compiled the templates (guards issue 24.2)", async () => {
    const version = await pinnedBicepVersion();
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    assert.ok(
      readme.includes(`Bicep ${version}`),
      `README.md must say the templates compile with Bicep ${version} (scripts/bicep-cli.proj)`,
    );
    assert.doesNotMatch(readme, /Not compiled here/i, "README.md still says the templates were never compiled");
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts["infra:build"], "bash scripts/bicep.sh build");
    assert.match(
      readFileSync(join(ROOT, "scripts/test.sh"), "utf8"),
      /^npm run --silent infra:build$/m,
      "npm test must lint and compile the templates",
    );
  });
});

// ---- the Function App's settings -------------------------------------------------------------------------------------

/** Settings the schema reads that the templates deliberately do not set, and why. */
const APP_SETTINGS_NOT_SET: Record<string, string> = {
  AZURE_STORAGE_CONNECTION_STRING: "a secret: the app reaches storage with its managed identity (STORAGE_ACCOUNT_URL)",
  STORAGE_ACCOUNT: "STORAGE_ACCOUNT_URL is set instead (it carries the cloud's endpoint suffix)",
  ACR_USERNAME:
    "registry credentials are never app settings: the app lists the registry with its identity (REGISTRY_AUTH=entra)",
  ACR_PASSWORD: "a secret: never an app setting",
  ARM_ENDPOINT: "its default, the public cloud's Resource Manager, is right for this deployment",
  ACR_LOGIN_SERVER: "binds a registry password to its host: the app has none (REGISTRY_AUTH=entra)",
  REGISTRY_SKU: "the app reads the source registry's SKU and usage through Resource Manager (Reader on the registry)",
};

/** Names that hold secrets and may never be a plain app setting or env value. */
const SECRET_NAMES = new Set([...SECRET_ENV_NAMES, "ACR_USERNAME", "ACR_PASSWORD"]);

/** main.bicep parameters and the setting each becomes, in the app ('app'), the job's env ('job') or both. */
const PARAMETER_SETTINGS: [parameter: string, where: "app" | "job" | "both", setting: string][] = [
  ["archiveContainerName", "both", "ARCHIVE_CONTAINER"],
  ["taskHubName", "app", "TASKHUB_NAME"],
  ["nightlySchedule", "app", "NIGHTLY_SCHEDULE"],
  ["exposeDurableStatusUrls", "app", "DURABLE_STATUS_URLS"],
  ["maxAttempts", "app", "MAX_ATTEMPTS"],
  ["jobTimeoutMinutes", "app", "JOB_TIMEOUT_MINUTES"],
  ["pollMaxIntervalSeconds", "app", "POLL_MAX_INTERVAL_SECONDS"],
  ["defaultMaxParallel", "app", "DEFAULT_MAX_PARALLEL"],
  ["rehydrationTimeoutMinutesStandard", "app", "REHYDRATION_TIMEOUT_MINUTES_STANDARD"],
  ["rehydrationTimeoutMinutesHigh", "app", "REHYDRATION_TIMEOUT_MINUTES_HIGH"],
  ["rehydrationPollMaxSeconds", "app", "REHYDRATION_POLL_MAX_SECONDS"],
  ["registryReadsPerMinute", "both", "REGISTRY_READS_PER_MINUTE"],
  ["listingPageRepositories", "app", "LISTING_PAGE_REPOSITORIES"],
  ["listingConcurrency", "app", "LISTING_CONCURRENCY"],
  ["referrersMaxDepth", "both", "REFERRERS_MAX_DEPTH"],
  ["referrersMaxCount", "both", "REFERRERS_MAX_COUNT"],
  ["refreshReferrersMaxRequests", "app", "REFRESH_REFERRERS_MAX_REQUESTS"],
  ["nightlyRefreshReferrers", "app", "NIGHTLY_REFRESH_REFERRERS"],
  ["purgeEnabled", "app", "PURGE_ENABLED"],
  ["purgeGrace", "app", "PURGE_GRACE"],
  ["purgeMaxImages", "app", "PURGE_MAX_IMAGES"],
  ["gzipLevel", "job", "GZIP_LEVEL"],
  ["uploadBlockSizeMiB", "job", "UPLOAD_BLOCK_SIZE_MIB"],
  ["uploadConcurrency", "job", "UPLOAD_CONCURRENCY"],
  ["registryConcurrency", "job", "REGISTRY_CONCURRENCY"],
  ["prefetchMiB", "job", "PREFETCH_MIB"],
];

/** Every value a parameter declares that a test can enumerate: its default, its bounds, its allowed values. */
function declaredValues(name: string): Json[] {
  const definition = mainParameters[name];
  assert.ok(definition, `main.bicep has no parameter ${name}`);
  const values: Json[] = [];
  const fallback = definition.defaultValue as Json | undefined;
  if (fallback !== undefined && !(typeof fallback === "string" && fallback.startsWith("["))) values.push(fallback);
  if (definition.minValue !== undefined) values.push(definition.minValue);
  if (definition.maxValue !== undefined) values.push(definition.maxValue);
  if (definition.type === "bool") values.push(true, false);
  if (definition.allowedValues && definition.type !== "array") values.push(...definition.allowedValues);
  return values.filter((v, i) => values.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === i);
}

function readApp(deployed: Deployed): ReturnType<typeof readAppSettings> {
  try {
    return readAppSettings(deployed.appSettings);
  } catch (error) {
    return assert.fail(
      `readAppSettings rejects the deployed app settings (${JSON.stringify(deployed.parameters)}): ${(error as Error).message}`,
    );
  }
}

function readWorker(deployed: Deployed): ReturnType<typeof readWorkerConfig> {
  try {
    return readWorkerConfig({ ...deployed.workerEnvValues, ARCHIVE_REQUEST: SAMPLE_REQUEST });
  } catch (error) {
    return assert.fail(
      `readWorkerConfig rejects the job's env (${JSON.stringify(deployed.parameters)}): ${(error as Error).message}`,
    );
  }
}

describe("Function App settings against src/config.ts appSettingsSchema", () => {
  const schemaKeys = Object.keys(appSettingsSchema.shape);

  test("every setting the schema reads is set, unless deliberately left out, in every variant (guards issue 24.3)", () => {
    for (const overrides of VARIANTS) {
      const settings = deployMain(overrides).appSettings;
      const missing = schemaKeys.filter((k) => !(k in APP_SETTINGS_NOT_SET) && !(k in settings));
      assert.deepEqual(
        missing,
        [],
        `the Function App does not get ${missing.join(", ")} (${JSON.stringify(overrides)}), which appSettingsSchema reads: add it to var appSettings in infra/app/function-app.bicep (or to APP_SETTINGS_NOT_SET here, with the reason)`,
      );
      const setAnyway = Object.keys(APP_SETTINGS_NOT_SET).filter((k) => k in settings);
      assert.deepEqual(
        setAnyway,
        [],
        `the Function App gets ${setAnyway.join(", ")}, which must stay unset: ${setAnyway.map((k) => APP_SETTINGS_NOT_SET[k]).join("; ")}`,
      );
    }
    const stale = Object.keys(APP_SETTINGS_NOT_SET).filter((k) => !schemaKeys.includes(k));
    assert.deepEqual(
      stale,
      [],
      `APP_SETTINGS_NOT_SET names ${stale.join(", ")}, which appSettingsSchema no longer reads: remove them`,
    );
  });

  test("the deployed settings pass the app's own validation: container-apps jobs, Entra registry access", () => {
    for (const overrides of VARIANTS) {
      const settings = readApp(deployMain(overrides));
      assert.equal(settings.JOB_RUNNER, "container-apps", "JOB_RUNNER must be container-apps in Azure");
      assert.equal(
        settings.REGISTRY_AUTH,
        "entra",
        "REGISTRY_AUTH must be entra (the app lists the registry with its identity)",
      );
      assert.equal(settings.REGISTRY_INSECURE, false);
    }
  });

  test("every value a parameter allows (default, bounds, allowed values) deploys, and the app and the worker accept what it yields (guards issue 24.3)", () => {
    let checked = 0;
    for (const [name, definition] of Object.entries(mainParameters)) {
      if (definition.type === "securestring" || name in REQUIRED) continue;
      for (const value of declaredValues(name)) {
        const deployed = deployMain({ [name]: value });
        readApp(deployed);
        readWorker(deployed);
        checked++;
      }
    }
    // Enumerating nothing would make this pass vacuously.
    assert.ok(checked > 60, `only ${checked} parameter values were deployed`);
  });

  test("each parameter becomes its setting, unchanged, at its default and its bounds (guards issue 24.3)", () => {
    for (const [name, where, setting] of PARAMETER_SETTINGS) {
      const values = declaredValues(name);
      assert.ok(values.length > 0, `${name} declares no value to check`);
      for (const value of values) {
        const deployed = deployMain({ [name]: value });
        const text = String(value);
        if (where !== "job")
          assert.equal(
            deployed.appSettings[setting],
            text,
            `${name}=${JSON.stringify(value)} must set the app's ${setting} to ${text}`,
          );
        if (where !== "app")
          assert.equal(
            deployed.workerEnvValues[setting],
            text,
            `${name}=${JSON.stringify(value)} must set the job's ${setting} to ${text}`,
          );
      }
    }
  });

  test("settings are wired to the right resources and identities", () => {
    const d = deployMain();
    const settings = d.appSettings;
    assert.equal(
      settings.STORAGE_ACCOUNT_URL,
      `https://${d.archiveAccount.name}.blob.core.windows.net/`,
      "STORAGE_ACCOUNT_URL must be the archive account's blob endpoint",
    );
    assert.notEqual(d.archiveAccount.id, d.hostStorage.id);
    assert.equal(settings.ARCHIVE_CONTAINER, "images");
    assert.equal(
      d
        .childrenOf(d.archiveAccount, "Microsoft.Storage/storageAccounts/blobServices/containers")
        .map((c) => c.name.split("/").pop())
        .join(),
      settings.ARCHIVE_CONTAINER,
      "ARCHIVE_CONTAINER must be the archive account's container",
    );
    assert.equal(settings.JOB_RESOURCE_ID, d.job.id, "JOB_RESOURCE_ID must be the worker job's resource id");
    assert.equal(parseJobResourceId(settings.JOB_RESOURCE_ID ?? "").jobName, d.job.name);
    assert.equal(
      settings.JOB_CONTAINER_NAME,
      d.workerContainer.name,
      "JOB_CONTAINER_NAME must be the job template's container",
    );
    assert.equal(
      settings.AZURE_CLIENT_ID,
      d.identityProperty("function", "clientId"),
      "AZURE_CLIENT_ID must be the Function App's identity",
    );
    assert.equal(settings.AzureWebJobsStorage__clientId, d.identityProperty("function", "clientId"));
    assert.notEqual(
      d.identityId("function"),
      d.identityId("job"),
      "the app and the job must have identities of their own",
    );
    assert.equal(settings.TASKHUB_NAME, "acrcoldarchive");
    assert.equal(settings.NIGHTLY_REGISTRIES, REGISTRY.loginServer, "the nightly run archives the source registry");
    assert.equal(settings.ALLOWED_REGISTRIES, REGISTRY.loginServer, "runs may target the source registry only");
    assert.equal(
      settings.AZURE_SUBSCRIPTION_ID,
      SUBSCRIPTION,
      "a bare registry name resolves in the registry's subscription (the deployment's by default)",
    );
    const elsewhere = deployMain({
      sourceRegistrySubscriptionId: REGISTRY_SUBSCRIPTION,
      registryUsername: "token-user",
      registryPassword: "token-password",
      enableNightlyRun: false,
      deleteArchives: true,
    });
    assert.equal(elsewhere.appSettings.AZURE_SUBSCRIPTION_ID, REGISTRY_SUBSCRIPTION);
    assert.equal(
      elsewhere.appSettings.NIGHTLY_REGISTRIES,
      "",
      "enableNightlyRun=false leaves NIGHTLY_REGISTRIES empty",
    );
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
      extensions?: { durableTask?: { hubName?: string } };
    };
    assert.equal(
      host.extensions?.durableTask?.hubName,
      "%TASKHUB_NAME%",
      "host.json must read the task hub from TASKHUB_NAME, which the templates set",
    );
  });

  test("the host reaches its storage and telemetry with its identity, on Flex Consumption with Node 20", () => {
    const d = deployMain();
    const settings = d.appSettings;
    const clientId = d.identityProperty("function", "clientId");
    assert.equal(settings.AzureWebJobsStorage__credential, "managedidentity");
    assert.equal(settings.AzureWebJobsStorage__accountName, d.hostStorage.name);
    const appInsights = d.one("Microsoft.Insights/components");
    assert.equal(
      field(appInsights.body, "properties", "DisableLocalAuth"),
      true,
      "Application Insights must refuse local (key) auth",
    );
    assert.equal(
      settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
      azureAnswer(appInsights, ["properties", "ConnectionString"]),
    );
    assert.equal(
      settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
      `ClientId=${clientId};Authorization=AAD`,
      "Application Insights must take Entra ID tokens from the app's identity",
    );
    for (const key of [
      "AzureWebJobsStorage",
      "FUNCTIONS_WORKER_RUNTIME",
      "FUNCTIONS_EXTENSION_VERSION",
      "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
      "WEBSITE_CONTENTSHARE",
    ]) {
      assert.ok(
        !(key in settings),
        `${key} must not be set (identity-based storage; Flex Consumption takes the runtime from functionAppConfig)`,
      );
    }
    const plan = d.one("Microsoft.Web/serverfarms");
    assert.deepEqual(field(plan.body, "sku"), { name: "FC1", tier: "FlexConsumption" });
    assert.equal(field(d.site.body, "properties", "serverFarmId"), plan.id);
    assert.deepEqual(field(d.site.body, "properties", "functionAppConfig", "runtime"), { name: "node", version: "20" });
    const storage = field(d.site.body, "properties", "functionAppConfig", "deployment", "storage") as Record<
      string,
      Json
    >;
    const packageContainer = d.childrenOf(d.hostStorage, "Microsoft.Storage/storageAccounts/blobServices/containers");
    assert.equal(packageContainer.length, 1);
    assert.equal(
      storage.value,
      `https://${d.hostStorage.name}.blob.core.windows.net/${packageContainer[0]?.name.split("/").pop()}`,
    );
    assert.deepEqual(
      storage.authentication,
      { type: "UserAssignedIdentity", userAssignedIdentityResourceId: d.identityId("function") },
      "the deployment package must be read with the app's identity",
    );
    assert.equal(field(d.site.body, "properties", "httpsOnly"), true);
  });
});

// ---- the worker job --------------------------------------------------------------------------------------------------

/** Worker settings the templates deliberately do not set, and why. */
const WORKER_ENV_NOT_SET: Record<string, string> = {
  AZURE_STORAGE_CONNECTION_STRING: "a secret: the worker reaches storage with its managed identity",
  STORAGE_ACCOUNT: "STORAGE_ACCOUNT_URL is set instead",
  PIGZ_LEVEL: "GZIP_LEVEL's old name, read only when GZIP_LEVEL is not set",
};

describe("the worker job's env against src/config.ts", () => {
  const workerKeys = [
    ...Object.keys(storageEnvSchema.shape),
    ...Object.keys(registryEnvSchema.shape),
    ...Object.keys(archiveTuningEnvSchema.shape),
    ...Object.keys(workerScopeEnvSchema.shape),
  ];
  const entra = deployMain();
  const password = deployMain({ registryUsername: "token-user", registryPassword: "token-password" });
  const PASSWORD_ONLY = ["ACR_USERNAME", "ACR_PASSWORD", "ACR_LOGIN_SERVER"];

  test("every worker setting the schema reads is set, in both registry variants; ARCHIVE_REQUEST is left to each execution (guards issue 24.3)", () => {
    for (const [variant, deployed] of [
      ["entra", entra],
      ["password", password],
    ] as const) {
      const names = new Set(deployed.workerEnv.map((e) => e.name));
      const missing = workerKeys.filter(
        (k) => !(k in WORKER_ENV_NOT_SET) && !names.has(k) && !(variant === "entra" && PASSWORD_ONLY.includes(k)),
      );
      assert.deepEqual(
        missing,
        [],
        `the job (${variant} variant) does not set ${missing.join(", ")}, which the worker's schema reads`,
      );
      const setAnyway = Object.keys(WORKER_ENV_NOT_SET).filter((k) => names.has(k));
      assert.deepEqual(
        setAnyway,
        [],
        `the job sets ${setAnyway.join(", ")}: ${setAnyway.map((k) => WORKER_ENV_NOT_SET[k]).join("; ")}`,
      );
      assert.ok(
        !names.has("ARCHIVE_REQUEST") && !names.has("RESTORE_REQUEST"),
        "ARCHIVE_REQUEST and RESTORE_REQUEST are per execution (the app merges them in)",
      );
      assert.equal(names.size, deployed.workerEnv.length, "an env variable is set twice");
    }
    assert.ok(
      PASSWORD_ONLY.every((k) => !entra.workerEnv.some((e) => e.name === k)),
      "the entra variant carries no registry credentials",
    );
    assert.deepEqual(entra.jobSecrets, [], "no registry credentials given: no job secrets");
  });

  test("both variants pass readWorkerConfig and select their registry auth", () => {
    assert.equal(readWorker(entra).registryAuth.kind, "entra");
    const config = readWorker(password);
    assert.deepEqual(config.registryAuth, {
      kind: "password",
      username: "token-user",
      password: "token-password",
      loginServer: REGISTRY.loginServer,
    });
  });

  test("env is wired to the job's identity, the archive account and the source registry", () => {
    const env = entra.workerEnvValues;
    assert.equal(env.STORAGE_ACCOUNT_URL, `https://${entra.archiveAccount.name}.blob.core.windows.net/`);
    assert.equal(
      env.AZURE_CLIENT_ID,
      entra.identityProperty("job", "clientId"),
      "the worker authenticates as the job identity",
    );
    // The worker's own scope: the source registry and the archive container, whatever a request names.
    assert.equal(env.ALLOWED_REGISTRIES, REGISTRY.loginServer);
    assert.equal(env.ARCHIVE_CONTAINER, entra.appSettings.ARCHIVE_CONTAINER);
    assert.equal(env.RESTORE_TARGET_REGISTRIES, "");
    assert.equal(
      password.workerEnvValues.ACR_LOGIN_SERVER,
      REGISTRY.loginServer,
      "a registry password is offered to the source registry only",
    );
    assert.deepEqual(
      field(entra.job.body, "properties", "configuration", "registries"),
      [{ server: REGISTRY.loginServer, identity: entra.identityId("job") }],
      "the worker image is pulled with the job identity",
    );
  });

  test("the job is manual, sized for streaming, retried by the orchestration, and mounts nothing", () => {
    const configuration = field(entra.job.body, "properties", "configuration") as Record<string, Json>;
    assert.equal(configuration.triggerType, "Manual");
    assert.equal(configuration.replicaRetryLimit, 0, "retries belong to the orchestration (MAX_ATTEMPTS)");
    for (const minutes of declaredValues("jobTimeoutMinutes")) {
      const timeout = field(
        deployMain({ jobTimeoutMinutes: minutes }).job.body,
        "properties",
        "configuration",
        "replicaTimeout",
      );
      assert.equal(
        timeout,
        Math.min(((minutes as number) + 10) * 60, 86400),
        "the replica timeout is a backstop 10 minutes behind JOB_TIMEOUT_MINUTES, at most a day",
      );
    }
    for (const cpu of declaredValues("workerCpuCores")) {
      const resources = deployMain({ workerCpuCores: cpu }).workerContainer.resources as Record<string, Json>;
      assert.deepEqual(
        resources,
        { cpu: Number(cpu), memory: `${Number(cpu) * 2}Gi` },
        `Consumption profiles pair ${String(cpu)} vCPU with ${Number(cpu) * 2}Gi`,
      );
    }
    const jobText = JSON.stringify(entra.job.body);
    assert.doesNotMatch(
      jobText,
      /"(volumes|volumeMounts|storageName)"|AzureFile/,
      "the worker streams and needs no volume (an Azure Files share would need a storage key)",
    );
    assert.deepEqual(
      entra.ofType("Microsoft.App/managedEnvironments/storages"),
      [],
      "no Container Apps environment storage (Azure Files)",
    );
    assert.equal(
      deployMain({ workerImage: "" }).workerContainer.image,
      "mcr.microsoft.com/k8se/quickstart-jobs:latest",
      "a public placeholder until the first image build",
    );
    assert.equal(
      deployMain({ workerImage: `${REGISTRY.loginServer}/acr-cold-archive/worker:1` }).workerContainer.image,
      `${REGISTRY.loginServer}/acr-cold-archive/worker:1`,
    );
  });
});

// ---- secrets ----------------------------------------------------------------------------------------------------------

describe("no secret is passed as a plain app setting or env value", () => {
  test("the Function App's settings hold no secret, in any variant", () => {
    for (const overrides of VARIANTS) {
      const secrets = Object.keys(deployMain(overrides).appSettings).filter((k) => SECRET_NAMES.has(k));
      assert.deepEqual(secrets, [], `the Function App gets ${secrets.join(", ")} as plain app settings`);
    }
  });

  test("the job's secrets are read only through secretRef, and every secretRef names a job secret", () => {
    const d = deployMain({ registryUsername: "token-user", registryPassword: "token-password" });
    const declared = d.jobSecrets.map((s) => s.name);
    for (const entry of d.workerEnv) {
      if (SECRET_NAMES.has(entry.name))
        assert.ok(
          entry.secretRef !== undefined && entry.value === undefined,
          `${entry.name} must be a secretRef, never a value`,
        );
      if (entry.secretRef !== undefined)
        assert.ok(
          declared.includes(entry.secretRef),
          `${entry.name} refers to secret ${entry.secretRef}, which the job does not declare`,
        );
    }
    const referenced = new Set(d.workerEnv.flatMap((e) => (e.secretRef !== undefined ? [e.secretRef] : [])));
    assert.deepEqual(
      declared.filter((name) => !referenced.has(name)),
      [],
      "a job secret is declared but never read",
    );
    assert.deepEqual(referenced, new Set(["acr-username", "acr-password"]));
  });

  test("the registry password reaches only the job's secrets: no setting, env value, other resource or output", () => {
    const sentinel = "sentinel-registry-password-5f0c";
    assert.equal(mainParameters.registryPassword?.type, "securestring", "registryPassword must be @secure()");
    const d = deployMain({ registryUsername: "token-user", registryPassword: sentinel });
    const holders: string[] = [];
    for (const resource of d.deployment.resources) {
      if (!JSON.stringify(resource.body).includes(sentinel)) continue;
      if (resource.type === "Microsoft.App/jobs") {
        const secrets = d.jobSecrets.filter((s) => s.value === sentinel).map((s) => s.name);
        assert.deepEqual(secrets, ["acr-password"]);
        const outside = JSON.stringify({
          ...resource.body,
          properties: {
            ...(resource.body.properties as object),
            configuration: { ...(field(resource.body, "properties", "configuration") as object), secrets: [] },
          },
        });
        assert.ok(!outside.includes(sentinel), "the password appears in the job outside its secrets");
      } else if (resource.type === "Microsoft.Resources/deployments") {
        // Handed down to the module that declares it @secure() as well.
        const module = (
          template.resources as Record<
            string,
            { properties: { template: { parameters: Record<string, { type: string }> } } }
          >
        )[resource.symbol];
        const secureParams = Object.entries(field(resource.body, "parameters") as Record<string, Json>)
          .filter(([, v]) => v === sentinel)
          .map(([k]) => k);
        for (const name of secureParams)
          assert.equal(
            module?.properties.template.parameters[name]?.type,
            "securestring",
            `module ${resource.symbol} receives the password as ${name}, which must be @secure()`,
          );
      }
      holders.push(`${resource.type} ${resource.symbol}`);
    }
    assert.deepEqual(holders.sort(), ["Microsoft.App/jobs job", "Microsoft.Resources/deployments workerJob"]);
    assert.ok(!JSON.stringify(d.deployment.outputs).includes(sentinel), "an output exposes the password");
  });
});

// ---- keys and connection strings ---------------------------------------------------------------------------------------

function deploymentFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
    );
  return [...walk("infra"), "azure.yaml"];
}

describe("no storage key or connection string in the templates", () => {
  const banned: [RegExp, string][] = [
    [/listKeys/i, "listKeys (account keys)"],
    [/list(Account|Service)Sas/i, "a SAS token"],
    [/listCredentials/i, "registry admin credentials"],
    [/AccountKey=/i, "an account key"],
    [/SharedAccessSignature/i, "a SAS"],
    [/DefaultEndpointsProtocol/i, "a storage connection string"],
    [/UseDevelopmentStorage/i, "the storage emulator"],
    [/\bconnectionString\b/, "connectionString"],
    [/AZURE_STORAGE_CONNECTION_STRING/, "AZURE_STORAGE_CONNECTION_STRING"],
    [/\bsharedKey\s*:/, "a Log Analytics shared key"],
  ];

  test("no file under infra/ (nor azure.yaml), nor the compiled template, mentions a key, SAS or connection string", () => {
    for (const file of deploymentFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [pattern, what] of banned) {
        const line = text.split("\n").findIndex((l) => pattern.test(l));
        assert.equal(
          line,
          -1,
          `${file}:${line + 1}: ${what} must not appear in the templates: ${text.split("\n")[line]?.trim()}`,
        );
      }
      // The connection strings allowed carry no credential: Application Insights' (an ingestion endpoint: local auth is
      // off), and the Durable Task Scheduler's (its endpoint and the managed identity's client id), exactly these.
      const allowed = [
        /^\s*APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights\.properties\.ConnectionString\s*$/,
        /^\s*AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'\s*$/,
        /^\s*DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=\$\{durableTaskSchedulerEndpoint\};Authentication=ManagedIdentity;ClientID=\$\{identityClientId\}'\s*$/,
      ];
      for (const [index, l] of text.split("\n").entries()) {
        if (!/connection_?string/i.test(l)) continue;
        assert.ok(
          allowed.some((a) => a.test(l)),
          `${file}:${index + 1}: only Application Insights' and the Durable Task Scheduler's identity connection strings may appear: ${l.trim()}`,
        );
      }
    }
    const compiled = JSON.stringify(template);
    for (const [pattern, what] of banned.slice(0, 7))
      assert.doesNotMatch(compiled, pattern, `the compiled template uses ${what}`);
  });

  test("every storage account is Entra-only, HTTPS-only, TLS 1.2, private; every container private", () => {
    for (const overrides of VARIANTS) {
      const d = deployMain(overrides);
      const accounts = d.ofType("Microsoft.Storage/storageAccounts");
      assert.equal(
        accounts.length,
        2,
        "expected two storage accounts: the archive and the Function App's host storage",
      );
      for (const account of accounts) {
        const properties = field(account.body, "properties") as Record<string, Json>;
        const where = `storage account ${account.name}`;
        assert.equal(properties.allowSharedKeyAccess, false, `${where} must set allowSharedKeyAccess: false`);
        assert.equal(properties.supportsHttpsTrafficOnly, true, `${where} must set supportsHttpsTrafficOnly: true`);
        assert.equal(properties.minimumTlsVersion, "TLS1_2", `${where} must set minimumTlsVersion: 'TLS1_2'`);
        assert.equal(properties.allowBlobPublicAccess, false, `${where} must set allowBlobPublicAccess: false`);
      }
      for (const container of d.ofType("Microsoft.Storage/storageAccounts/blobServices/containers"))
        assert.equal(
          field(container.body, "properties", "publicAccess"),
          "None",
          `container ${container.name} must be private`,
        );
    }
  });
});

// ---- the archive account -------------------------------------------------------------------------------------------------

/** The archive account's lifecycle rules, by the parameters that shape them: a new rule is one more entry here. */
const LIFECYCLE_RULES: {
  name: string;
  when: (p: Record<string, Json>) => boolean;
  prefix: (p: Record<string, Json>) => string;
  deleteAfterDays: (p: Record<string, Json>) => number;
  /** Counted from the blob's creation (default) or its last modification. */
  after?: "modification";
}[] = [
  // Run summaries and worker results (online tiers, never Archive): the prefix the app writes them under.
  {
    name: "expireRunRecords",
    when: (p) => (p.runRecordRetentionDays as number) > 0,
    prefix: (p) => `${String(p.archiveContainerName)}/runs/`,
    deleteAfterDays: (p) => p.runRecordRetentionDays as number,
  },
  // Everything, only when asked, and never before the 180 days the Archive tier bills anyway.
  {
    name: "expireArchives",
    when: (p) => p.deleteArchives === true,
    prefix: (p) => `${String(p.archiveContainerName)}/`,
    deleteAfterDays: (p) => Math.max(p.archiveRetentionDays as number, 180),
  },
  // Staging copies (a restore's Hot copy of an archive): a backstop for the app's nightly sweep, always on, counted
  // from the last write (a restore marks a copy it uses by rewriting its metadata).
  {
    name: "expireStagingCopies",
    when: () => true,
    prefix: (p) => `${String(p.archiveContainerName)}/staging/`,
    deleteAfterDays: () => 14,
    after: "modification",
  },
];

describe("the archive account can hold Archive blobs, as the README describes", () => {
  const ARCHIVE_CAPABLE = ["Standard_LRS", "Standard_GRS", "Standard_RAGRS"];

  test("its redundancy is a parameter restricted to LRS, GRS or RA-GRS (never ZRS, GZRS or RA-GZRS), and says why (guards issue 24.3)", () => {
    const sku = mainParameters.archiveStorageSku;
    assert.deepEqual(
      [...(sku?.allowedValues ?? [])].sort(),
      [...ARCHIVE_CAPABLE].sort(),
      "archiveStorageSku must allow exactly the SKUs whose accounts hold Archive-tier blobs",
    );
    assert.match(
      sku?.metadata?.description ?? "",
      /ZRS/,
      "archiveStorageSku's description must say why ZRS is not allowed",
    );
    for (const value of ARCHIVE_CAPABLE) {
      const account = deployMain({ archiveStorageSku: value }).archiveAccount;
      assert.deepEqual(field(account.body, "sku"), { name: value });
      assert.equal(field(account.body, "kind"), "StorageV2", "the Archive tier needs a general-purpose v2 account");
      assert.match(String(field(account.body, "properties", "accessTier")), /^(Hot|Cool)$/);
    }
    for (const value of ["Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS", "Premium_LRS"])
      assert.throws(
        () => deployMain({ archiveStorageSku: value }),
        /is not one of/,
        `archiveStorageSku=${value} must be refused`,
      );
    const moduleSku = (
      template.resources as Record<
        string,
        { properties: { template: { parameters: Record<string, { allowedValues?: Json[] }> } } }
      >
    ).archiveStorage?.properties.template.parameters.skuName;
    assert.deepEqual(
      [...(moduleSku?.allowedValues ?? [])].sort(),
      [...ARCHIVE_CAPABLE].sort(),
      "the archive-storage module must refuse other SKUs too",
    );
    for (const overrides of VARIANTS)
      for (const account of deployMain(overrides).ofType("Microsoft.Storage/storageAccounts"))
        assert.doesNotMatch(
          JSON.stringify(field(account.body, "sku")),
          /ZRS/,
          `${account.name} must not be zone-redundant`,
        );
  });

  test("one private container, named by archiveContainerName; soft delete for blobs and containers (guards issue 24.3)", () => {
    for (const [overrides, container, days] of [
      [{}, "images", 14],
      [{ archiveContainerName: "archive-two", softDeleteRetentionDays: 365 }, "archive-two", 365],
      [{ softDeleteRetentionDays: 1 }, "images", 1],
    ] as const) {
      const d = deployMain(overrides);
      const containers = d.childrenOf(d.archiveAccount, "Microsoft.Storage/storageAccounts/blobServices/containers");
      assert.deepEqual(
        containers.map((c) => c.name),
        [`${d.archiveAccount.name}/default/${container}`],
      );
      assert.equal(d.appSettings.ARCHIVE_CONTAINER, container);
      const blobService = d.childrenOf(d.archiveAccount, "Microsoft.Storage/storageAccounts/blobServices");
      assert.equal(blobService.length, 1);
      const properties = field(blobService[0]?.body, "properties") as Record<string, Json>;
      assert.deepEqual(properties.deleteRetentionPolicy, { enabled: true, days }, "deleted blobs stay recoverable");
      assert.deepEqual(
        properties.containerDeleteRetentionPolicy,
        { enabled: true, days },
        "a deleted container stays recoverable",
      );
    }
  });

  test("lifecycle rules are exactly LIFECYCLE_RULES for each setting of their parameters; nothing is re-tiered", () => {
    assert.equal(mainParameters.deleteArchives?.defaultValue, false, "deleteArchives must default to false");
    assert.ok(
      (mainParameters.archiveRetentionDays?.minValue ?? 0) >= 180,
      "archiveRetentionDays must have @minValue(180) or more: the Archive tier bills 180 days",
    );
    const moduleRetention = (
      template.resources as Record<
        string,
        { properties: { template: { parameters: Record<string, { minValue?: number }> } } }
      >
    ).archiveStorage?.properties.template.parameters.archiveRetentionDays;
    assert.ok(
      (moduleRetention?.minValue ?? 0) >= 180,
      "the archive-storage module's archiveRetentionDays must have @minValue(180) too",
    );
    const cases: Record<string, Json>[] = [
      {},
      { deleteArchives: true },
      { deleteArchives: true, archiveRetentionDays: 180, runRecordRetentionDays: 0 },
      { runRecordRetentionDays: 0 },
      {
        deleteArchives: true,
        archiveRetentionDays: 36500,
        runRecordRetentionDays: 36500,
        archiveContainerName: "other",
      },
    ];
    for (const overrides of cases) {
      const d = deployMain(overrides);
      const p = d.deployment.parameters;
      const expected = LIFECYCLE_RULES.filter((rule) => rule.when(p)).map((rule) => ({
        enabled: true,
        name: rule.name,
        type: "Lifecycle",
        definition: {
          filters: { blobTypes: ["blockBlob"], prefixMatch: [rule.prefix(p)] },
          actions: {
            baseBlob: {
              delete: {
                [rule.after === "modification" ? "daysAfterModificationGreaterThan" : "daysAfterCreationGreaterThan"]:
                  rule.deleteAfterDays(p),
              },
            },
          },
        },
      }));
      const policies = d.childrenOf(d.archiveAccount, "Microsoft.Storage/storageAccounts/managementPolicies");
      const actual = policies.flatMap((policy) => field(policy.body, "properties", "policy", "rules") as Json[]);
      assert.deepEqual(actual, expected, `lifecycle rules for ${JSON.stringify(overrides)}`);
      assert.ok(
        policies.length <= 1 && (policies.length === 1) === expected.length > 0,
        "one management policy when there is a rule, none otherwise",
      );
      assert.doesNotMatch(
        JSON.stringify(actual),
        /tierTo|enableAutoTierToHotFromCool/,
        "lifecycle rules must not re-tier blobs (sidecars must stay readable)",
      );
    }
  });

  test("run records expire under the prefix the app writes them to", () => {
    const runs = [
      summaryBlobName("run"),
      resultBlobName("run", { registry: "r.example", repository: "a", digest: `sha256:${"0".repeat(64)}` }),
    ];
    const prefixes = new Set(runs.map((name) => name.slice(0, name.indexOf("/") + 1)));
    assert.deepEqual(
      [...prefixes],
      ["runs/"],
      "src/storage/blobNames.ts no longer writes run records under runs/: update LIFECYCLE_RULES and the rule",
    );
    const rule = LIFECYCLE_RULES.find((r) => r.name === "expireRunRecords");
    assert.equal(rule?.prefix({ archiveContainerName: "images" }), "images/runs/");
  });

  test("staging copies expire under the prefix the app writes them to, after the longest a restore holds one (guards issue 21.7)", () => {
    const archive = archiveBlobName({ registry: "r.example", repository: "a", digest: `sha256:${"0".repeat(64)}` });
    assert.ok(stagingBlobName(archive).startsWith("staging/"), "src/storage/blobNames.ts moved staging copies");
    const rule = LIFECYCLE_RULES.find((r) => r.name === "expireStagingCopies");
    assert.equal(rule?.prefix({ archiveContainerName: "images" }), "images/staging/");
    // A restore holds a copy unwritten for at most its job phase: MAX_ATTEMPTS (≤ 10) × JOB_TIMEOUT_MINUTES (≤ 24 h).
    assert.ok((rule?.deleteAfterDays({}) ?? 0) > 10, "the backstop must outlast a restore's longest job phase");
  });
});

// ---- identities and roles -------------------------------------------------------------------------------------------------

const BUILT_IN_ROLES: Record<string, string> = {
  "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
  "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
  "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
  "b93aa761-3e63-49ed-ac28-beffa264f7ac": "Container Registry Repository Reader",
  "bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7": "Container Registry Repository Catalog Lister",
  "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
  "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
  "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
  "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
  "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
};

/** Roles no identity here may hold: they can write, delete, grant access or read keys. */
const FORBIDDEN_ROLES: Record<string, string> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
  "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
  "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
  "81a9662b-bebf-436f-a333-f67b29880f12": "Storage Account Key Operator Service Role",
  "c2f4ef07-c644-48eb-af81-4b1b4947fb11": "AcrDelete",
};

const JOB_OPERATOR_ACTIONS = [
  "Microsoft.App/jobs/read",
  "Microsoft.App/jobs/start/action",
  "Microsoft.App/jobs/execution/read",
  "Microsoft.App/jobs/executions/read",
  "Microsoft.App/jobs/stop/execution/action",
  "Microsoft.App/jobs/stop/action",
];

/** What a deployment is configured for, as far as roles depend on it. */
interface RoleCase {
  abac: boolean;
  durableTaskScheduler: boolean;
  restoreTargets: string[];
  purgeEnabled: boolean;
}

/**
 * Every role assignment the code needs, per identity, at the scope it needs it, and when.
 */
const EXPECTED_ROLES: { identity: Identity; role: string; scope: string; when?: (c: RoleCase) => boolean }[] = [
  // Function App: start, read and stop executions of the one worker job.
  { identity: "function", role: "custom: job operator", scope: "the worker job" },
  // Function App: read sidecars and worker results, write run summaries, in the archive container only.
  { identity: "function", role: "Storage Blob Data Contributor", scope: "the archive container" },
  // Function App: find archives by their index tags, read them, and write them for older archives (issue 25.1).
  { identity: "function", role: "custom: blob index tags", scope: "the archive container" },
  // Function App: the Functions host and the Durable Functions Azure Storage backend, in its own account.
  { identity: "function", role: "Storage Blob Data Owner", scope: "the host storage account" },
  { identity: "function", role: "Storage Queue Data Contributor", scope: "the host storage account" },
  { identity: "function", role: "Storage Table Data Contributor", scope: "the host storage account" },
  { identity: "function", role: "Monitoring Metrics Publisher", scope: "Application Insights" },
  {
    identity: "function",
    role: "Durable Task Data Contributor",
    scope: "the task hub",
    when: (c) => c.durableTaskScheduler,
  },
  // Function App: resolve a registry name to its login server (Resource Manager), list repositories and tags.
  { identity: "function", role: "Reader", scope: "the source registry" },
  { identity: "function", role: "AcrPull", scope: "the source registry", when: (c) => !c.abac },
  {
    identity: "function",
    role: "Container Registry Repository Reader",
    scope: "the source registry",
    when: (c) => c.abac,
  },
  {
    identity: "function",
    role: "Container Registry Repository Catalog Lister",
    scope: "the source registry",
    when: (c) => c.abac,
  },
  // Worker job: write the archive, sidecar, tag markers and result (and create the container if it is missing).
  { identity: "job", role: "Storage Blob Data Contributor", scope: "the archive account" },
  // Worker job: set each archive's index tags in its commit (issue 25.1).
  { identity: "job", role: "custom: blob index tags", scope: "the archive account" },
  // Worker job: pull the images it archives, and its own image.
  { identity: "job", role: "AcrPull", scope: "the source registry", when: (c) => !c.abac },
  { identity: "job", role: "Container Registry Repository Reader", scope: "the source registry", when: (c) => c.abac },
  // Function App, purgeEnabled only: brown out (changeable attributes) and delete manifests and tags (issue 23).
  { identity: "function", role: "custom: purger", scope: "the source registry", when: (c) => c.purgeEnabled },
];

/** Each restore target: the job pushes, the app reads a digest back. */
function restoreTargetRoles(c: RoleCase): string[] {
  return c.restoreTargets.flatMap((target) => [
    `job | AcrPush | restore target ${target}`,
    `function | AcrPull | restore target ${target}`,
  ]);
}

/** Which of the templates' custom roles a role name is. */
function customRoleKind(roleName: string): string {
  if (roleName.startsWith("ACR Cold Archive job operator")) return "job operator";
  if (roleName.startsWith("ACR Cold Archive blob index tags")) return "blob index tags";
  if (roleName.startsWith("ACR Cold Archive purger")) return "purger";
  return "?";
}

/** `<identity> | <role> | <what the scope is>` for every role assignment the deployment makes. */
function roleAssignments(d: Deployed): string[] {
  const principals = new Map<string, Identity>([
    [d.identityProperty("function", "principalId"), "function"],
    [d.identityProperty("job", "principalId"), "job"],
  ]);
  const registrySubscription = String(param(d, "sourceRegistrySubscriptionId")) || SUBSCRIPTION;
  const registryGroup = (group: string) =>
    `/subscriptions/${registrySubscription}/resourceGroups/${group}/providers/Microsoft.ContainerRegistry/registries/`;
  const targetGroup = String(param(d, "restoreTargetRegistriesResourceGroupName")) || REGISTRY.resourceGroup;
  const scopes = new Map<string, string>([
    [d.job.id, "the worker job"],
    [d.archiveAccount.id, "the archive account"],
    [d.hostStorage.id, "the host storage account"],
    [d.one("Microsoft.Insights/components").id, "Application Insights"],
    [`${registryGroup(REGISTRY.resourceGroup)}${REGISTRY.name}`, "the source registry"],
    ...d
      .childrenOf(d.archiveAccount, "Microsoft.Storage/storageAccounts/blobServices/containers")
      .map((c) => [c.id, "the archive container"] as [string, string]),
    ...d.ofType("Microsoft.DurableTask/schedulers/taskHubs").map((h) => [h.id, "the task hub"] as [string, string]),
    ...(param(d, "restoreTargetRegistryNames") as string[]).map(
      (t) => [`${registryGroup(targetGroup)}${t}`, `restore target ${t}`] as [string, string],
    ),
  ]);
  const customRoles = new Map(d.ofType("Microsoft.Authorization/roleDefinitions").map((r) => [r.name, r]));
  return d.ofType("Microsoft.Authorization/roleAssignments").map((assignment) => {
    const properties = field(assignment.body, "properties") as Record<string, string>;
    const scopeId = assignment.id.slice(
      0,
      assignment.id.toLowerCase().lastIndexOf("/providers/microsoft.authorization/roleassignments/"),
    );
    const where = `role assignment ${assignment.id}`;
    assert.equal(properties.principalType, "ServicePrincipal", `${where}: principalType must be ServicePrincipal`);
    const identity = principals.get(properties.principalId ?? "");
    assert.ok(identity, `${where}: its principal is neither the app's identity nor the job's`);
    const definition =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/roleDefinitions\/([0-9a-f-]{36})$/.exec(
        properties.roleDefinitionId ?? "",
      );
    assert.ok(
      definition,
      `${where}: roleDefinitionId must be a subscription's role definition: ${properties.roleDefinitionId}`,
    );
    assert.equal(
      definition[1],
      /^\/subscriptions\/([^/]+)/.exec(scopeId)?.[1],
      `${where}: the role definition must be in the subscription of its scope`,
    );
    const guid = definition[2] ?? "";
    const custom = customRoles.get(guid);
    const role = custom
      ? `custom: ${customRoleKind(String(field(custom.body, "properties", "roleName")))}`
      : BUILT_IN_ROLES[guid];
    assert.ok(role, `${where}: role ${guid} is not one the app needs`);
    const scope = [...scopes].find(([id]) => id.toLowerCase() === scopeId.toLowerCase())?.[1];
    assert.ok(scope, `${where}: scope ${scopeId} is none of the resources the app needs`);
    return `${identity} | ${role} | ${scope}`;
  });
}

describe("identities get what the code needs, at the narrowest scope, and nothing more", () => {
  test("the custom role can start, read and stop executions of one job, nothing else", () => {
    const d = deployMain();
    const role = d.one("Microsoft.Authorization/roleDefinitions", (r) =>
      String(field(r.body, "properties", "roleName")).startsWith("ACR Cold Archive job operator"),
    );
    const properties = field(role.body, "properties") as Record<string, Json>;
    const rgId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-archive-prod`;
    assert.deepEqual(
      properties.assignableScopes,
      [rgId],
      "the custom role must be assignable in this resource group only",
    );
    assert.equal(properties.type, "CustomRole");
    assert.deepEqual(
      properties.permissions,
      [{ actions: JOB_OPERATOR_ACTIONS, notActions: [], dataActions: [], notDataActions: [] }],
      "the job operator role's permissions changed",
    );
    assert.doesNotMatch(
      JSON.stringify(properties),
      /jobs\/write|jobs\/delete|listsecrets\/action|\*/i,
      "the job operator role must not write, delete, list secrets or use wildcards",
    );
    assert.equal(
      d.deployment.outputs.JOB_OPERATOR_ROLE_ID,
      `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${role.name}`,
    );
  });

  test("the blob index tags role reads, writes and finds by index tags, nothing else: no blob data (guards issue 25.1)", () => {
    const d = deployMain();
    const role = d.one("Microsoft.Authorization/roleDefinitions", (r) =>
      String(field(r.body, "properties", "roleName")).startsWith("ACR Cold Archive blob index tags"),
    );
    const properties = field(role.body, "properties") as Record<string, Json>;
    assert.deepEqual(properties.assignableScopes, [`/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-archive-prod`]);
    assert.deepEqual(properties.permissions, [
      {
        actions: [],
        notActions: [],
        dataActions: [
          "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read",
          "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write",
          "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action",
        ],
        notDataActions: [],
      },
    ]);
  });

  test("the purger role (purgeEnabled only) deletes and sets attributes on registries, nothing else, assignable in the registry's resource group only (guards issue 23.4)", () => {
    const purgerRoles = (d: Deployed) =>
      d
        .ofType("Microsoft.Authorization/roleDefinitions")
        .filter((r) => customRoleKind(String(field(r.body, "properties", "roleName"))) === "purger");
    assert.deepEqual(purgerRoles(deployMain()), [], "no purger role unless purgeEnabled");
    const d = deployMain({ purgeEnabled: true, sourceRegistrySubscriptionId: REGISTRY_SUBSCRIPTION });
    const [role, ...more] = purgerRoles(d);
    assert.ok(role && more.length === 0, "one purger role with purgeEnabled");
    const properties = field(role.body, "properties") as Record<string, Json>;
    assert.equal(properties.type, "CustomRole");
    assert.deepEqual(properties.assignableScopes, [
      `/subscriptions/${REGISTRY_SUBSCRIPTION}/resourceGroups/${REGISTRY.resourceGroup}`,
    ]);
    assert.deepEqual(properties.permissions, [
      {
        actions: ["Microsoft.ContainerRegistry/registries/artifacts/delete"],
        notActions: [],
        dataActions: [
          "Microsoft.ContainerRegistry/registries/repositories/content/delete",
          "Microsoft.ContainerRegistry/registries/repositories/metadata/write",
        ],
        notDataActions: [],
      },
    ]);
    assert.doesNotMatch(
      JSON.stringify(properties.permissions),
      /push|content\/write|\*|registries\/write"/i,
      "the purger role must not push, write content or configuration, or use wildcards",
    );
    assert.equal(d.appSettings.PURGE_ENABLED, "true");
    assert.equal(deployMain().appSettings.PURGE_ENABLED, "false");
  });

  test("role assignments, per identity and scope, are exactly EXPECTED_ROLES in every variant (guards issue 24.3)", () => {
    for (const overrides of VARIANTS) {
      const d = deployMain(overrides);
      const c: RoleCase = {
        abac: param(d, "sourceRegistryPermissionsMode") === "AbacRepositoryPermissions",
        durableTaskScheduler: param(d, "durableBackend") === "durableTaskScheduler",
        restoreTargets: param(d, "restoreTargetRegistryNames") as string[],
        purgeEnabled: param(d, "purgeEnabled") === true,
      };
      const expected = [
        ...EXPECTED_ROLES.filter((r) => r.when?.(c) ?? true).map((r) => `${r.identity} | ${r.role} | ${r.scope}`),
        ...restoreTargetRoles(c),
      ].sort();
      assert.deepEqual(
        roleAssignments(d).sort(),
        expected,
        `role assignments for ${JSON.stringify(overrides)} differ from what the app needs (+ is what the templates assign, - what the app needs)`,
      );
    }
  });

  test("registry roles are assigned where the registry lives: its resource group, in its subscription", () => {
    const d = deployMain({
      sourceRegistrySubscriptionId: REGISTRY_SUBSCRIPTION,
      registryUsername: "token-user",
      registryPassword: "token-password",
      enableNightlyRun: false,
      deleteArchives: true,
    });
    const registryAssignments = d
      .ofType("Microsoft.Authorization/roleAssignments")
      .filter((a) => a.id.includes("/Microsoft.ContainerRegistry/registries/"));
    assert.ok(registryAssignments.length >= 3);
    for (const a of registryAssignments)
      assert.ok(
        a.id.startsWith(
          `/subscriptions/${REGISTRY_SUBSCRIPTION}/resourceGroups/${REGISTRY.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${REGISTRY.name}/`,
        ),
        a.id,
      );
  });

  test("no identity gets a role that can write configuration, grant access or read keys; AcrPush only on restore targets", () => {
    for (const file of deploymentFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8").toLowerCase();
      for (const [guid, name] of Object.entries(FORBIDDEN_ROLES))
        assert.ok(!text.includes(guid), `${file}: ${name} (${guid}) must not be assigned`);
      if (file !== join("infra", "app", "restore-target-access.bicep"))
        assert.ok(
          !text.includes("8311e382-0749-4cb8-b61a-304f252e45ec"),
          `${file}: AcrPush belongs to restore targets only (infra/app/restore-target-access.bicep)`,
        );
    }
  });
});

describe("restore targets: none by default, and then restores are refused", () => {
  test("no target by default; each named target gets AcrPush for the job, and both identities its login server", () => {
    assert.deepEqual(
      mainParameters.restoreTargetRegistryNames?.defaultValue,
      [],
      "restoreTargetRegistryNames must default to none",
    );
    const none = deployMain();
    assert.equal(none.appSettings.RESTORE_TARGET_REGISTRIES, "");
    assert.equal(none.workerEnvValues.RESTORE_TARGET_REGISTRIES, "");
    const two = deployMain({
      durableBackend: "durableTaskScheduler",
      sourceRegistryPermissionsMode: "AbacRepositoryPermissions",
      restoreTargetRegistryNames: ["TgtOne", "tgttwo"],
    });
    assert.equal(two.appSettings.RESTORE_TARGET_REGISTRIES, "tgtone.azurecr.io,tgttwo.azurecr.io");
    assert.equal(two.workerEnvValues.RESTORE_TARGET_REGISTRIES, "tgtone.azurecr.io,tgttwo.azurecr.io");
    assert.deepEqual(readApp(two).RESTORE_TARGET_REGISTRIES, ["tgtone.azurecr.io", "tgttwo.azurecr.io"]);
    const appDefaults = readAppSettings({
      STORAGE_ACCOUNT_URL: "https://a.blob.core.windows.net",
      JOB_RUNNER: "local",
    });
    assert.deepEqual(
      appDefaults.RESTORE_TARGET_REGISTRIES,
      [],
      "src/config.ts: RESTORE_TARGET_REGISTRIES defaults to none",
    );
  });
});

// ---- the Durable Functions backend -----------------------------------------------------------------------------------------

describe("the Durable Functions backend: Azure Storage by default, the Durable Task Scheduler as a deployment option", () => {
  const hostJson = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
    extensions: { durableTask: { hubName: string; storageProvider?: unknown } };
  };
  const OVERRIDES = [
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
  ];

  test("durableBackend is a parameter, azureStorage by default; host.json keeps the Azure Storage provider for both", () => {
    const backend = mainParameters.durableBackend;
    assert.equal(backend?.defaultValue, "azureStorage");
    assert.deepEqual(backend?.allowedValues, ["azureStorage", "durableTaskScheduler"]);
    assert.equal(
      hostJson.extensions.durableTask.storageProvider,
      undefined,
      "host.json names no storageProvider: Azure Storage",
    );
    assert.equal(hostJson.extensions.durableTask.hubName, "%TASKHUB_NAME%");
  });

  test("Azure Storage: no scheduler, no override of host.json (guards issue 24.3)", () => {
    const d = deployMain({ durableBackend: "azureStorage" });
    assert.deepEqual(
      d.resources.filter((r) => r.type.startsWith("Microsoft.DurableTask/")),
      [],
    );
    assert.deepEqual(
      OVERRIDES.filter((k) => k in d.appSettings),
      [],
    );
  });

  test("Durable Task Scheduler: a scheduler and the task hub TASKHUB_NAME, selected by app settings with an identity connection and no key (guards issue 24.3)", () => {
    for (const sku of declaredValues("durableTaskSchedulerSku")) {
      const d = deployMain({
        durableBackend: "durableTaskScheduler",
        durableTaskSchedulerSku: sku,
        taskHubName: "hubtwo",
      });
      const scheduler = d.one("Microsoft.DurableTask/schedulers");
      assert.deepEqual(field(scheduler.body, "properties", "sku"), { name: sku });
      const hub = d.one("Microsoft.DurableTask/schedulers/taskHubs");
      assert.equal(hub.name, `${scheduler.name}/hubtwo`, "the task hub is named TASKHUB_NAME");
      const settings = d.appSettings;
      assert.equal(settings.TASKHUB_NAME, "hubtwo");
      // AzureFunctionsJobHost__<path> replaces host.json's <path>: the path must be the one host.json has.
      assert.ok("durableTask" in (hostJson.extensions as object));
      assert.equal(settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__type, "azureManaged");
      assert.equal(
        settings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName,
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
      );
      assert.equal(
        settings.DURABLE_TASK_SCHEDULER_CONNECTION_STRING,
        `Endpoint=${String(azureAnswer(scheduler, ["properties", "endpoint"]))};Authentication=ManagedIdentity;ClientID=${d.identityProperty("function", "clientId")}`,
      );
      assert.doesNotMatch(JSON.stringify(settings), /AccountKey|SharedAccess|secret/i);
      readApp(d);
      // Everything else is as with Azure Storage.
      const plain = deployMain({ taskHubName: "hubtwo" }).appSettings;
      assert.deepEqual(
        Object.keys(settings)
          .filter((k) => !(k in plain))
          .sort(),
        [...OVERRIDES].sort(),
      );
    }
  });
});

// ---- azd: azure.yaml, the parameters file, the README's Deploy section ---------------------------------------------------

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const deploySection = (() => {
  const start = readme.indexOf("\n## Deploy to Azure");
  assert.ok(start >= 0, "README.md has no '## Deploy to Azure' section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
})();
const parametersFile = JSON.parse(readFileSync(join(ROOT, "infra/main.parameters.json"), "utf8")) as {
  parameters: Record<string, { value: Json }>;
};

/** `${VAR}` or `${VAR=default}` in the parameters file: the azd variable behind a parameter. */
function azdVariable(name: string): { variable: string; fallback?: string } | undefined {
  const value = parametersFile.parameters[name]?.value;
  const m = typeof value === "string" ? /^\$\{([A-Z_][A-Z0-9_]*)(?:=([^}]*))?\}$/.exec(value) : null;
  if (!m) return undefined;
  return m[2] === undefined ? { variable: m[1] as string } : { variable: m[1] as string, fallback: m[2] };
}

/**
 * The parameters azd passes for an environment: each `${VAR=default}` substituted, then converted as azd's
 * armParameterFileValue does (bool and int strings parsed; an empty string dropped when it equals the default, so the
 * template's default applies).
 */
function azdParameters(env: Record<string, string>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of Object.keys(parametersFile.parameters)) {
    const azd = azdVariable(name);
    assert.ok(azd, `infra/main.parameters.json: ${name} must be \${VAR} or \${VAR=default}`);
    const text = env[azd.variable] ?? azd.fallback ?? "";
    const definition = mainParameters[name];
    assert.ok(definition, `infra/main.parameters.json maps ${name}, which main.bicep does not declare`);
    if (definition.type === "bool" && /^(true|false)$/i.test(text)) out[name] = text.toLowerCase() === "true";
    else if (definition.type === "int" && /^-?\d+$/.test(text)) out[name] = Number(text);
    else if (text !== "" || (definition.defaultValue !== undefined && definition.defaultValue !== "")) out[name] = text;
    else if (definition.defaultValue === undefined)
      assert.fail(`azd would prompt for ${name}: ${azd.variable} is not set`);
  }
  return out;
}

/** The README's Parameters table: each row's parameters, azd variables and defaults, as written. */
function readmeParameterRows(): { parameters: string[]; variables: string[]; defaults: string[] }[] {
  const start = deploySection.indexOf("| `main.bicep` parameter |");
  assert.ok(start >= 0, "the Deploy section has no Parameters table");
  const rows = deploySection.slice(start).split("\n").slice(2);
  const table = rows.slice(
    0,
    rows.findIndex((r) => !r.startsWith("|")),
  );
  const cells = (row: string) => row.split(" | ").map((c) => c.replace(/^\| ?| ?\|$/g, ""));
  const ticks = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1] as string);
  return table.map((row) => {
    const [params = "", variables = "", defaults = ""] = cells(row);
    return {
      parameters: ticks(params),
      variables: variables.split(",").map((v) => v.trim().replace(/`/g, "")),
      defaults: defaults.split(/,\s+/).map((d) => d.trim()),
    };
  });
}

describe("azd: azure.yaml, infra/main.parameters.json and the README's Deploy section fit the compiled template", () => {
  const azureYaml = readFileSync(join(ROOT, "azure.yaml"), "utf8");
  const yamlValue = (path: RegExp) => path.exec(azureYaml)?.[1];

  test("azure.yaml points at what exists: the Bicep in infra/, the Function App service 'api' the site is tagged with (guards issue 24.4)", () => {
    assert.equal(yamlValue(/^infra:\n(?: {2}.*\n)*? {2}provider: (\S+)$/m), "bicep");
    const infraPath = yamlValue(/^infra:\n(?: {2}.*\n)*? {2}path: (\S+)$/m) ?? "";
    const infraModule = yamlValue(/^infra:\n(?: {2}.*\n)*? {2}module: (\S+)$/m) ?? "";
    assert.ok(
      existsSync(join(ROOT, infraPath, `${infraModule}.bicep`)),
      `azure.yaml: infra ${infraPath}/${infraModule}.bicep does not exist`,
    );
    assert.ok(
      existsSync(join(ROOT, infraPath, `${infraModule}.parameters.json`)),
      "azure.yaml: the parameters file azd reads does not exist",
    );
    const service = /^services:\n {2}(\w+):\n((?: {4}.*\n)+)/m.exec(azureYaml);
    assert.ok(service, "azure.yaml declares no service");
    const [, name, body = ""] = service;
    const prop = (key: string) => new RegExp(`^ {4}${key}: (\\S+)$`, "m").exec(body)?.[1];
    assert.equal(prop("host"), "function");
    assert.equal(prop("language"), "ts");
    const project = prop("project") ?? "";
    for (const file of ["package.json", "host.json", "tsconfig.json"])
      assert.ok(existsSync(join(ROOT, project, file)), `azure.yaml: service ${name}'s project has no ${file}`);
    assert.equal(
      field(deployMain().site.body, "tags", "azd-service-name"),
      name,
      "azd finds the Function App by its azd-service-name tag",
    );
    assert.equal(field(deployMain().site.body, "tags", "azd-env-name"), "archive-prod");
  });

  test("the parameters file maps every required parameter and only declared ones, with defaults the template agrees with (guards issue 24.4)", () => {
    const required = Object.entries(mainParameters)
      .filter(([, d]) => d.defaultValue === undefined && !d.nullable)
      .map(([n]) => n);
    const unmapped = required.filter((n) => !(n in parametersFile.parameters));
    assert.deepEqual(
      unmapped,
      [],
      `infra/main.parameters.json does not map required parameters ${unmapped.join(", ")}`,
    );
    for (const name of Object.keys(parametersFile.parameters)) {
      const definition = mainParameters[name];
      assert.ok(definition, `infra/main.parameters.json maps ${name}, which main.bicep does not declare`);
      const fallback = azdVariable(name)?.fallback;
      if (fallback === undefined) continue;
      const value =
        definition.type === "bool" ? fallback === "true" : definition.type === "int" ? Number(fallback) : fallback;
      assert.deepEqual(parameterProblems(name, definition, value), []);
      assert.deepEqual(
        value,
        definition.defaultValue,
        `infra/main.parameters.json defaults ${name} to ${fallback}, main.bicep to ${JSON.stringify(definition.defaultValue)}: make them one`,
      );
    }
  });

  test("the README's Deploy commands, typed as written, give azd every parameter it needs, and the result deploys (guards issue 24.4)", () => {
    const block = /### `azd up`\n[\s\S]*?```bash\n([\s\S]*?)```/.exec(deploySection)?.[1];
    assert.ok(block, "the Deploy section has no ```bash block under ### `azd up`");
    const commands = block
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter(Boolean);
    const env: Record<string, string> = {};
    for (const command of commands) {
      const created = /^azd env new (\S+)(.*)$/.exec(command);
      if (created) {
        env.AZURE_ENV_NAME = created[1] as string;
        const location = /--location (\S+)/.exec(created[2] ?? "")?.[1];
        const subscription = /--subscription (\S+)/.exec(created[2] ?? "")?.[1];
        if (location) env.AZURE_LOCATION = location;
        if (subscription) env.AZURE_SUBSCRIPTION_ID = subscription;
      }
      const set = /^azd env set (\S+) (\S+)$/.exec(command);
      if (set) env[set[1] as string] = set[2] as string;
    }
    assert.equal(commands.at(-1), "azd up", "the sequence ends with azd up");
    for (const needed of ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "SOURCE_REGISTRY_NAME"])
      assert.ok(env[needed], `the README's commands never set ${needed}: azd would prompt, or the hook fail`);
    // The preprovision hook then records the registry's group and the worker image it built.
    for (const recorded of ["SOURCE_REGISTRY_RESOURCE_GROUP", "WORKER_IMAGE"])
      assert.match(azureYaml, new RegExp(`azd env set ${recorded} `), `azure.yaml's hook must record ${recorded}`);
    env.SOURCE_REGISTRY_RESOURCE_GROUP = REGISTRY.resourceGroup;
    env.WORKER_IMAGE = `${env.SOURCE_REGISTRY_NAME}.azurecr.io/acr-cold-archive/worker:20260101000000`;
    const parameters = azdParameters(env);
    const deployed = new Deployed(
      parameters,
      deploy(template, parameters, {
        subscriptionId: env.AZURE_SUBSCRIPTION_ID ?? SUBSCRIPTION,
        tenantId: TENANT,
        location: env.AZURE_LOCATION ?? "",
        runtime: azureAnswer,
      }),
    );
    readApp(deployed);
    readWorker(deployed);
    assert.equal(deployed.workerContainer.image, env.WORKER_IMAGE);
  });

  test("the README's Parameters table lists every parameter once, with the azd variable and the default the template has (guards issue 24.4)", () => {
    const rows = readmeParameterRows();
    const inTable = rows.flatMap((r) => r.parameters);
    assert.deepEqual(
      inTable.filter((p) => !(p in mainParameters)),
      [],
      "the README lists parameters main.bicep does not declare",
    );
    const missing = Object.keys(mainParameters).filter((p) => !inTable.includes(p));
    assert.deepEqual(missing, [], `the README's Parameters table does not explain ${missing.join(", ")}`);
    assert.equal(new Set(inTable).size, inTable.length, "a parameter is listed twice");
    for (const row of rows) {
      row.parameters.forEach((name, i) => {
        const variable = row.variables[i] ?? row.variables[0] ?? "";
        const mapped = azdVariable(name)?.variable;
        assert.equal(
          variable === "—" ? undefined : variable,
          mapped,
          `README: ${name}'s azd variable is ${variable}, infra/main.parameters.json says ${mapped ?? "none"}`,
        );
        const written = row.defaults.length === row.parameters.length ? row.defaults[i] : row.defaults[0];
        const literal = /^`([^`]*)`$/.exec(written ?? "")?.[1];
        const declared = mainParameters[name]?.defaultValue;
        if (literal === undefined || (typeof declared === "string" && declared.startsWith("["))) return;
        assert.equal(
          literal,
          typeof declared === "string" ? declared : JSON.stringify(declared),
          `README: ${name} defaults to ${literal}, main.bicep to ${JSON.stringify(declared)}`,
        );
      });
    }
  });
});

// ---- the worker image --------------------------------------------------------------------------------------------------

describe("the worker image builds from a clean clone (guards issue 24.5)", () => {
  test("everything the Dockerfile copies from the context is in git and not excluded by .dockerignore", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? "").split(/\s+/));
    assert.ok(
      sources.includes("src") && sources.includes("package.json"),
      "the Dockerfile copies package.json and src/",
    );
    const rules = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const excluded = (path: string) => {
      // Docker: the last matching rule wins; a rule matches a path or any folder above it.
      let out = false;
      const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
      for (const rule of rules) {
        const negated = rule.startsWith("!");
        const matcher = picomatch(negated ? rule.slice(1) : rule, { dot: true });
        if (prefixes.some((p) => matcher(p))) out = !negated;
      }
      return out;
    };
    const tracked = new Set(execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n"));
    for (const source of sources) {
      const files = statSync(join(ROOT, source)).isDirectory()
        ? [...tracked].filter((f) => f.startsWith(`${source}/`))
        : [source];
      assert.ok(
        files.length > 0 && files.every((f) => tracked.has(f)),
        `the Dockerfile copies ${source}, which is not in git`,
      );
      const ignored = files.filter(excluded);
      assert.deepEqual(
        ignored,
        [],
        `.dockerignore excludes ${ignored.join(", ")}, which the Dockerfile copies: the build fails from a clean clone`,
      );
    }
    assert.match(dockerfile, /^RUN npm run build$/m, "the image is built with npm run build");
  });
});
