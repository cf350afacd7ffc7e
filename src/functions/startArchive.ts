// POST /api/archive: start an archive run of one registry. 400 names every problem in the body; 409 when a run
// of that registry is already going; 202 with the Durable check-status payload and Location otherwise.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { runClient } from "../durable/runClient.js";
import { runKinds } from "../durable/runKinds.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseStartArchiveRun, startArchiveRun } from "../runs/startArchiveRun.js";
import { parseJsonBody, runStartAnswer, runStatusUrl, startFailedResponse } from "./httpResponses.js";

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
    const statusUrl = runStatusUrl(request, "archive", result.instanceId);
    if (result.kind === "conflict")
      return runStartAnswer(request, result.instanceId, {
        statusUrl,
        conflict: `a run of ${result.registry} is already in progress`,
      });
    const { input } = result;
    context.log(`started ${result.instanceId} for ${input.registry}${input.dryRun ? " (dry run)" : ""}`);
    return runStartAnswer(request, result.instanceId, {
      statusUrl,
      started: { id: result.instanceId, statusUrl, registry: input.registry, dryRun: input.dryRun },
      // A deployment that hands function keys to less trusted callers answers with this app's own status URL only.
      ...(config.durableStatusUrls && { durableUrls: client }),
    });
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
