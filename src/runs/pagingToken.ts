// Paging tokens of the read API (GET /api/runs, GET /api/runs/{id}): an opaque, validated cursor, never a capability.
// A token says where the next page starts (a run id, an index in a summary) and what it was issued for (the archive
// container, the filters, the run); the server checks every part against the request and its own configuration and
// reads only what the request's own filters and ARCHIVE_CONTAINER allow. So a token edited or carried over to another
// request gets a 400 naming `continuationToken`, and cannot reach another container's or another registry's records:
// nothing in it is used as a container, a blob name or a filter.
import type { z } from "zod";
import { ArchiveError } from "../errors.js";
import { formatIssues } from "../validation.js";

/** The longest token accepted (a run id and a few filters: far below). */
const MAX_TOKEN_LENGTH = 2048;

export function encodePagingToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** The token's value, checked by `schema`; INVALID_ARGUMENT `continuationToken: …` for anything else. */
export function decodePagingToken<T extends z.ZodType>(token: string, schema: T): z.output<T> {
  const invalid = (why: string) => new ArchiveError("INVALID_ARGUMENT", `continuationToken: ${why}`);
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token))
    throw invalid("is not a token this API issued");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid("is not a token this API issued");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw invalid(`is not a token this API issued (${formatIssues(parsed.error).join("; ").slice(0, 200)})`);
  return parsed.data;
}

/** The token was issued for another request: INVALID_ARGUMENT naming what differs. */
export function tokenMismatch(what: string): ArchiveError {
  return new ArchiveError("INVALID_ARGUMENT", `continuationToken: was issued for ${what}`);
}
