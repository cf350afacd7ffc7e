// What the HTTP triggers answer alike: JSON bodies, a request body parsed by its schema's parser (400 naming every
// problem, nothing started), and a failure to start mapped to its status (400 bad input, 500 bad settings, 502 the
// rest) with one line, never a stack trace. No registration here: the triggers are the files beside it.
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { describeError, isArchiveError } from "../errors.js";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "content-type": "application/json", ...headers } };
}

/** The body parsed by `parse` (which throws INVALID_ARGUMENT with a problem a line), or the 400 to answer. */
export async function parseJsonBody<T>(
  request: HttpRequest,
  parse: (body: unknown) => T,
): Promise<{ ok: true; value: T } | { ok: false; response: HttpResponseInit }> {
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch {
    return {
      ok: false,
      response: json(400, { error: "invalid request", problems: ["the body must be a JSON object"] }),
    };
  }
  try {
    return { ok: true, value: parse(body) };
  } catch (error) {
    return {
      ok: false,
      response: json(400, { error: "invalid request", problems: (error as Error).message.split("\n") }),
    };
  }
}

/** A start that failed: INVALID_ARGUMENT is the caller's (400), CONFIG_INVALID the app's (500), the rest upstream (502). */
export function startFailedResponse(error: unknown, context: InvocationContext, what: string): HttpResponseInit {
  return failedResponse(error, context, `start ${what}`);
}

/** Any request that failed, as startFailedResponse maps it; `doing` completes "cannot …" in the log line. */
export function failedResponse(error: unknown, context: InvocationContext, doing: string): HttpResponseInit {
  if (isArchiveError(error) && error.code === "INVALID_ARGUMENT")
    return json(400, { error: "invalid request", problems: error.message.split("\n") });
  context.error(`cannot ${doing}: ${describeError(error)}`);
  return json(isArchiveError(error) && error.code === "CONFIG_INVALID" ? 500 : 502, { error: describeError(error) });
}
