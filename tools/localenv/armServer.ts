// A loopback stand-in for Azure Resource Manager's Microsoft.App jobs routes (get job, start, get/list
// executions, stop execution, and the polling URLs of an asynchronous start) and Microsoft.ContainerRegistry's
// registry routes (get one, list a subscription's, list one's usages). It answers with the official example bodies of
// azure-rest-api-specs (test/fixtures/arm), changing only ids and names to match the request.
//
// HTTPS, not HTTP: the Azure SDK's bearer-token policy (core-rest-pipeline bearerTokenAuthenticationPolicy)
// throws for any non-https URL, loopback included, and has no switch to allow it. So the server serves a
// throwaway self-signed certificate for 127.0.0.1 made by openssl, and a client trusts exactly that
// certificate through the documented `tlsOptions: { ca }` pipeline option (nothing process-wide is changed).
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { selfSignedEcCertificate, type SelfSignedCertificate } from "./certificates.js";

/** How `POST …/start` answers: 200 with `{name, id}`, or 202 with a polling header (then 200 on the poll). */
export type ArmStartMode = "sync" | "location" | "azure-async-operation";

export interface ArmFailure {
  status: number;
  /** ARM error code, e.g. `InternalServerError`. */
  code: string;
  message: string;
  /** How many matching requests fail (default: all of them until `failure` is cleared). */
  times?: number;
  /** Which requests fail (default: every request). */
  match?: (request: ArmRecordedRequest) => boolean;
  /**
   * The request takes effect first (a start creates its execution), then the answer is lost: the error is sent, or
   * with `reset` the connection is cut. What a client sees when a gateway fails after the service acted.
   */
  afterEffect?: boolean;
  reset?: boolean;
}

export interface ArmServerOptions {
  startMode?: ArmStartMode;
  /** Replaces the example's execution status ("Running") in GET …/executions/{name}. */
  executionStatus?: string;
  /**
   * Replaces `properties.template` of the Job_Get example (which has one container and no env at all), so a test
   * can give the job secretRef entries and a second container. Unset: the example's template as published.
   */
  jobTemplate?: unknown;
  failure?: ArmFailure;
  /** Where the example JSON files are (default: test/fixtures/arm of the project). */
  fixturesDir?: string;
}

export interface ArmRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ArmServer {
  /** `https://127.0.0.1:<port>`: the client's `endpoint`. */
  endpoint: string;
  /** PEM of the self-signed certificate: pass as `tlsOptions: { ca }` to trust this server only. */
  ca: string;
  requests: ArmRecordedRequest[];
  /** Live options: a test may switch the start mode, status or failure between calls. */
  options: ArmServerOptions;
  stop(): Promise<void>;
}

interface Fixtures {
  jobGet: Record<string, unknown>;
  jobStart: Record<string, unknown>;
  executionGet: Record<string, unknown>;
  executionsList: Record<string, unknown>;
  registryGet: Record<string, unknown>;
  registryList: Record<string, unknown>;
  registryUsages: Record<string, unknown>;
}

interface PendingStart {
  subscriptionId: string;
  resourceGroupName: string;
  jobName: string;
  executionName: string;
}

const API_VERSION = "2025-07-01";
const JOB_ROUTE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.App\/jobs\/([^/]+)(?:\/(start)|\/(executions)(?:\/([^/]+)(?:\/(stop))?)?)?$/i;
const REGISTRY_ROUTE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)$/i;
const REGISTRIES_ROUTE = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries$/i;
const REGISTRY_USAGES_ROUTE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/listUsages$/i;
const OPERATION_ROUTE =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.App\/locations\/([^/]+)\/(containerappsjobOperationResults|containerappsjobOperationStatuses)\/([^/]+)$/i;

export async function startArmServer(options: ArmServerOptions = {}): Promise<ArmServer> {
  const fixtures = await loadFixtures(options.fixturesDir ?? findFixturesDir());
  const tls = await selfSignedCertificate();
  const requests: ArmRecordedRequest[] = [];
  const pending = new Map<string, PendingStart>();
  const started: { name: string; template: unknown; startTime: string }[] = [];
  const live: ArmServerOptions = options;
  let endpoint = "";

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    void handle(req, res).catch((error: unknown) =>
      sendError(res, 500, "InternalServerError", `stand-in failure: ${(error as Error).message}`),
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", endpoint);
    const raw = await readBody(req);
    const recorded: ArmRecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: raw.length ? JSON.parse(raw.toString("utf8")) : undefined,
    };
    requests.push(recorded);

    const failure = live.failure;
    const fails = () =>
      failure !== undefined &&
      (failure.times === undefined || failure.times > 0) &&
      (failure.match?.(recorded) ?? true);
    const failNow = (): void => {
      if (failure!.times !== undefined) failure!.times -= 1;
      if (failure!.reset) return void res.socket?.destroy();
      sendError(res, failure!.status, failure!.code, failure!.message);
    };
    if (fails() && !failure!.afterEffect) return failNow();
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
      res.setHeader(
        "WWW-Authenticate",
        'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"',
      );
      return sendError(
        res,
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
      );
    }
    if (!url.searchParams.get("api-version"))
      return sendError(
        res,
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );

    const operation = OPERATION_ROUTE.exec(url.pathname);
    if (operation && req.method === "GET") {
      const kind = operation[3]!;
      const id = operation[4]!;
      const start = pending.get(id);
      if (!start) return sendError(res, 404, "OperationNotFound", `Operation ${id} not found.`);
      if (/Statuses$/i.test(kind)) {
        return sendJson(res, 200, { id: url.pathname, name: id, status: "Succeeded" });
      }
      return sendJson(res, 200, startBody(fixtures, start));
    }

    const usages = REGISTRY_USAGES_ROUTE.exec(url.pathname);
    if (usages) {
      if (req.method !== "GET")
        return sendError(res, 405, "MethodNotAllowed", `${req.method} is not allowed on ${url.pathname}.`);
      const [subscriptionId, resourceGroupName, registryName] = [usages[1]!, usages[2]!, usages[3]!];
      if (!registryBody(fixtures, subscriptionId, resourceGroupName, registryName))
        return sendError(
          res,
          404,
          "ResourceNotFound",
          `The Resource 'Microsoft.ContainerRegistry/registries/${registryName}' under resource group '${resourceGroupName}' was not found.`,
        );
      return sendJson(res, 200, structuredClone(exampleBody(fixtures.registryUsages)));
    }
    const registry = REGISTRY_ROUTE.exec(url.pathname);
    const registries = REGISTRIES_ROUTE.exec(url.pathname);
    if ((registry || registries) && req.method !== "GET")
      return sendError(res, 405, "MethodNotAllowed", `${req.method} is not allowed on ${url.pathname}.`);
    if (registry) {
      const [subscriptionId, resourceGroupName, registryName] = [registry[1]!, registry[2]!, registry[3]!];
      const body = registryBody(fixtures, subscriptionId, resourceGroupName, registryName);
      if (!body)
        return sendError(
          res,
          404,
          "ResourceNotFound",
          `The Resource 'Microsoft.ContainerRegistry/registries/${registryName}' under resource group '${resourceGroupName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        );
      return sendJson(res, 200, body);
    }
    if (registries) return sendJson(res, 200, registriesBody(fixtures, registries[1]!));

    const match = JOB_ROUTE.exec(url.pathname);
    if (!match) return sendError(res, 404, "NotFound", `No route for ${req.method} ${url.pathname}.`);
    const [subscriptionId, resourceGroupName, jobName] = [match[1]!, match[2]!, match[3]!];
    const [start, executions, executionName, stop] = [match[4], match[5], match[6], match[7]];
    const ids = { subscriptionId, resourceGroupName, jobName };

    if (req.method === "GET" && !start && !executions) return sendJson(res, 200, jobBody(fixtures, ids, live));
    if (req.method === "POST" && start) {
      const startOf: PendingStart = { ...ids, executionName: `${jobName}-${randomLetters(7)}` };
      // Like ARM, an execution keeps the template it was started with (what the executions list shows).
      started.push({ name: startOf.executionName, template: recorded.body, startTime: new Date().toISOString() }); // the body is the template
      if (fails() && failure!.afterEffect) return failNow();
      const mode = live.startMode ?? "sync";
      if (mode === "sync") return sendJson(res, 200, startBody(fixtures, startOf));
      const id = randomUUID();
      pending.set(id, startOf);
      const base = `${endpoint}/subscriptions/${subscriptionId}/providers/Microsoft.App/locations/eastus`;
      res.setHeader("Location", `${base}/containerappsjobOperationResults/${id}?api-version=${API_VERSION}`);
      if (mode === "azure-async-operation")
        res.setHeader(
          "Azure-AsyncOperation",
          `${base}/containerappsjobOperationStatuses/${id}?api-version=${API_VERSION}`,
        );
      res.setHeader("Retry-After", "0");
      res.writeHead(202).end();
      return;
    }
    if (req.method === "GET" && executions && executionName && !stop)
      return sendJson(res, 200, executionBody(fixtures, executionName, live));
    if (req.method === "GET" && executions && !executionName)
      return sendJson(res, 200, executionsBody(fixtures, started));
    if (req.method === "POST" && stop) {
      // Job_Stop_Execution.json: "200": {} — no body.
      res.writeHead(200).end();
      return;
    }
    return sendError(res, 405, "MethodNotAllowed", `${req.method} is not allowed on ${url.pathname}.`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  endpoint = `https://127.0.0.1:${port}`;
  return {
    endpoint,
    ca: tls.cert,
    requests,
    options: live,
    stop: () =>
      new Promise<void>((resolve) => {
        // The SDK keeps connections alive: close them, or close() waits for their idle timeout.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function jobBody(
  fixtures: Fixtures,
  ids: { subscriptionId: string; resourceGroupName: string; jobName: string },
  options: ArmServerOptions,
): unknown {
  const body = structuredClone(exampleBody(fixtures.jobGet)) as {
    id: string;
    name: string;
    properties: { environmentId?: string; template?: unknown };
  };
  body.id = `/subscriptions/${ids.subscriptionId}/resourceGroups/${ids.resourceGroupName}/providers/Microsoft.App/jobs/${ids.jobName}`;
  body.name = ids.jobName;
  if (body.properties.environmentId) {
    body.properties.environmentId = body.properties.environmentId.replace(
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\//i,
      `/subscriptions/${ids.subscriptionId}/resourceGroups/${ids.resourceGroupName}/`,
    );
  }
  if (options.jobTemplate !== undefined) body.properties.template = structuredClone(options.jobTemplate);
  return body;
}

function startBody(fixtures: Fixtures, start: PendingStart): unknown {
  const body = structuredClone(exampleBody(fixtures.jobStart)) as { name: string; id: string };
  body.name = start.executionName;
  body.id = `/subscriptions/${start.subscriptionId}/resourceGroups/${start.resourceGroupName}/providers/Microsoft.App/jobs/${start.jobName}/executions/${start.executionName}`;
  return body;
}

function executionBody(fixtures: Fixtures, name: string, options: ArmServerOptions): unknown {
  const body = structuredClone(exampleBody(fixtures.executionGet)) as { name: string; properties: { status: string } };
  body.name = name;
  if (options.executionStatus !== undefined) body.properties.status = options.executionStatus;
  return body;
}

function executionsBody(
  fixtures: Fixtures,
  started: { name: string; template: unknown; startTime: string }[],
): unknown {
  const body = structuredClone(exampleBody(fixtures.executionsList)) as {
    value: { name: string; properties: Record<string, unknown> }[];
  };
  const [example] = body.value;
  if (example && started.length) {
    body.value = started.map((execution) => {
      const entry = structuredClone(example);
      entry.name = execution.name;
      entry.properties.startTime = execution.startTime;
      if (execution.template !== undefined) entry.properties.template = structuredClone(execution.template);
      return entry;
    });
  }
  return body;
}

/** RegistryGet.json for its own registry name (ARM names are case-insensitive), in the requested subscription and group; undefined for any other name. */
function registryBody(
  fixtures: Fixtures,
  subscriptionId: string,
  resourceGroupName: string,
  registryName: string,
): unknown {
  const body = structuredClone(exampleBody(fixtures.registryGet)) as { id: string; name: string };
  if (body.name.toLowerCase() !== registryName.toLowerCase()) return undefined;
  body.id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/${body.name}`;
  return body;
}

/** RegistryList.json with its registries' ids moved into the requested subscription. */
function registriesBody(fixtures: Fixtures, subscriptionId: string): unknown {
  const body = structuredClone(exampleBody(fixtures.registryList)) as { value: { id: string }[] };
  for (const registry of body.value)
    registry.id = registry.id.replace(/^\/subscriptions\/[^/]+\//i, `/subscriptions/${subscriptionId}/`);
  return body;
}

function exampleBody(example: Record<string, unknown>): unknown {
  const responses = example.responses as Record<string, { body?: unknown }>;
  const body = responses["200"]?.body;
  if (body === undefined) throw new Error("example has no 200 body");
  return body;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "x-ms-request-id": randomUUID(),
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, status, { error: { code, message } });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function randomLetters(count: number): string {
  return [...randomBytes(count)].map((b) => String.fromCharCode(97 + (b % 26))).join("");
}

/** One example file as published (tests build their expectations from the same data the server answers with). */
export async function readArmExample(name: string, fixturesDir = findFixturesDir()): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(fixturesDir, name), "utf8")) as Record<string, unknown>;
}

async function loadFixtures(dir: string): Promise<Fixtures> {
  const read = (name: string) => readArmExample(name, dir);
  const [jobGet, jobStart, executionGet, executionsList, registryGet, registryList, registryUsages] = await Promise.all(
    [
      read("Job_Get.json"),
      read("Job_Start.json"),
      read("Job_Execution_Get.json"),
      read("Job_Executions_Get.json"),
      read("RegistryGet.json"),
      read("RegistryList.json"),
      read("RegistryListUsages.json"),
    ],
  );
  return { jobGet, jobStart, executionGet, executionsList, registryGet, registryList, registryUsages };
}

/** The project's test/fixtures/arm, found from this module whether it runs from the source tree or a build dir. */
export function findFixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "test", "fixtures", "arm");
    if (existsSync(join(dir, "package.json")) && existsSync(join(candidate, "Job_Get.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("test/fixtures/arm not found above tools/localenv/armServer (pass fixturesDir)");
    dir = parent;
  }
}

let certificate: Promise<SelfSignedCertificate> | undefined;

/** One throwaway certificate per process (an EC key is quick, but every server sharing one is quicker). */
function selfSignedCertificate(): Promise<SelfSignedCertificate> {
  certificate ??= selfSignedEcCertificate("127.0.0.1", "IP:127.0.0.1");
  return certificate;
}
