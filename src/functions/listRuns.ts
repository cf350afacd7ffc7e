// GET /api/runs?kind=&registry=&status=&limit=&continuationToken=: the runs, newest first, paged (runs/runRecords.ts).
// 400 names each bad field, a token issued for another request included.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { listRuns, parseRunsQuery } from "../runs/runRecords.js";
import { failedResponse, json } from "./httpResponses.js";
import { runRecordsDependencies } from "./runRecordsAccess.js";

export async function listRunsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const deps = runRecordsDependencies(request, context);
    const query = parseRunsQuery(request.query, { container: deps.containerName });
    return json(200, await listRuns(query, deps));
  } catch (error) {
    return failedResponse(error, context, "list runs");
  }
}

app.http("listRuns", {
  route: "runs",
  methods: ["GET"],
  authLevel: "function",
  extraInputs: [df.input.durableClient()],
  handler: listRunsHandler,
});
