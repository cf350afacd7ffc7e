// ContainerAppsJobRunner against the loopback ARM stand-in (official example bodies, HTTPS on 127.0.0.1), with a
// fake TokenCredential in place of Entra ID: the exact Start template, 200 and 202 starts, statuses, stop, and
// the refusals and error mapping that keep secrets out of env overrides and logs.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { readAppConfig } from "../../../src/config.js";
import { isArchiveError, type ArchiveError } from "../../../src/errors.js";
import { ContainerAppsJobRunner } from "../../../src/jobs/containerAppsJobRunner.js";
import { parseJobResourceId } from "../../../src/jobs/jobResourceId.js";
import { createJobRunner } from "../../../src/jobs/createJobRunner.js";
import { createRunDependencies } from "../../../src/runs/runDependencies.js";
import { LocalJobRunner } from "../../../src/jobs/localJobRunner.js";
import { isSameAttempt, startJobAttempt } from "../../../src/jobs/jobAttempt.js";
import { archiveJobRequest } from "../../../src/archive/archiveRequest.js";
import { readArmExample, startArmServer, type ArmServer } from "../../../tools/localenv/armServer.js";
import { fakeTokenCredential } from "../../support/credentials.js";

const SUBSCRIPTION = "00000000-1111-2222-3333-444444444444";
const RESOURCE_GROUP = "rg-archive";
const JOB = "acr-cold-archive-worker";
const JOB_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.App/jobs/${JOB}`;
const TOKEN = "fake-arm-token-not-a-secret";

let server: ArmServer;
const credential = fakeTokenCredential(TOKEN);
const tokenScopes = credential.scopes;

/** The Job_Get example's template, given what a real archive job has: secretRef env, command/args, a second container. */
async function jobTemplate(): Promise<unknown> {
  const example = (await readArmExample("Job_Get.json")) as {
    responses: { "200": { body: { properties: { template: { containers: object[] } } } } };
  };
  const template = structuredClone(example.responses["200"].body.properties.template);
  Object.assign(template.containers[0], {
    command: ["node"],
    args: ["dist/src/worker/main.bundle.mjs"],
    env: [
      { name: "AZURE_STORAGE_CONNECTION_STRING", secretRef: "storage-connection" },
      { name: "NOTIFY_WEBHOOK", secretRef: "webhook-url" },
      { name: "PIGZ_LEVEL", value: "1" },
      { name: "ARCHIVE_REQUEST", value: "{}" },
    ],
  });
  template.containers.push({
    name: "sidecar",
    image: "repo/sidecar:v1",
    resources: { cpu: 0.25, memory: "0.5Gi" },
    env: [
      { name: "ARCHIVE_REQUEST", value: "sidecar-own" },
      { name: "SIDECAR_TOKEN", secretRef: "sidecar-token" },
    ],
  });
  return template;
}

const REQUEST = JSON.stringify({ image: "myacr.azurecr.io/team/app:1.0", blobContainer: "images", runId: "run-1" });

/** What the Start API must receive for REQUEST: the job's template, per-image env merged into the first container. */
const EXPECTED_TEMPLATE = {
  containers: [
    {
      image: "repo/testcontainerappsjob0:v4",
      name: "testcontainerappsjob0",
      command: ["node"],
      args: ["dist/src/worker/main.bundle.mjs"],
      env: [
        { name: "AZURE_STORAGE_CONNECTION_STRING", secretRef: "storage-connection" },
        { name: "NOTIFY_WEBHOOK", secretRef: "webhook-url" },
        { name: "PIGZ_LEVEL", value: "1" },
        { name: "ARCHIVE_REQUEST", value: REQUEST },
        { name: "UPLOAD_CONCURRENCY", value: "2" },
      ],
      resources: { cpu: 0.5, memory: "1Gi" },
    },
    {
      image: "repo/sidecar:v1",
      name: "sidecar",
      env: [
        { name: "ARCHIVE_REQUEST", value: "sidecar-own" },
        { name: "SIDECAR_TOKEN", secretRef: "sidecar-token" },
      ],
      resources: { cpu: 0.25, memory: "0.5Gi" },
    },
  ],
  initContainers: [
    {
      image: "repo/testcontainerappsjob0:v4",
      name: "testinitcontainerAppsJob0",
      resources: { cpu: 0.5, memory: "1Gi" },
    },
  ],
};

function newRunner(options: { containerName?: string } = {}): ContainerAppsJobRunner {
  return new ContainerAppsJobRunner({
    job: JOB_ID,
    endpoint: server.endpoint,
    credential,
    ...options,
    // Trust the stand-in's throwaway certificate for this client only; retry once, without waiting.
    clientOptions: {
      tlsOptions: { ca: server.ca },
      retryOptions: { maxRetries: 1, retryDelayInMs: 1, maxRetryDelayInMs: 1 },
    },
    updateIntervalInMs: 1,
  });
}

function routes(): string[] {
  return server.requests.map(
    (r) => `${r.method} ${r.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "{id}")}`,
  );
}

const jobPath = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.App/jobs/${JOB}`;

before(async () => {
  server = await startArmServer({ jobTemplate: await jobTemplate() });
});
after(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
  delete server.options.startMode;
  delete server.options.executionStatus;
  delete server.options.failure;
});

describe("startExecution", () => {
  for (const mode of ["sync", "location", "azure-async-operation"] as const) {
    test(`sends the job's whole template with the per-image env merged (start answers ${mode === "sync" ? "200" : `202 + ${mode}`})`, async () => {
      server.options.startMode = mode;
      const execution = await newRunner().startExecution({ ARCHIVE_REQUEST: REQUEST, UPLOAD_CONCURRENCY: "2" });

      assert.match(execution.name, new RegExp(`^${JOB}-[a-z]{7}$`));
      assert.equal(execution.status, "Running");
      const start = server.requests.find((r) => r.method === "POST");
      assert.deepEqual(start?.body, EXPECTED_TEMPLATE);
      const expectedRoutes = {
        sync: [`GET ${jobPath}`, `POST ${jobPath}/start`],
        location: [
          `GET ${jobPath}`,
          `POST ${jobPath}/start`,
          `GET /subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/eastus/containerappsjobOperationResults/{id}`,
        ],
        "azure-async-operation": [
          `GET ${jobPath}`,
          `POST ${jobPath}/start`,
          `GET /subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/eastus/containerappsjobOperationStatuses/{id}`,
          `GET /subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/eastus/containerappsjobOperationResults/{id}`,
        ],
      }[mode];
      assert.deepEqual(routes(), expectedRoutes);
      for (const request of server.requests) {
        assert.equal(request.query["api-version"], "2025-07-01");
        assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
      }
      assert.ok(tokenScopes.includes(`${server.endpoint}/.default`), `token scopes: ${tokenScopes.join(", ")}`);
    });
  }

  test("JOB_CONTAINER_NAME chooses the container that receives the env; the others stay as they are", async () => {
    await newRunner({ containerName: "sidecar" }).startExecution({ ARCHIVE_REQUEST: REQUEST });
    const body = server.requests.find((r) => r.method === "POST")?.body as typeof EXPECTED_TEMPLATE;
    assert.deepEqual(body.containers[0], {
      ...EXPECTED_TEMPLATE.containers[0],
      env: [...EXPECTED_TEMPLATE.containers[0]!.env.slice(0, 3), { name: "ARCHIVE_REQUEST", value: "{}" }],
    });
    assert.deepEqual(body.containers[1]?.env, [
      { name: "ARCHIVE_REQUEST", value: REQUEST },
      { name: "SIDECAR_TOKEN", secretRef: "sidecar-token" },
    ]);
  });

  test("an unknown JOB_CONTAINER_NAME fails as CONFIG_INVALID before anything is started", async () => {
    await assert.rejects(
      newRunner({ containerName: "nope" }).startExecution({ ARCHIVE_REQUEST: REQUEST }),
      (error: ArchiveError) => {
        assert.equal(error.code, "CONFIG_INVALID");
        assert.match(error.message, /no container named nope \(it has: testcontainerappsjob0, sidecar\)/);
        return true;
      },
    );
    assert.deepEqual(routes(), [`GET ${jobPath}`]);
  });

  test("a secret env name is refused before any request, without echoing the value", async () => {
    for (const name of ["ACR_PASSWORD", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET", "acr_password"]) {
      await assert.rejects(
        newRunner().startExecution({ ARCHIVE_REQUEST: REQUEST, [name]: "hunter2-value" }),
        (error: Error) => {
          assert.ok(error instanceof TypeError, `${name}: ${error}`);
          assert.ok(error.message.includes(name) && !error.message.includes("hunter2"), error.message);
          return true;
        },
      );
    }
    assert.equal(server.requests.length, 0);
  });

  test("an override that would replace a secretRef entry is refused before the start request", async () => {
    await assert.rejects(
      newRunner().startExecution({ NOTIFY_WEBHOOK: "https://example.invalid/hook?sig=leak" }),
      (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /NOTIFY_WEBHOOK would replace the secretRef entry of container testcontainerappsjob0/,
        );
        assert.ok(!error.message.includes("leak"));
        return true;
      },
    );
    assert.deepEqual(routes(), [`GET ${jobPath}`]);
  });

  test("an ARM 500 becomes a retryable JOB_FAILED with a one-line message and no secrets", async () => {
    server.options.failure = {
      status: 500,
      code: "InternalServerError",
      message: "Something went wrong.\n   at Frontdoor.Handle()",
      match: (r) => r.path.endsWith("/start"),
    };
    await assert.rejects(newRunner().startExecution({ ARCHIVE_REQUEST: REQUEST }), (error: unknown) => {
      assert.ok(isArchiveError(error), String(error));
      assert.equal(error.code, "JOB_FAILED");
      assert.equal(error.retryable, true);
      assert.equal(error.statusCode, 500);
      assert.equal(
        error.message,
        `Container Apps job ${JOB}: start failed (HTTP 500 InternalServerError): Something went wrong.`,
      );
      assert.ok(!JSON.stringify(error.toJSON()).includes(TOKEN));
      return true;
    });
    // A start is never retried by the SDK (its answer may be lost after the execution began): one POST.
    assert.deepEqual(routes(), [`GET ${jobPath}`, `POST ${jobPath}/start`]);
  });

  for (const lost of [
    { status: 503, reset: false },
    { status: 0, reset: true },
  ]) {
    const how = lost.reset ? "a connection reset" : "a 503";
    test(`a start answered by ${how} after the execution began is not retried underneath: one POST, one execution (guards issue 8.5)`, async () => {
      server.options.failure = {
        status: lost.status || 503,
        code: "ServiceUnavailable",
        message: "gateway",
        afterEffect: true,
        reset: lost.reset,
        times: 1,
        match: (r) => r.method === "POST",
      };
      await assert.rejects(
        newRunner().startExecution({ ARCHIVE_REQUEST: REQUEST }),
        (error: ArchiveError) => error.code === "JOB_FAILED",
      );
      assert.equal(routes().filter((r) => r === `POST ${jobPath}/start`).length, 1, routes().join("\n"));
    });
  }

  test("startJobAttempt finds the execution of a start whose answer was lost instead of starting a second (guards issue 8.5)", async () => {
    const runner = newRunner();
    const request = {
      registry: "myacr.azurecr.io",
      repository: "team/app",
      digest: "sha256:" + "b".repeat(64),
      tags: ["1.0"],
      blobContainer: "images",
      runId: "run-1",
      attemptId: "1",
    };
    server.options.failure = {
      status: 503,
      code: "ServiceUnavailable",
      message: "gateway",
      afterEffect: true,
      times: 1,
      match: (r) => r.method === "POST",
    };
    await assert.rejects(
      startJobAttempt(runner, archiveJobRequest, request),
      (error: ArchiveError) => error.code === "JOB_FAILED",
    );
    // The orchestration tries the same attempt again, reconciling: the lost execution is found and adopted.
    const adopted = await startJobAttempt(runner, archiveJobRequest, request, { reconcile: true });
    assert.match(adopted.name, new RegExp(`^${JOB}-[a-z]{7}$`));
    assert.equal(routes().filter((r) => r === `POST ${jobPath}/start`).length, 1, "no second start");
    assert.ok(routes().includes(`GET ${jobPath}/executions`), "the executions were listed");
    // Another attempt's id is another execution: it is started.
    const second = await startJobAttempt(
      runner,
      archiveJobRequest,
      { ...request, attemptId: "2" },
      { reconcile: true },
    );
    assert.notEqual(second.name, adopted.name);
    assert.equal(routes().filter((r) => r === `POST ${jobPath}/start`).length, 2);
    // And the first attempt is still found by its own id, not confused with the second.
    assert.equal(
      (await runner.findExecution((env) => isSameAttempt(archiveJobRequest, env.ARCHIVE_REQUEST, request)))?.name,
      adopted.name,
    );
  });

  test("an ARM 403 is a JOB_FAILED that is not retryable", async () => {
    server.options.failure = {
      status: 403,
      code: "AuthorizationFailed",
      message: "The client does not have authorization to perform action 'Microsoft.App/jobs/read'.",
    };
    await assert.rejects(newRunner().startExecution({ ARCHIVE_REQUEST: REQUEST }), (error: ArchiveError) => {
      assert.equal(error.code, "JOB_FAILED");
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /^Container Apps job acr-cold-archive-worker: read job failed \(HTTP 403 AuthorizationFailed\): The client/,
      );
      return true;
    });
  });
});

describe("getExecution", () => {
  test("maps the example execution (Running, with its times)", async () => {
    const execution = await newRunner().getExecution(`${JOB}-abcdefg`);
    assert.deepEqual(execution, {
      name: `${JOB}-abcdefg`,
      status: "Running",
      startTime: "2023-02-13T20:37:30.000Z",
      endTime: "2023-02-13T20:47:30.000Z",
    });
    assert.deepEqual(routes(), [`GET ${jobPath}/executions/${JOB}-abcdefg`]);
  });

  test("maps every Container Apps status, and an unknown one to Unknown", async () => {
    const runner = newRunner();
    for (const [armStatus, expected] of [
      ["Succeeded", "Succeeded"],
      ["Failed", "Failed"],
      ["Stopped", "Stopped"],
      ["Degraded", "Degraded"],
      ["Processing", "Processing"],
      ["Unknown", "Unknown"],
      ["SomethingNew", "Unknown"],
    ] as const) {
      server.options.executionStatus = armStatus;
      assert.equal((await runner.getExecution("exec-1")).status, expected, armStatus);
    }
  });

  test("a missing execution (ARM 404) is a JOB_FAILED that is not retryable", async () => {
    server.options.failure = {
      status: 404,
      code: "ResourceNotFound",
      message: "The Resource 'Microsoft.App/jobs/x/executions/gone' was not found.",
    };
    await assert.rejects(
      newRunner().getExecution("gone"),
      (error: ArchiveError) => error.code === "JOB_FAILED" && error.retryable === false && error.statusCode === 404,
    );
  });
});

describe("stopExecution", () => {
  test("posts to the execution's stop route", async () => {
    await newRunner().stopExecution("exec-1");
    assert.deepEqual(routes(), [`POST ${jobPath}/executions/exec-1/stop`]);
  });
});

test("parseJobResourceId splits subscription, resource group and job name", () => {
  assert.deepEqual(parseJobResourceId(JOB_ID), {
    subscriptionId: SUBSCRIPTION,
    resourceGroupName: RESOURCE_GROUP,
    jobName: JOB,
  });
  assert.throws(
    () => parseJobResourceId("/subscriptions/x/resourceGroups/y/providers/Microsoft.App/containerApps/z"),
    /JOB_RESOURCE_ID/,
  );
});

test("createJobRunner picks the runner by JOB_RUNNER, and the app keeps one per process", () => {
  const storage = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" };
  const azure = readAppConfig({
    ...storage,
    JOB_RUNNER: "container-apps",
    JOB_RESOURCE_ID: JOB_ID,
    ARM_ENDPOINT: server.endpoint,
  });
  const deps = createRunDependencies(azure, { jobRunner: { containerApps: { credential } } });
  const first = deps.jobRunner();
  assert.ok(first instanceof ContainerAppsJobRunner);
  assert.deepEqual(first.job, parseJobResourceId(JOB_ID));
  assert.equal(deps.jobRunner(), first);
  const local = createJobRunner(readAppConfig({ ...storage, JOB_RUNNER: "local" }).jobRunner);
  assert.ok(local instanceof LocalJobRunner);
  assert.throws(() => readAppConfig({ ...storage, JOB_RUNNER: "container-apps" }), /JOB_RESOURCE_ID: is required/);
  assert.throws(
    () =>
      readAppConfig({
        ...storage,
        JOB_RESOURCE_ID: "/subscriptions/x/resourceGroups/y/providers/Microsoft.App/containerApps/z",
      }),
    /JOB_RESOURCE_ID: must be a Container Apps job resource id/,
  );
});
