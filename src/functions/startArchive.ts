// POST /api/archive: start an archive run of one registry. 400 names every problem in the body; 409 when a run
// of that registry is already going; 202 with the Durable check-status payload and Location otherwise.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { runClient } from "../durable/runClient.js";
import { runKinds } from "../durable/runKinds.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseStartArchiveRun, startArchiveRun } from "../runs/startArchiveRun.js";
import { json, parseJsonBody, startFailedResponse } from "./httpResponses.js";

export async function startArchive(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = await parseJsonBody(request, parseStartArchiveRun);
  if (!parsed.ok) return parsed.response;
  const client = df.getClient(context);
  try {
    const { config, resolveRegistry, lock } = getAppDependencies();
    const result = await startArchiveRun(parsed.value, {
      client: runClient(client, runKinds.archive),
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
    return startFailedResponse(error, context, "a run");
  }
}

app.http("startArchive", {
  route: "archive",
  methods: ["POST"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: startArchive,
});
