// zod issues as the one-line-per-problem text every 400 and CONFIG_INVALID error uses: `NAME: problem`, naming
// the variable or field (a dotted path for nested input).
import type { z } from "zod";
import { ArchiveError } from "./errors.js";

/** `NAME: problem; NAME2: problem` — the same text for env vars, request fields and orchestration inputs. */
export function formatIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "(root)";
    if (issue.code === "unrecognized_keys") return `${prefix}${issue.keys.join(", ")}: unknown field`;
    return `${prefix}${path}: ${issue.message}`;
  });
}

export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
  code: "CONFIG_INVALID" | "INVALID_ARGUMENT",
): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ArchiveError(code, `${what}: ${formatIssues(result.error).join("; ")}`);
  return result.data;
}

/**
 * An orchestration's or activity's input, checked with its schema where it is used (inputs can be forged: the
 * Durable webhook key starts any orchestration with any input). Throws INVALID_ARGUMENT naming every problem.
 */
export function parseInput<T extends z.ZodType>(what: string, schema: T, input: unknown): z.output<T> {
  return parseOrThrow(schema, input, `${what}: invalid input`, "INVALID_ARGUMENT");
}
