// Keeps the app and the infrastructure honest with each other. It reads src/config.ts's schemas at runtime and the
// Bicep as text (the Bicep CLI is not available everywhere the tests run; CI compiles the templates separately), and
// checks: every setting the app reads is set, with values the app accepts; every role the code needs is assigned, at
// the narrowest scope, and nothing more; no secret travels as a plain setting or env value; no key or connection string.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import type { z } from "zod";
import {
  appSettingsSchema,
  archiveTuningEnvSchema,
  readAppSettings,
  readWorkerConfig,
  registryEnvSchema,
  storageEnvSchema,
  workerScopeEnvSchema,
} from "../../src/config.js";
import { SECRET_ENV_NAMES } from "../../src/jobs/jobRunner.js";
import { resultBlobName, summaryBlobName } from "../../src/storage/blobNames.js";
import { arrayObjects, arrayStrings, BicepFile, literal, maskBicep, objectEntries, type Module, type Param, type Span } from "../support/bicep.js";
import { repoRoot } from "../support/repoRoot.js";

// ---- where things are ----------------------------------------------------------------------------------------------

const ROOT = repoRoot();
const FILES = {
  main: "infra/main.bicep",
  functionApp: "infra/app/function-app.bicep",
  workerJob: "infra/app/worker-job.bicep",
  archive: "infra/app/archive-storage.bicep",
  identities: "infra/app/identities.bicep",
  rbac: "infra/app/rbac.bicep",
  registry: "infra/app/registry-access.bicep",
  restoreTarget: "infra/app/restore-target-access.bicep",
  monitoring: "infra/core/monitoring.bicep",
  durableTaskScheduler: "infra/app/durable-task-scheduler.bicep",
} as const;

// ---- what the templates hold, read with test/support/bicep.ts ---------------------------------------------------------

const bicep = Object.fromEntries(Object.entries(FILES).map(([key, path]) => [key, new BicepFile(path)])) as Record<keyof typeof FILES, BicepFile>;
const main = bicep.main;
const mod = {
  functionApp: main.moduleFor(FILES.functionApp),
  workerJob: main.moduleFor(FILES.workerJob),
  archive: main.moduleFor(FILES.archive),
  identities: main.moduleFor(FILES.identities),
  rbac: main.moduleFor(FILES.rbac),
  registry: main.moduleFor(FILES.registry),
  restoreTarget: main.moduleFor(FILES.restoreTarget),
  monitoring: main.moduleFor(FILES.monitoring),
  durableTaskScheduler: main.moduleFor(FILES.durableTaskScheduler),
};

/** What main.bicep passes to a module parameter, as text. */
function moduleInput(module: Module, param: string): string {
  const value = module.params.get(param);
  assert.ok(value, `${FILES.main}: module ${module.symbol} ('${module.path}') does not pass ${param}`);
  return value.text;
}

/** The main.bicep parameter behind a module parameter, when main passes one straight through. */
function mainParamBehind(file: BicepFile, module: Module, expression: string): Param | undefined {
  const name = /^(?:string\((\w+)\)|(\w+))$/.exec(expression.trim());
  const moduleParam = name?.[1] ?? name?.[2];
  if (!moduleParam || !file.params.has(moduleParam)) return undefined;
  const passed = module.params.get(moduleParam)?.text.trim();
  return passed !== undefined && /^\w+$/.test(passed) ? main.params.get(passed) : undefined;
}

// Values for settings that come from other resources (ids, endpoints), to run the app's own validation on.
const SAMPLE_VALUES: Record<string, string> = {
  STORAGE_ACCOUNT_URL: "https://starcexample.blob.core.windows.net/",
  AZURE_CLIENT_ID: "00000000-0000-0000-0000-0000000000c1",
  ARCHIVE_CONTAINER: "images",
  JOB_RESOURCE_ID: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dev/providers/Microsoft.App/jobs/caj-example",
  JOB_CONTAINER_NAME: "worker",
  AZURE_SUBSCRIPTION_ID: "00000000-0000-0000-0000-000000000000",
  NIGHTLY_REGISTRIES: "myregistry.azurecr.io",
  ALLOWED_REGISTRIES: "myregistry.azurecr.io",
  ACR_LOGIN_SERVER: "myregistry.azurecr.io",
  // The login servers of restoreTargetRegistryNames (none by default): one, to check the setting's shape.
  RESTORE_TARGET_REGISTRIES: "restoretarget.azurecr.io",
  // `durableStatusUrls ? 'true' : 'false'`, from a bool parameter: the default (true).
  DURABLE_STATUS_URLS: "true",
  // `nightlyRefreshReferrers ? 'true' : 'false'`, from a bool parameter: the default (false).
  NIGHTLY_REFRESH_REFERRERS: "false",
};

/** The value a setting gets with the templates' defaults: a literal, a main.bicep default, or a sample for resource values. */
function evaluate(file: BicepFile, module: Module, key: string, expression: string): string {
  const direct = literal(expression);
  if (direct !== undefined) return String(direct);
  const param = mainParamBehind(file, module, expression);
  const fallback = literal(param?.defaultText);
  if (fallback !== undefined) return String(fallback);
  const sample = SAMPLE_VALUES[key];
  assert.ok(sample !== undefined, `${file.path}: cannot evaluate ${key} = ${expression} (not a literal nor a main.bicep parameter with a default): add a sample value to SAMPLE_VALUES in test/infra/infra.test.ts`);
  return sample;
}

/** Every value a main.bicep parameter may take that the test can enumerate: default, bounds, allowed values. */
function paramValues(param: Param): string[] {
  const values = new Set<string>();
  const fallback = literal(param.defaultText);
  if (fallback !== undefined) values.add(String(fallback));
  for (const bound of ["minValue", "maxValue"]) {
    const value = param.decorators.get(bound);
    if (value !== undefined) values.add(value);
  }
  const allowed = param.decorators.get("allowed");
  if (allowed !== undefined) for (const m of allowed.matchAll(/'([^']*)'|(-?\d+)/g)) values.add(m[1] ?? m[2] ?? "");
  return [...values];
}

function assertParamsFitSchema(file: BicepFile, module: Module, entries: Map<string, string>, shape: Record<string, z.ZodType>): void {
  let checked = 0;
  for (const [key, expression] of entries) {
    const field = shape[key];
    if (!field) continue;
    const param = mainParamBehind(file, module, expression);
    if (!param) continue;
    for (const value of paramValues(param)) {
      checked++;
      const parsed = field.safeParse(value);
      assert.ok(parsed.success, `${FILES.main}: param ${param.name} (→ ${key}) may be ${JSON.stringify(value)}, which src/config.ts rejects: ${parsed.success ? "" : parsed.error.issues.map((i) => i.message).join("; ")}`);
    }
  }
  // A parser that found nothing would make this check pass vacuously.
  assert.ok(checked > 0, `${FILES.main}: no parameter-backed value was found to check against the schema`);
}

// ---- the Function App's settings -------------------------------------------------------------------------------------

const appSettings = new Map([...objectEntries(bicep.functionApp.variable("appSettings"))].map(([k, v]) => [k, v.text]));

/** Settings the schema reads that the templates deliberately do not set, and why. */
const APP_SETTINGS_NOT_SET: Record<string, string> = {
  AZURE_STORAGE_CONNECTION_STRING: "a secret: the app reaches storage with its managed identity (STORAGE_ACCOUNT_URL)",
  STORAGE_ACCOUNT: "STORAGE_ACCOUNT_URL is set instead (it carries the cloud's endpoint suffix)",
  ACR_USERNAME: "registry credentials are never app settings: the app lists the registry with its identity (REGISTRY_AUTH=entra)",
  ACR_PASSWORD: "a secret: never an app setting",
  ARM_ENDPOINT: "its default, the public cloud's Resource Manager, is right for this deployment",
  ACR_LOGIN_SERVER: "binds a registry password to its host: the app has none (REGISTRY_AUTH=entra)",
};

/** Names that hold secrets and may never be a plain app setting or env value. */
const SECRET_NAMES = new Set([...SECRET_ENV_NAMES, "ACR_USERNAME", "ACR_PASSWORD"]);

describe("Function App settings (infra/app/function-app.bicep) against src/config.ts appSettingsSchema", () => {
  const schemaKeys = Object.keys(appSettingsSchema.shape);

  test("every setting the schema reads is set, unless deliberately left out", () => {
    const missing = schemaKeys.filter((k) => !(k in APP_SETTINGS_NOT_SET) && !appSettings.has(k));
    assert.deepEqual(missing, [], `${FILES.functionApp} does not set ${missing.join(", ")}, which appSettingsSchema reads: add it to var appSettings (or to APP_SETTINGS_NOT_SET in test/infra/infra.test.ts, with the reason)`);
    const stale = Object.keys(APP_SETTINGS_NOT_SET).filter((k) => !schemaKeys.includes(k));
    assert.deepEqual(stale, [], `APP_SETTINGS_NOT_SET names ${stale.join(", ")}, which appSettingsSchema no longer reads: remove them`);
    const setAnyway = Object.keys(APP_SETTINGS_NOT_SET).filter((k) => appSettings.has(k));
    assert.deepEqual(setAnyway, [], `${FILES.functionApp} sets ${setAnyway.join(", ")}, which must stay unset: ${setAnyway.map((k) => APP_SETTINGS_NOT_SET[k]).join("; ")}`);
  });

  test("the values the templates write, with their defaults, pass the app's own validation", () => {
    const env: Record<string, string> = {};
    for (const key of schemaKeys) {
      const expression = appSettings.get(key);
      if (expression !== undefined) env[key] = evaluate(bicep.functionApp, mod.functionApp, key, expression);
    }
    const settings = (() => {
      try {
        return readAppSettings(env);
      } catch (error) {
        return assert.fail(`${FILES.functionApp}: readAppSettings rejects the deployed settings: ${(error as Error).message}`);
      }
    })();
    assert.equal(settings.JOB_RUNNER, "container-apps", `${FILES.functionApp}: JOB_RUNNER must be container-apps in Azure`);
    assert.equal(settings.REGISTRY_AUTH, "entra", `${FILES.functionApp}: REGISTRY_AUTH must be entra (the app lists the registry with its identity)`);
  });

  test("every value a main.bicep parameter allows (default, bounds, allowed list) is one the schema accepts", () => {
    assertParamsFitSchema(bicep.functionApp, mod.functionApp, appSettings, appSettingsSchema.shape as Record<string, z.ZodType>);
  });

  test("settings are wired to the right resources", () => {
    const expectations: [string, string][] = [
      ["STORAGE_ACCOUNT_URL", "archiveBlobEndpoint"],
      ["ARCHIVE_CONTAINER", "archiveContainerName"],
      ["JOB_RESOURCE_ID", "jobResourceId"],
      ["JOB_CONTAINER_NAME", "jobContainerName"],
      ["AZURE_CLIENT_ID", "identityClientId"],
      ["AzureWebJobsStorage__clientId", "identityClientId"],
      ["TASKHUB_NAME", "taskHubName"],
      ["NIGHTLY_SCHEDULE", "nightlySchedule"],
      ["NIGHTLY_REGISTRIES", "nightlyRegistries"],
      ["ALLOWED_REGISTRIES", "allowedRegistries"],
    ];
    for (const [key, param] of expectations) assert.equal(appSettings.get(key), param, `${FILES.functionApp}: ${key} must be the module parameter ${param}`);
    const wiring: [Module, string, string][] = [
      [mod.functionApp, "archiveBlobEndpoint", `${mod.archive.symbol}.outputs.blobEndpoint`],
      [mod.functionApp, "archiveContainerName", `${mod.archive.symbol}.outputs.containerName`],
      [mod.functionApp, "jobResourceId", `${mod.workerJob.symbol}.outputs.id`],
      [mod.functionApp, "jobContainerName", `${mod.workerJob.symbol}.outputs.containerName`],
      [mod.functionApp, "identityClientId", `${mod.identities.symbol}.outputs.functionClientId`],
      [mod.functionApp, "identityId", `${mod.identities.symbol}.outputs.functionIdentityId`],
      [mod.functionApp, "taskHubName", "taskHubName"],
      [mod.functionApp, "nightlyRegistries", `enableNightlyRun ? ${mod.registry.symbol}.outputs.loginServer : ''`],
      [mod.functionApp, "allowedRegistries", `${mod.registry.symbol}.outputs.loginServer`],
    ];
    for (const [module, param, expected] of wiring) assert.equal(moduleInput(module, param), expected, `${FILES.main}: module ${module.symbol} must get ${param}: ${expected}`);
    assert.equal(bicep.workerJob.outputs.get("id"), "job.id", `${FILES.workerJob}: output id must be the job's id`);
    assert.equal(bicep.workerJob.resource("job").type, "Microsoft.App/jobs");
    assert.equal(bicep.workerJob.outputs.get("containerName"), "containerName", `${FILES.workerJob}: output containerName must be the template container's name`);
    assert.equal(bicep.archive.outputs.get("blobEndpoint"), "account.properties.primaryEndpoints.blob", `${FILES.archive}: output blobEndpoint must be the archive account's blob endpoint`);
    assert.equal(bicep.identities.outputs.get("functionClientId"), "functionIdentity.properties.clientId");
    assert.equal(bicep.identities.outputs.get("jobClientId"), "jobIdentity.properties.clientId");
  });

  test("the host reaches its storage and telemetry with its identity, on Flex Consumption with Node 20", () => {
    assert.equal(appSettings.get("AzureWebJobsStorage__credential"), "'managedidentity'");
    assert.equal(appSettings.get("AzureWebJobsStorage__accountName"), "hostStorage.name");
    assert.match(appSettings.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING") ?? "", /Authorization=AAD/, `${FILES.functionApp}: Application Insights must take Entra ID tokens`);
    for (const key of ["AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"]) {
      assert.ok(!appSettings.has(key), `${FILES.functionApp}: ${key} must not be set (identity-based storage; Flex Consumption takes the runtime from functionAppConfig)`);
    }
    const plan = objectEntries(bicep.functionApp.resource("plan").body);
    assert.match(plan.get("sku")?.text ?? "", /name:\s*'FC1'[\s\S]*tier:\s*'FlexConsumption'/);
    const site = bicep.functionApp.resource("site").body.text;
    assert.match(site, /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/, `${FILES.functionApp}: functionAppConfig.runtime must be node 20`);
    assert.match(site, /type:\s*'UserAssignedIdentity'/, `${FILES.functionApp}: the deployment package must be read with the identity`);
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as { extensions?: { durableTask?: { hubName?: string } } };
    assert.equal(host.extensions?.durableTask?.hubName, "%TASKHUB_NAME%", "host.json must read the task hub from TASKHUB_NAME, which the templates set");
  });
});

// ---- the worker job --------------------------------------------------------------------------------------------------

interface EnvEntry {
  name: string;
  value?: string;
  secretRef?: string;
  from: string;
}

function envEntries(varName: string): EnvEntry[] {
  return arrayObjects(bicep.workerJob.variable(varName)).map((item) => {
    const fields = objectEntries(item);
    const name = literal(fields.get("name")?.text);
    assert.equal(typeof name, "string", `${FILES.workerJob}: an entry of ${varName} has no literal name`);
    const value = fields.get("value")?.text;
    const secretRef = fields.get("secretRef")?.text;
    return { name: String(name), ...(value !== undefined && { value }), ...(secretRef !== undefined && { secretRef }), from: varName };
  });
}

const ENV_VARS = ["baseEnv", "entraRegistryEnv", "passwordRegistryEnv"] as const;
const workerEnv = ENV_VARS.flatMap((v) => envEntries(v));
const workerContainer = (() => {
  const template = objectEntries(objectEntries(bicep.workerJob.resource("job").body).get("properties") ?? { text: "{}", code: "{}" }).get("template");
  const containers = template ? objectEntries(template).get("containers") : undefined;
  assert.ok(containers, `${FILES.workerJob}: the job has no template.containers`);
  const items = arrayObjects(containers);
  assert.equal(items.length, 1, `${FILES.workerJob}: the job template must hold exactly one container (the worker)`);
  return objectEntries(items[0] as Span);
})();
const jobConfiguration = objectEntries(objectEntries(objectEntries(bicep.workerJob.resource("job").body).get("properties") ?? { text: "{}", code: "{}" }).get("configuration") ?? { text: "{}", code: "{}" });

/** Worker settings the templates deliberately do not set, and why. */
const WORKER_ENV_NOT_SET: Record<string, string> = {
  AZURE_STORAGE_CONNECTION_STRING: "a secret: the worker reaches storage with its managed identity",
  STORAGE_ACCOUNT: "STORAGE_ACCOUNT_URL is set instead",
};

describe("the worker job's env (infra/app/worker-job.bicep) against src/config.ts", () => {
  const workerKeys = [
    ...Object.keys(storageEnvSchema.shape),
    ...Object.keys(registryEnvSchema.shape),
    ...Object.keys(archiveTuningEnvSchema.shape),
    ...Object.keys(workerScopeEnvSchema.shape),
  ];
  const entra = workerEnv.filter((e) => e.from !== "passwordRegistryEnv");
  const password = workerEnv.filter((e) => e.from !== "entraRegistryEnv");

  test("the container's env is the base env plus one registry variant", () => {
    assert.equal(workerContainer.get("env")?.text, "concat(baseEnv, hasRegistryCredentials ? passwordRegistryEnv : entraRegistryEnv)");
    assert.equal(workerContainer.get("name")?.text, "containerName");
  });

  test("every worker setting the schema reads is set, in both variants; ARCHIVE_REQUEST is left to each execution", () => {
    for (const [variant, entries] of [["entra", entra], ["password", password]] as const) {
      const names = new Set(entries.map((e) => e.name));
      const missing = workerKeys.filter((k) => !(k in WORKER_ENV_NOT_SET) && !names.has(k) && !(variant === "entra" && (k === "ACR_USERNAME" || k === "ACR_PASSWORD" || k === "ACR_LOGIN_SERVER")));
      assert.deepEqual(missing, [], `${FILES.workerJob} (${variant} variant) does not set ${missing.join(", ")}, which the worker's schema reads`);
      const setAnyway = Object.keys(WORKER_ENV_NOT_SET).filter((k) => names.has(k));
      assert.deepEqual(setAnyway, [], `${FILES.workerJob} sets ${setAnyway.join(", ")}: ${setAnyway.map((k) => WORKER_ENV_NOT_SET[k]).join("; ")}`);
      assert.ok(!names.has("ARCHIVE_REQUEST"), `${FILES.workerJob}: ARCHIVE_REQUEST is per execution (the app merges it in); it must not be in the template`);
    }
  });

  test("both variants, with the templates' defaults, pass readWorkerConfig", () => {
    for (const [variant, entries] of [["entra", entra], ["password", password]] as const) {
      const env: Record<string, string> = { ARCHIVE_REQUEST: JSON.stringify({ image: "myregistry.azurecr.io/app:1.0" }) };
      for (const entry of entries) env[entry.name] = entry.secretRef !== undefined ? `sample-${entry.secretRef}` : evaluate(bicep.workerJob, mod.workerJob, entry.name, entry.value ?? "");
      let config: ReturnType<typeof readWorkerConfig>;
      try {
        config = readWorkerConfig(env);
      } catch (error) {
        return assert.fail(`${FILES.workerJob} (${variant} variant): readWorkerConfig rejects the job's env: ${(error as Error).message}`);
      }
      assert.equal(config.registryAuth.kind, variant, `${FILES.workerJob}: the ${variant} variant must select REGISTRY_AUTH=${variant}`);
    }
  });

  test("every value a main.bicep parameter allows is one the worker's schema accepts", () => {
    const entries = new Map(workerEnv.filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? ""]));
    const shape = { ...storageEnvSchema.shape, ...registryEnvSchema.shape, ...archiveTuningEnvSchema.shape, ...workerScopeEnvSchema.shape } as Record<string, z.ZodType>;
    assertParamsFitSchema(bicep.workerJob, mod.workerJob, entries, shape);
  });

  test("env is wired to the job's identity and the archive account", () => {
    const byName = new Map(workerEnv.map((e) => [e.name, e.value]));
    assert.equal(byName.get("STORAGE_ACCOUNT_URL"), "archiveBlobEndpoint");
    assert.equal(byName.get("AZURE_CLIENT_ID"), "identityClientId");
    // The worker's own scope: the source registry and the archive container, whatever a request names.
    assert.equal(byName.get("ALLOWED_REGISTRIES"), "registryLoginServer");
    assert.equal(byName.get("ARCHIVE_CONTAINER"), "archiveContainerName");
    assert.equal(byName.get("ACR_LOGIN_SERVER"), "registryLoginServer");
    assert.equal(moduleInput(mod.workerJob, "archiveContainerName"), `${mod.archive.symbol}.outputs.containerName`);
    assert.equal(moduleInput(mod.workerJob, "archiveBlobEndpoint"), `${mod.archive.symbol}.outputs.blobEndpoint`);
    assert.equal(moduleInput(mod.workerJob, "identityClientId"), `${mod.identities.symbol}.outputs.jobClientId`);
    assert.equal(moduleInput(mod.workerJob, "identityId"), `${mod.identities.symbol}.outputs.jobIdentityId`);
    assert.match(bicep.workerJob.resource("job").body.text, /userAssignedIdentities:\s*\{\s*'\$\{identityId\}':\s*\{\}\s*\}/, `${FILES.workerJob}: the job must run as the job identity`);
  });

  test("the job is manual, sized for streaming, retried by the orchestration, and mounts nothing", () => {
    assert.equal(jobConfiguration.get("triggerType")?.text, "'Manual'");
    assert.equal(jobConfiguration.get("replicaRetryLimit")?.text, "0", `${FILES.workerJob}: retries belong to the orchestration (MAX_ATTEMPTS)`);
    const resources = objectEntries(workerContainer.get("resources") ?? { text: "{}", code: "{}" });
    assert.equal(resources.get("cpu")?.text, "json(cpuCores)");
    const memory = objectEntries(bicep.workerJob.variable("memoryByCpu"));
    for (const [cpu, gib] of memory) assert.equal(literal(gib.text), `${Number(cpu) * 2}Gi`, `${FILES.workerJob}: Consumption profiles pair ${cpu} vCPU with ${Number(cpu) * 2}Gi`);
    const cpuParam = main.params.get(moduleInput(mod.workerJob, "cpuCores"));
    assert.deepEqual(paramValues(cpuParam ?? { name: "", type: "", decorators: new Map() }).filter((v) => !memory.has(v)), [], `${FILES.main}: every workerCpuCores value needs a memory in memoryByCpu`);
    assert.doesNotMatch(bicep.workerJob.code, /\b(volumes|volumeMounts|storageName|AzureFile)\b/, `${FILES.workerJob}: the worker streams and needs no volume (an Azure Files share would need a storage key)`);
    assert.doesNotMatch(main.code + bicep.workerJob.code, /managedEnvironments\/storages/, "no Container Apps environment storage (Azure Files) may be declared");
  });
});

// ---- secrets ----------------------------------------------------------------------------------------------------------

describe("no secret is passed as a plain app setting or env value", () => {
  test("the Function App's settings hold no secret", () => {
    const secrets = [...appSettings.keys()].filter((k) => SECRET_NAMES.has(k));
    assert.deepEqual(secrets, [], `${FILES.functionApp} sets ${secrets.join(", ")} as plain app settings`);
  });

  test("the job's secrets are read only through secretRef, and every secretRef names a job secret", () => {
    const declared = arrayObjects(bicep.workerJob.variable("registrySecretList")).map((s) => literal(objectEntries(s).get("name")?.text));
    assert.equal(jobConfiguration.get("secrets")?.text, "registrySecrets", `${FILES.workerJob}: configuration.secrets must be var registrySecrets`);
    assert.equal(bicep.workerJob.variable("registrySecrets").text.trim(), "hasRegistryCredentials ? registrySecretList : []");
    for (const entry of workerEnv) {
      if (SECRET_NAMES.has(entry.name)) {
        assert.ok(entry.secretRef !== undefined && entry.value === undefined, `${FILES.workerJob}: ${entry.name} (in ${entry.from}) must be a secretRef, never a value`);
      }
      if (entry.secretRef !== undefined) assert.ok(declared.includes(literal(entry.secretRef)), `${FILES.workerJob}: ${entry.name} refers to secret ${entry.secretRef}, which registrySecretList does not declare`);
    }
    const referenced = new Set(workerEnv.flatMap((e) => (e.secretRef !== undefined ? [literal(e.secretRef)] : [])));
    const unused = declared.filter((name) => !referenced.has(name));
    assert.deepEqual(unused, [], `${FILES.workerJob}: secrets ${unused.join(", ")} are declared but never read through secretRef`);
  });

  test("@secure() parameters flow only into job secrets: never into settings, env values or outputs", () => {
    for (const file of Object.values(bicep)) {
      for (const param of file.params.values()) {
        if (!param.decorators.has("secure")) continue;
        for (const { line, offset } of file.occurrences(param.name)) {
          const lineText = file.text.split("\n")[line - 1] ?? "";
          if (/^\s*param\s/.test(lineText)) continue;
          if (new RegExp(`!?empty\\(${param.name}\\)`).test(lineText)) continue;
          if (file === main) {
            const module = mod.workerJob;
            const passed = module.params.get(param.name)?.text;
            assert.equal(passed, param.name, `${file.path}:${line}: ${param.name} may only be passed to the worker job module`);
            const within = main.code.indexOf(`module ${module.symbol} `);
            assert.ok(offset > within && offset < within + main.code.slice(within).indexOf("\n}"), `${file.path}:${line}: ${param.name} is used outside the worker job module's parameters`);
            assert.ok(bicep.workerJob.params.get(param.name)?.decorators.has("secure"), `${FILES.workerJob}: param ${param.name} receives a secret and must be @secure()`);
            continue;
          }
          const secretsVar = file === bicep.workerJob ? bicep.workerJob.variable("registrySecretList") : undefined;
          const start = secretsVar ? file.code.indexOf(secretsVar.code) : -1;
          assert.ok(secretsVar && offset >= start && offset < start + secretsVar.code.length, `${file.path}:${line}: @secure() ${param.name} is used outside the job secrets (var registrySecretList): ${lineText.trim()}`);
        }
        for (const [output, expression] of file.outputs) assert.doesNotMatch(expression, new RegExp(`\\b${param.name}\\b`), `${file.path}: output ${output} exposes @secure() ${param.name}`);
      }
    }
  });
});

// ---- keys and connection strings ---------------------------------------------------------------------------------------

function deploymentFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
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

  test("no file under infra/ (nor azure.yaml) mentions a key, SAS or connection string", () => {
    for (const file of deploymentFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [pattern, what] of banned) {
        const line = text.split("\n").findIndex((l) => pattern.test(l));
        assert.equal(line, -1, `${file}:${line + 1}: ${what} must not appear in the templates: ${text.split("\n")[line]?.trim()}`);
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
        assert.ok(allowed.some((a) => a.test(l)), `${file}:${index + 1}: only Application Insights' and the Durable Task Scheduler's identity connection strings may appear: ${l.trim()}`);
      }
    }
    assert.equal(bicep.functionApp.resource("appInsights").type, "Microsoft.Insights/components");
    assert.match(bicep.monitoring.resource("appInsights").body.text, /DisableLocalAuth:\s*true/, `${FILES.monitoring}: Application Insights must refuse local (key) auth`);
  });

  test("every storage account is Entra-only, HTTPS-only, TLS 1.2, private", () => {
    const accounts = Object.values(bicep).flatMap((f) => f.resourcesOfType("Microsoft.Storage/storageAccounts").filter((r) => !r.existing).map((r) => [f, r] as const));
    assert.equal(accounts.length, 2, "expected two storage accounts: the archive and the Function App's host storage");
    for (const [file, account] of accounts) {
      const properties = objectEntries(objectEntries(account.body).get("properties") ?? { text: "{}", code: "{}" });
      const where = `${file.path}: storage account ${account.symbol}`;
      assert.equal(properties.get("allowSharedKeyAccess")?.text, "false", `${where} must set allowSharedKeyAccess: false`);
      assert.equal(properties.get("supportsHttpsTrafficOnly")?.text, "true", `${where} must set supportsHttpsTrafficOnly: true`);
      assert.equal(properties.get("minimumTlsVersion")?.text, "'TLS1_2'", `${where} must set minimumTlsVersion: 'TLS1_2'`);
      assert.equal(properties.get("allowBlobPublicAccess")?.text, "false", `${where} must set allowBlobPublicAccess: false`);
    }
  });
});

// ---- the archive account -------------------------------------------------------------------------------------------------

describe("the archive account can hold Archive blobs, and its lifecycle rules are safe with them", () => {
  const ARCHIVE_CAPABLE = new Set(["Standard_LRS", "Standard_GRS", "Standard_RAGRS"]);

  test("its redundancy is LRS, GRS or RA-GRS (never ZRS or GZRS), and the parameter says why", () => {
    const sku = objectEntries(objectEntries(bicep.archive.resource("account").body).get("sku") ?? { text: "{}", code: "{}" }).get("name")?.text;
    assert.equal(sku, "skuName");
    for (const param of [bicep.archive.params.get("skuName"), main.params.get(moduleInput(mod.archive, "skuName"))]) {
      assert.ok(param, `the archive account's sku parameter is missing`);
      const values = paramValues(param);
      assert.ok(param.decorators.has("allowed"), `${param.name} must restrict its values with @allowed`);
      const bad = values.filter((v) => !ARCHIVE_CAPABLE.has(v));
      assert.deepEqual(bad, [], `${param.name} allows ${bad.join(", ")}: the Archive tier is not available on ZRS, GZRS or RA-GZRS accounts`);
      assert.match(param.decorators.get("description") ?? "", /ZRS/, `${param.name}'s description must say why ZRS is not allowed`);
    }
    for (const file of Object.values(bicep)) {
      for (const account of file.resourcesOfType("Microsoft.Storage/storageAccounts").filter((r) => !r.existing)) {
        assert.doesNotMatch(objectEntries(account.body).get("sku")?.text ?? "", /ZRS/, `${file.path}: ${account.symbol} must not be zone-redundant`);
      }
    }
  });

  test("nothing is re-tiered, and archives are deleted only when asked, never before 180 days", () => {
    assert.doesNotMatch(bicep.archive.code, /\b(tierToArchive|tierToCool|tierToCold|tierToHot|enableAutoTierToHotFromCool)\b/, `${FILES.archive}: lifecycle rules must not re-tier blobs (sidecars must stay readable)`);
    assert.equal(bicep.archive.variable("archiveRules").text.trim(), "deleteArchives ? [archiveRule] : []", `${FILES.archive}: the archive rule must depend on deleteArchives`);
    assert.equal(literal(main.params.get(moduleInput(mod.archive, "deleteArchives"))?.defaultText), false, `${FILES.main}: deleteArchives must default to false`);
    for (const param of [bicep.archive.params.get("archiveRetentionDays"), main.params.get(moduleInput(mod.archive, "archiveRetentionDays"))]) {
      assert.ok(Number(param?.decorators.get("minValue")) >= 180, `${param?.name ?? "archiveRetentionDays"} must have @minValue(180) or more: the Archive tier bills 180 days`);
    }
    const archiveRule = bicep.archive.variable("archiveRule").text;
    assert.match(archiveRule, /daysAfterCreationGreaterThan:\s*max\(archiveRetentionDays, 180\)/);
  });

  test("run records expire under the prefix the app writes them to, and only there", () => {
    const runs = (summaryBlobName("run") + "\n" + resultBlobName("run", { registry: "r.example", repository: "a", digest: `sha256:${"0".repeat(64)}` })).split("\n");
    const prefix = runs.map((name) => name.slice(0, name.indexOf("/") + 1)).reduce((a, b) => (a === b ? a : ""));
    assert.equal(prefix, "runs/", "src/storage/blobNames.ts no longer writes run records under runs/: update the lifecycle rule");
    assert.match(bicep.archive.variable("runRecordRule").text, new RegExp(`prefixMatch:\\s*\\[\\s*'\\$\\{containerName\\}/${prefix}'\\s*\\]`), `${FILES.archive}: the run-record rule must match '<container>/${prefix}' only`);
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

/** `<identity> | <role> | <scope symbol> (<scope type>) | <when>` for every role assignment in a file. */
function roleAssignments(file: BicepFile): string[] {
  const roles = objectEntries(file.variable("roles"));
  const roleComments = new Map([...file.variable("roles").text.matchAll(/(\w+):\s*'([0-9a-f-]{36})'\s*\/\/\s*(.+)$/gm)].map((m) => [m[2] ?? "", (m[3] ?? "").trim()]));
  return file.resourcesOfType("Microsoft.Authorization/roleAssignments").map((assignment) => {
    const where = `${file.path}: role assignment ${assignment.symbol}`;
    const body = objectEntries(assignment.body);
    const properties = objectEntries(body.get("properties") ?? { text: "{}", code: "{}" });
    const scopeSymbol = body.get("scope")?.text ?? "";
    const scope = file.resource(scopeSymbol);
    assert.ok(scope.existing, `${where}: its scope ${scopeSymbol} must be an existing resource declared for it`);
    assert.equal(properties.get("principalType")?.text, "'ServicePrincipal'", `${where}: principalType must be ServicePrincipal`);
    const principal = properties.get("principalId")?.text;
    assert.ok(principal === "functionPrincipalId" || principal === "jobPrincipalId", `${where}: principalId must be functionPrincipalId or jobPrincipalId, not ${principal}`);
    const definition = properties.get("roleDefinitionId")?.text ?? "";
    let role: string;
    const builtIn = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', roles\.(\w+)\)$/.exec(definition);
    const custom = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\.name\)$/.exec(definition);
    if (builtIn) {
      const guid = literal(roles.get(builtIn[1] ?? "")?.text);
      assert.equal(typeof guid, "string", `${where}: roles.${builtIn[1]} is not a GUID literal`);
      const name = BUILT_IN_ROLES[String(guid)];
      assert.ok(name, `${where}: role ${String(guid)} is not one the app needs`);
      assert.equal(roleComments.get(String(guid)), name, `${file.path}: the comment beside ${String(guid)} must name the role (${name})`);
      role = name;
    } else if (custom) {
      assert.equal(file.resource(custom[1] ?? "").type, "Microsoft.Authorization/roleDefinitions");
      role = `custom:${custom[1]}`;
    } else {
      assert.fail(`${where}: roleDefinitionId must be subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.<name>) or a custom role's name: ${definition}`);
    }
    const when = assignment.condition === undefined ? "always" : assignment.condition === "useAbacRoles" ? "ABAC registry" : assignment.condition === "!useAbacRoles" ? "legacy registry" : assignment.condition;
    return `${principal === "functionPrincipalId" ? "function" : "job"} | ${role} | ${scopeSymbol} (${scope.type}) | ${when}`;
  });
}

describe("restore targets: none by default, and then restores are refused", () => {
  test("AcrPush goes to the job on the named restore targets only, and both identities get their login servers", () => {
    const names = main.params.get("restoreTargetRegistryNames");
    assert.equal(names?.defaultText, "[]", `${FILES.main}: restoreTargetRegistryNames must default to none`);
    assert.match(main.code, /module restoreTargetAccess '_*' = \[for \(targetName, i\) in restoreTargetRegistryNames: \{/, `${FILES.main}: one restore-target-access module per named target`);
    assert.equal(moduleInput(mod.workerJob, "restoreTargetRegistries"), "restoreTargetLoginServers");
    assert.equal(moduleInput(mod.functionApp, "restoreTargetRegistries"), "restoreTargetLoginServers");
    assert.match(main.code, /var restoreTargetLoginServers = join\(\s*map\(restoreTargetRegistryNames,/, `${FILES.main}: the targets' login servers, from their names`);
    const appDefaults = readAppSettings({ STORAGE_ACCOUNT_URL: "https://a.blob.core.windows.net", JOB_RUNNER: "local" });
    assert.deepEqual(appDefaults.RESTORE_TARGET_REGISTRIES, [], "src/config.ts: RESTORE_TARGET_REGISTRIES defaults to none");
  });
});

describe("identities get what the code needs, at the narrowest scope, and nothing more", () => {
  test("the custom role can start, read and stop executions of one job, nothing else", () => {
    const role = bicep.rbac.resource("jobOperatorRole");
    assert.equal(role.type, "Microsoft.Authorization/roleDefinitions");
    const properties = objectEntries(objectEntries(role.body).get("properties") ?? { text: "{}", code: "{}" });
    assert.match(properties.get("assignableScopes")?.text ?? "", /^\[\s*resourceGroup\(\)\.id\s*\]$/, `${FILES.rbac}: the custom role must be assignable in this resource group only`);
    const permissions = arrayObjects(properties.get("permissions") ?? { text: "[]", code: "[]" });
    assert.equal(permissions.length, 1);
    const permission = objectEntries(permissions[0] as Span);
    assert.deepEqual(arrayStrings(permission.get("actions") ?? { text: "[]", code: "[]" }).sort(), [...JOB_OPERATOR_ACTIONS].sort(), `${FILES.rbac}: the job operator role's actions changed`);
    for (const key of ["notActions", "dataActions", "notDataActions"]) assert.equal(permission.get(key)?.text, "[]", `${FILES.rbac}: ${key} must be empty`);
    assert.doesNotMatch(role.body.text, /jobs\/write|jobs\/delete|listsecrets\/action|\*/i, `${FILES.rbac}: the job operator role must not write, delete, list secrets or use wildcards`);
  });

  test("role assignments, with their scopes, are exactly these", () => {
    const actual = [
      ...roleAssignments(bicep.rbac),
      ...roleAssignments(bicep.registry),
      ...roleAssignments(bicep.restoreTarget),
    ].sort();
    const expected = [
      "function | custom:jobOperatorRole | job (Microsoft.App/jobs) | always",
      "function | Storage Blob Data Contributor | archiveContainer (Microsoft.Storage/storageAccounts/blobServices/containers) | always",
      "function | Storage Blob Data Owner | hostStorage (Microsoft.Storage/storageAccounts) | always",
      "function | Storage Queue Data Contributor | hostStorage (Microsoft.Storage/storageAccounts) | always",
      "function | Storage Table Data Contributor | hostStorage (Microsoft.Storage/storageAccounts) | always",
      "function | Monitoring Metrics Publisher | appInsights (Microsoft.Insights/components) | always",
      "function | Durable Task Data Contributor | taskHub (Microsoft.DurableTask/schedulers/taskHubs) | useDurableTaskScheduler",
      "function | Reader | registry (Microsoft.ContainerRegistry/registries) | always",
      "function | AcrPull | registry (Microsoft.ContainerRegistry/registries) | legacy registry",
      "function | Container Registry Repository Reader | registry (Microsoft.ContainerRegistry/registries) | ABAC registry",
      "function | Container Registry Repository Catalog Lister | registry (Microsoft.ContainerRegistry/registries) | ABAC registry",
      "job | Storage Blob Data Contributor | archiveAccount (Microsoft.Storage/storageAccounts) | always",
      "job | AcrPull | registry (Microsoft.ContainerRegistry/registries) | legacy registry",
      "job | Container Registry Repository Reader | registry (Microsoft.ContainerRegistry/registries) | ABAC registry",
      // Each restore target the deployment names (none by default): the job pushes, the app reads a digest.
      "job | AcrPush | targetRegistry (Microsoft.ContainerRegistry/registries) | always",
      "function | AcrPull | targetRegistry (Microsoft.ContainerRegistry/registries) | always",
    ].sort();
    assert.deepEqual(actual, expected, "role assignments differ from what the app needs (in the diff, + is what the templates assign, - what the app needs)");
  });

  test("the scopes are the right resources, and the principals the right identities", () => {
    const inputs: [Module, string, string][] = [
      [mod.rbac, "functionPrincipalId", `${mod.identities.symbol}.outputs.functionPrincipalId`],
      [mod.rbac, "jobPrincipalId", `${mod.identities.symbol}.outputs.jobPrincipalId`],
      [mod.registry, "functionPrincipalId", `${mod.identities.symbol}.outputs.functionPrincipalId`],
      [mod.registry, "jobPrincipalId", `${mod.identities.symbol}.outputs.jobPrincipalId`],
      [mod.rbac, "jobName", `${mod.workerJob.symbol}.outputs.name`],
      [mod.rbac, "archiveStorageAccountName", `${mod.archive.symbol}.outputs.name`],
      [mod.rbac, "archiveContainerName", `${mod.archive.symbol}.outputs.containerName`],
      [mod.rbac, "hostStorageAccountName", `${mod.functionApp.symbol}.outputs.hostStorageName`],
      [mod.rbac, "appInsightsName", `${mod.monitoring.symbol}.outputs.appInsightsName`],
      [mod.registry, "registryName", "sourceRegistryName"],
      [mod.restoreTarget, "registryName", "targetName"],
      [mod.restoreTarget, "functionPrincipalId", `${mod.identities.symbol}.outputs.functionPrincipalId`],
      [mod.restoreTarget, "jobPrincipalId", `${mod.identities.symbol}.outputs.jobPrincipalId`],
      [mod.registry, "useAbacRoles", "sourceRegistryPermissionsMode == 'AbacRepositoryPermissions'"],
    ];
    for (const [module, param, expected] of inputs) assert.equal(moduleInput(module, param), expected, `${FILES.main}: module ${module.symbol} must get ${param}: ${expected}`);
    const scopeNames: [string, string][] = [
      ["job", "jobName"],
      ["archiveAccount", "archiveStorageAccountName"],
      ["archiveContainer", "archiveContainerName"],
      ["hostStorage", "hostStorageAccountName"],
      ["appInsights", "appInsightsName"],
    ];
    for (const [symbol, param] of scopeNames) assert.equal(objectEntries(bicep.rbac.resource(symbol).body).get("name")?.text, param, `${FILES.rbac}: ${symbol} must be the resource named by ${param}`);
    assert.equal(objectEntries(bicep.registry.resource("registry").body).get("name")?.text, "registryName");
    assert.match(main.code, new RegExp(`module ${mod.registry.symbol} '_*' = \\{[\\s\\S]*?scope: resourceGroup\\(registrySubscriptionId, sourceRegistryResourceGroupName\\)`), `${FILES.main}: registry roles must be assigned in the source registry's resource group`);
    for (const [output, expression] of [
      ["functionPrincipalId", "functionIdentity.properties.principalId"],
      ["jobPrincipalId", "jobIdentity.properties.principalId"],
      ["functionIdentityId", "functionIdentity.id"],
      ["jobIdentityId", "jobIdentity.id"],
    ]) assert.equal(bicep.identities.outputs.get(output ?? ""), expression, `${FILES.identities}: output ${output} must be ${expression}`);
    assert.equal(bicep.functionApp.outputs.get("hostStorageName"), "hostStorage.name");
  });

  test("no identity gets a role that can write configuration, grant access or read keys", () => {
    for (const file of deploymentFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8").toLowerCase();
      for (const [guid, name] of Object.entries(FORBIDDEN_ROLES)) assert.ok(!text.includes(guid), `${file}: ${name} (${guid}) must not be assigned`);
      // AcrPush: on the restore targets a deployment names, nowhere else (never on the source registry).
      if (file !== FILES.restoreTarget) assert.ok(!text.includes("8311e382-0749-4cb8-b61a-304f252e45ec"), `${file}: AcrPush belongs to restore targets only (${FILES.restoreTarget})`);
    }
  });
});

// ---- sanity of the reader itself ---------------------------------------------------------------------------------------

test("the Bicep reader sees the structure it relies on", () => {
  assert.equal(maskBicep("a: 'x{y}' // {\n"), "a: '____'     \n");
  assert.equal(maskBicep("v: '${f('a')}-b'"), "v: '${f('_')}__'");
  assert.ok(appSettings.size >= 20, `${FILES.functionApp}: var appSettings parsed to ${appSettings.size} entries only`);
  assert.ok(workerEnv.length >= 8, `${FILES.workerJob}: parsed ${workerEnv.length} env entries only`);
  assert.equal(relative(ROOT, join(ROOT, FILES.main)), FILES.main);
});

describe("the Durable Functions backend: Azure Storage by default, the Durable Task Scheduler as a deployment option", () => {
  const hostJson = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
    extensions: { durableTask: { hubName: string; storageProvider?: unknown } };
  };
  const backend = main.params.get("durableBackend");
  const settingsText = (() => {
    const at = bicep.functionApp.text.indexOf("var durableTaskSchedulerSettings");
    assert.ok(at >= 0, `${FILES.functionApp}: var durableTaskSchedulerSettings is missing`);
    return bicep.functionApp.text.slice(at, bicep.functionApp.text.indexOf("\n\n", at));
  })();

  test("durableBackend is a parameter, azureStorage by default; host.json keeps the Azure Storage provider for both", () => {
    assert.equal(backend?.defaultText, "'azureStorage'");
    assert.match(backend?.decorators.get("allowed") ?? "", /'azureStorage'.*'durableTaskScheduler'/s);
    assert.equal(hostJson.extensions.durableTask.storageProvider, undefined, "host.json names no storageProvider: Azure Storage");
    assert.equal(hostJson.extensions.durableTask.hubName, "%TASKHUB_NAME%");
  });

  test("the scheduler and its task hub are deployed only for the Durable Task Scheduler, the task hub named TASKHUB_NAME", () => {
    assert.equal(mod.durableTaskScheduler.condition, "useDurableTaskScheduler");
    assert.match(main.text, /var useDurableTaskScheduler = durableBackend == 'durableTaskScheduler'/);
    assert.equal(moduleInput(mod.durableTaskScheduler, "taskHubName"), "taskHubName");
    assert.equal(moduleInput(mod.functionApp, "taskHubName"), "taskHubName");
    assert.equal(appSettings.get("TASKHUB_NAME"), "taskHubName");
    const dts = bicep.durableTaskScheduler;
    assert.equal(dts.resource("scheduler").type, "Microsoft.DurableTask/schedulers");
    const taskHub = dts.resource("taskHub");
    assert.equal(taskHub.type, "Microsoft.DurableTask/schedulers/taskHubs");
    assert.match(taskHub.body.text, /name:\s*taskHubName/);
    assert.equal(dts.outputs.get("endpoint"), "scheduler.properties.endpoint");
    // The role assignment's scope is that task hub, found by the names the module answers.
    assert.equal(moduleInput(mod.rbac, "useDurableTaskScheduler"), "useDurableTaskScheduler");
    assert.match(moduleInput(mod.rbac, "durableTaskSchedulerName"), /durableTaskScheduler!\.outputs\.schedulerName/);
    assert.equal(moduleInput(mod.rbac, "taskHubName"), "taskHubName");
  });

  test("the app selects the scheduler through app settings that override host.json, with an identity connection and no key", () => {
    assert.equal(
      moduleInput(mod.functionApp, "durableTaskSchedulerEndpoint"),
      "useDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''",
      "Azure Storage deployments get an empty endpoint, so no override",
    );
    assert.match(settingsText, /empty\(durableTaskSchedulerEndpoint\)\s*\?\s*\{\}/);
    // AzureFunctionsJobHost__<path> replaces host.json's <path>: the path must be the one host.json has.
    const overrides = [...settingsText.matchAll(/AzureFunctionsJobHost__(\w+):\s*'([^']*)'/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(overrides, [
      ["extensions__durableTask__storageProvider__type", "azureManaged"],
      ["extensions__durableTask__storageProvider__connectionStringName", "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"],
    ]);
    assert.ok("durableTask" in hostJson.extensions, "host.json has extensions.durableTask, the overridden section");
    const connection = /DURABLE_TASK_SCHEDULER_CONNECTION_STRING:\s*'([^']*)'/.exec(settingsText)?.[1] ?? "";
    assert.equal(connection, "Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}");
    assert.doesNotMatch(settingsText, /AccountKey|SharedAccess|listKeys|secret/i);
    assert.match(bicep.functionApp.text, /properties:\s*union\(appSettings, durableTaskSchedulerSettings\)/);
  });
});
