// GET /api/catalog?registry=&repository=&tag=&digest=&archivedAfter=&archivedBefore=&state=&pageSize=&continuationToken=
// What is archived, found by blob index tags while the archives sit in Archive tier (catalog/catalog.ts): parse the
// query (400 naming every bad field or token), answer one page, map failures.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { getAppDependencies } from "../appDependencies.js";
import { queryCatalog } from "../catalog/catalog.js";
import { parseCatalogQuery } from "../catalog/catalogQuery.js";
import { describeError, isArchiveError } from "../errors.js";
import { json } from "./httpResponses.js";

export async function getCatalog(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const params: Record<string, string> = {};
  const repeated = new Set<string>();
  for (const [key, value] of request.query.entries()) {
    if (key === "code") continue; // the function key, when passed in the query string
    if (key in params) repeated.add(key);
    params[key] = value;
  }
  if (repeated.size)
    return json(400, { error: "invalid request", problems: [...repeated].map((k) => `${k}: given more than once`) });
  try {
    const deps = getAppDependencies();
    const query = parseCatalogQuery(params);
    const page = await queryCatalog(query, {
      container: deps.getContainer(deps.config.archiveContainer),
      prices: deps.config.prices,
      registryStorage: deps.registryStorage,
    });
    return json(200, page);
  } catch (error) {
    if (isArchiveError(error) && error.code === "INVALID_ARGUMENT")
      return json(400, { error: "invalid request", problems: error.message.split("\n") });
    context.error(`catalog query failed: ${describeError(error)}`);
    return json(isArchiveError(error) && error.code === "CONFIG_INVALID" ? 500 : 502, { error: describeError(error) });
  }
}

app.http("getCatalog", {
  route: "catalog",
  methods: ["GET"],
  authLevel: "function",
  handler: getCatalog,
});
