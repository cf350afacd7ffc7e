// POST /api/archive: start an archive run of one registry. 400 names every problem in the body; 409 when a run
// of that registry is already going; 202 with the Durable check-status payload and Location otherwise.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { archiveRunClient } from "../durable/archiveRunClient.js";
import { describeError, isArchiveError } from "../errors.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseStartArchiveRun, startArchiveRun } from "../runs/startArchiveRun.js";

const json = (status: number, body: unknown): HttpResponseInit => ({
  status,
  jsonBody: body,
  headers: { "content-type": "application/json" },
});

export async function startArchive(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch {
    return json(400, { error: "invalid request", problems: ["the body must be a JSON object"] });
  }
  let parsed;
  try {
    parsed = parseStartArchiveRun(body);
  } catch (error) {
    return json(400, { error: "invalid request", problems: (error as Error).message.split("\n") });
  }
  const client = df.getClient(context);
  try {
    const { config, resolveRegistry, lock } = getAppDependencies();
    const result = await startArchiveRun(parsed, {
      client: archiveRunClient(client),
      config,
      resolveRegistry,
      lock,
      now: new Date(),
      requestedBy: "http",
    });
    const statusUrl = `${new URL(request.url).origin}/api/archive/${encodeURIComponent(result.instanceId)}`;
    if (result.kind === "conflict") {
      return json(409, {
        error: `a run of ${result.registry} is already in progress`,
        instanceId: result.instanceId,
        statusUrl,
      });
    }
    context.log(`started ${result.instanceId} for ${result.input.registry}${result.input.dryRun ? " (dry run)" : ""}`);
    const body = { id: result.instanceId, statusUrl, registry: result.input.registry, dryRun: result.input.dryRun };
    if (!config.durableStatusUrls) {
      // The Durable URLs carry the extension's system key, which also starts any orchestration with any input: a
      // deployment that hands function keys to less trusted callers answers with this app's own status URL only.
      return { status: 202, headers: { location: statusUrl, "retry-after": "10" }, jsonBody: body };
    }
    const accepted = client.createCheckStatusResponse(request, result.instanceId);
    const payload = client.createHttpManagementPayload(result.instanceId);
    return { status: 202, headers: accepted.headers, jsonBody: { ...payload, ...body } };
  } catch (error) {
    if (isArchiveError(error) && error.code === "INVALID_ARGUMENT")
      return json(400, { error: "invalid request", problems: [error.message] });
    context.error(`cannot start a run: ${describeError(error)}`);
    return json(isArchiveError(error) && error.code === "CONFIG_INVALID" ? 500 : 502, { error: describeError(error) });
  }
}

app.http("startArchive", {
  route: "archive",
  methods: ["POST"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: startArchive,
});
