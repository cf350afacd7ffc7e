// GET /api/ui: the status page (src/ui/statusPage.ts), one static HTML document; its script calls the read API with
// the function key the page was opened with.
import { app, type HttpResponseInit } from "@azure/functions";
import { statusPageHeaders, statusPageHtml } from "../ui/statusPage.js";

export async function statusPage(): Promise<HttpResponseInit> {
  return { status: 200, headers: statusPageHeaders, body: statusPageHtml };
}

app.http("statusPage", {
  route: "ui",
  methods: ["GET"],
  authLevel: "function",
  handler: statusPage,
});
