// GET /api/runs/{runId}?limit=&continuationToken=: a run's record and a page of its summary's images, failures first
// (runs/runRecords.ts). 404 when no run has that id; 400 names each bad field.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { parseRunImagesQuery, readRunImages } from "../runs/runRecords.js";
import { failedResponse, json } from "./httpResponses.js";
import { runRecordsDependencies } from "./runRecordsAccess.js";

export async function getRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = request.params.runId ?? "";
  try {
    const deps = runRecordsDependencies(request, context);
    const query = parseRunImagesQuery(runId, request.query, { container: deps.containerName });
    const page = await readRunImages(runId, query, deps);
    if (!page) return json(404, { error: `no run ${runId.slice(0, 200)}` });
    return json(200, page);
  } catch (error) {
    return failedResponse(error, context, `read run ${runId.slice(0, 200)}`);
  }
}

app.http("getRun", {
  route: "runs/{runId}",
  methods: ["GET"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: getRun,
});
