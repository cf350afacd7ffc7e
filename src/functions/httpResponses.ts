// What the HTTP triggers answer alike: JSON bodies, a request body parsed by its schema's parser (400 naming every
// problem, nothing started), and a failure to start mapped to its status (400 bad input, 500 bad settings, 502 the
// rest) with one line, never a stack trace. No registration here: the triggers are the files beside it.
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { DurableClient } from "durable-functions";
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

/** This app's status URL of a run: `<origin>/api/<route>/<id>`. */
export function runStatusUrl(request: HttpRequest, route: "archive" | "restore", instanceId: string): string {
  return `${new URL(request.url).origin}/api/${route}/${encodeURIComponent(instanceId)}`;
}

/**
 * Every kind's answer to a start: 409 with the run already going (`conflict` says which), or 202 with `started` (which
 * carries the status URL) and `Location: statusUrl`. The Durable check-status URLs are added only with `durableUrls`:
 * they carry the extension's system key, which also starts any orchestration with any input.
 */
export function runStartAnswer(
  request: HttpRequest,
  instanceId: string,
  answer:
    | { statusUrl: string; conflict: string }
    | { statusUrl: string; started: Record<string, unknown>; durableUrls?: DurableClient },
): HttpResponseInit {
  const { statusUrl } = answer;
  if ("conflict" in answer) return json(409, { error: answer.conflict, instanceId, statusUrl });
  if (!answer.durableUrls) return json(202, answer.started, { location: statusUrl, "retry-after": "10" });
  const accepted = answer.durableUrls.createCheckStatusResponse(request, instanceId);
  const payload = answer.durableUrls.createHttpManagementPayload(instanceId);
  return { status: 202, headers: accepted.headers, jsonBody: { ...payload, ...answer.started } };
}
