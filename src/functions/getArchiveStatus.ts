// GET /api/archive/{instanceId}: runtime status, progress counts, times, and the summary blob when done.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { getRunStatus } from "../durable/runStatus.js";
import { runKinds } from "../durable/runKinds.js";

export async function getArchiveStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const instanceId = request.params.instanceId ?? "";
  const status = await getRunStatus(df.getClient(context), runKinds.archive, instanceId);
  if (!status) return { status: 404, jsonBody: { error: `no archive run ${instanceId}` } };
  return { status: 200, jsonBody: status };
}

app.http("getArchiveStatus", {
  route: "archive/{instanceId}",
  methods: ["GET"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: getArchiveStatus,
});
