// POST /api/restore: start a restore run. 400 names every problem in the body (nothing is started); 409 while a
// restore into the same target runs; 202 with this app's own status URL (GET /api/restore/{id}) otherwise.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { runClient } from "../durable/runClient.js";
import { runKinds } from "../durable/runKinds.js";
import { getAppDependencies } from "../appDependencies.js";
import { parseStartRestoreRun, startRestoreRun } from "../runs/startRestoreRun.js";
import { readJsonBlob } from "../storage/jsonBlob.js";
import { summaryBlobName } from "../storage/blobNames.js";
import { parseJsonBody, runStartAnswer, runStatusUrl, startFailedResponse } from "./httpResponses.js";

export async function startRestore(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = await parseJsonBody(request, parseStartRestoreRun);
  if (!parsed.ok) return parsed.response;
  try {
    const { config, resolveRegistry, lock, getContainer } = getAppDependencies();
    const container = getContainer(config.archiveContainer);
    const result = await startRestoreRun(parsed.value, {
      client: runClient(df.getClient(context), runKinds.restore),
      config,
      resolveRegistry,
      lock,
      archiveRunRegistry: async (runId) =>
        (
          await readJsonBlob<{ kind?: string; registry?: string }>(container, summaryBlobName(runId)).catch(
            () => undefined,
          )
        )?.registry,
      now: new Date(),
    });
    const statusUrl = runStatusUrl(request, "restore", result.instanceId);
    if (result.kind === "conflict")
      return runStartAnswer(request, result.instanceId, {
        statusUrl,
        conflict: `a restore into ${result.target} is already in progress`,
      });
    const { input } = result;
    context.log(
      `started ${result.instanceId}: ${input.registry} -> ${input.target.registry}${input.dryRun ? " (dry run)" : ""}`,
    );
    // Never the Durable URLs: a restore answers with this app's own status URL only.
    return runStartAnswer(request, result.instanceId, {
      statusUrl,
      started: {
        id: result.instanceId,
        statusUrl,
        registry: input.registry,
        target: input.target,
        dryRun: input.dryRun,
      },
    });
  } catch (error) {
    return startFailedResponse(error, context, "a restore");
  }
}

app.http("startRestore", {
  route: "restore",
  methods: ["POST"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: startRestore,
});
