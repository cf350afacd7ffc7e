// GET /api/restore/{instanceId}: runtime status, progress {total, rehydrating, restoring, restored, alreadyPresent,
// failed, bytes}, phase, times, and the summary blob when done.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { getRunStatus } from "../durable/runStatus.js";
import { runKinds } from "../durable/runKinds.js";

export async function getRestoreStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const instanceId = request.params.instanceId ?? "";
  const status = await getRunStatus(df.getClient(context), runKinds.restore, instanceId);
  if (!status) return { status: 404, jsonBody: { error: `no restore run ${instanceId}` } };
  return { status: 200, jsonBody: status };
}

app.http("getRestoreStatus", {
  route: "restore/{instanceId}",
  methods: ["GET"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: getRestoreStatus,
});
