// Glob matching for the run filters and ALLOWED_REGISTRIES, written to run in time linear in the input: a glob
// compiles to a small NFA that is simulated over the value with a set of states (no backtracking). picomatch
// compiled globs to backtracking regexes, and `"*?" × 20 + "#"` against a 34-character tag took 31 s there.
// Cost is O(value length × glob length); both are bounded (globs ≤ 256 characters by the request schema).
//
// Syntax (picomatch's, minus extglobs and POSIX classes, which are refused with a reason):
//   *        any run of characters within a path segment (not `/`)
//   **       as a whole segment: any run across segments; `dir/**` also matches `dir`, `**/x` also matches `x`
//   ?        one character other than `/`
//   [a-z0-9] [!x] [^x]   one character (not `/`) in, or not in, the class
//   {a,b}    alternatives (nesting allowed, at most 64 expansions)
//   \c       the character c itself
//   !glob    (leading) matches what glob does not

import { z } from "zod";

const MAX_EXPANSIONS = 64;

type Token =
  | { kind: "char"; char: string }
  | { kind: "any" } // ?
  | { kind: "class"; negated: boolean; ranges: [string, string][] }
  | { kind: "star" } // * within a segment
  | { kind: "globstar" } // ** across segments
  | { kind: "split" }; // consumes nothing: a fork whose other branches are in `skips`

interface CompiledGlob {
  tokens: Token[];
  /** Extra ε-edges: from a token index to another (globstar segments that may match nothing at all). */
  skips: Map<number, number[]>;
}

export class GlobSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, "name", { value: "GlobSyntaxError", enumerable: false });
  }
}

/** Why a glob is unusable (unbalanced brackets or braces, extglobs, whitespace), or undefined when it is fine. */
export function globProblem(glob: string): string | undefined {
  if (/\s/.test(glob)) return "contains whitespace";
  try {
    compileGlobSet(glob);
    return undefined;
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message;
    throw error;
  }
}

/** A predicate for a list of globs; `fallback` when the list is empty or absent. */
export function globMatcher(globs: string[] | undefined, fallback: boolean): (value: string) => boolean {
  if (!globs || globs.length === 0) return () => fallback;
  const compiled = globs.map(compileGlobSet);
  return (value) => compiled.some((glob) => glob.negated !== glob.alternatives.some((alt) => matches(alt, value)));
}

interface CompiledGlobSet {
  negated: boolean;
  alternatives: CompiledGlob[];
}

function compileGlobSet(glob: string): CompiledGlobSet {
  const negated = glob.startsWith("!") && !glob.startsWith("!(");
  const body = negated ? glob.slice(1) : glob;
  return { negated, alternatives: expandBraces(body).map(compile) };
}

/** `{a,b}c` → `ac`, `bc`; nested braces expand inside out. Refuses unbalanced braces and too many expansions. */
function expandBraces(glob: string): string[] {
  let results = [""];
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === "\\") {
      results = results.map((r) => r + glob.slice(i, i + 2));
      i += 2;
      continue;
    }
    if (c === "[") {
      const end = classEnd(glob, i);
      results = results.map((r) => r + glob.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    if (c === "}") throw new GlobSyntaxError(`unbalanced "}" at position ${i + 1}`);
    if (c !== "{") {
      results = results.map((r) => r + c);
      i++;
      continue;
    }
    // Find the matching close brace and split its body on top-level commas.
    const parts: string[] = [];
    let depth = 0;
    let start = i + 1;
    let j = i + 1;
    for (; j < glob.length; j++) {
      const d = glob[j]!;
      if (d === "\\") {
        j++;
        continue;
      }
      if (d === "[") {
        j = classEnd(glob, j);
        continue;
      }
      if (d === "{") depth++;
      else if (d === "}") {
        if (depth === 0) break;
        depth--;
      } else if (d === "," && depth === 0) {
        parts.push(glob.slice(start, j));
        start = j + 1;
      }
    }
    if (j >= glob.length) throw new GlobSyntaxError(`unbalanced "{" at position ${i + 1}`);
    parts.push(glob.slice(start, j));
    const options = parts.length === 1 ? [`{${parts[0]}}`] : parts.flatMap(expandBraces); // `{a}` is literal
    const next: string[] = [];
    for (const r of results) for (const o of options) next.push(r + o);
    if (next.length > MAX_EXPANSIONS)
      throw new GlobSyntaxError(`braces expand to more than ${MAX_EXPANSIONS} alternatives`);
    results = next;
    i = j + 1;
  }
  return results;
}

/** Index of the `]` that closes the class opened at `start`. */
function classEnd(glob: string, start: number): number {
  let j = start + 1;
  if (glob[j] === "!" || glob[j] === "^") j++;
  if (glob[j] === "]") j++; // a leading `]` is a member
  for (; j < glob.length; j++) {
    if (glob[j] === "\\") j++;
    else if (glob[j] === "]") return j;
  }
  throw new GlobSyntaxError(`unbalanced "[" at position ${start + 1}`);
}

function compile(glob: string): CompiledGlob {
  const tokens: Token[] = [];
  const skips = new Map<number, number[]>();
  const addSkip = (from: number, to: number) => skips.set(from, [...(skips.get(from) ?? []), to]);
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    const next = glob[i + 1];
    if ((c === "@" || c === "+" || c === "!" || c === "*" || c === "?") && next === "(") {
      throw new GlobSyntaxError(`extglob "${c}(" at position ${i + 1} is not supported`);
    }
    if (c === "\\") {
      if (next === undefined) throw new GlobSyntaxError("ends with an unescaped backslash");
      tokens.push({ kind: "char", char: next });
      i += 2;
    } else if (c === "*") {
      let end = i;
      while (glob[end] === "*") end++;
      const segmentStart = i === 0 || glob[i - 1] === "/";
      const segmentEnd = end === glob.length || glob[end] === "/";
      if (end - i >= 2 && segmentStart && segmentEnd) {
        // `**` as a whole segment. `a/**` also matches `a` (skip the `/` before it); `**/b` also matches `b`.
        const here = tokens.length;
        if (glob[end] === "/") {
          // A fork before the globstar (not on it: the globstar loops, and a skip from inside the loop would let
          // `**/c` match `abc`): either nothing at all, slash included, or the globstar and its slash.
          tokens.push({ kind: "split" });
          tokens.push({ kind: "globstar" });
          tokens.push({ kind: "char", char: "/" });
          addSkip(here, here + 3);
          end++;
        } else {
          tokens.push({ kind: "globstar" });
          const slash = tokens[here - 1];
          if (slash?.kind === "char" && slash.char === "/") addSkip(here - 1, here + 1); // `dir/**` matches `dir`
        }
      } else if (tokens.at(-1)?.kind !== "star") {
        tokens.push({ kind: "star" }); // a run of `*` inside a segment is one `*`
      }
      i = end;
    } else if (c === "?") {
      tokens.push({ kind: "any" });
      i++;
    } else if (c === "[") {
      const end = classEnd(glob, i);
      tokens.push(parseClass(glob.slice(i + 1, end), i));
      i = end + 1;
    } else {
      tokens.push({ kind: "char", char: c });
      i++;
    }
  }
  return { tokens, skips };
}

function parseClass(body: string, position: number): Token {
  let i = 0;
  const negated = body[0] === "!" || body[0] === "^";
  if (negated) i++;
  if (body.startsWith("[:", i) || body.includes("[:"))
    throw new GlobSyntaxError(`POSIX class at position ${position + 1} is not supported`);
  const ranges: [string, string][] = [];
  while (i < body.length) {
    let lo = body[i]!;
    if (lo === "\\") lo = body[++i] ?? "\\";
    i++;
    if (body[i] === "-" && i + 1 < body.length) {
      let hi = body[i + 1]!;
      i += 2;
      if (hi === "\\") hi = body[i++] ?? "\\";
      if (hi < lo) throw new GlobSyntaxError(`range ${lo}-${hi} at position ${position + 1} is out of order`);
      ranges.push([lo, hi]);
    } else {
      ranges.push([lo, lo]);
    }
  }
  if (ranges.length === 0) throw new GlobSyntaxError(`empty class at position ${position + 1}`);
  return { kind: "class", negated, ranges };
}

/** NFA simulation: the set of token positions reachable after each character. O(value × tokens). */
function matches(glob: CompiledGlob, value: string): boolean {
  const { tokens, skips } = glob;
  const size = tokens.length + 1;
  let current = new Uint8Array(size);
  let next = new Uint8Array(size);
  const close = (set: Uint8Array) => {
    // ε-edges only go forward: one pass in index order reaches the closure.
    for (let s = 0; s < tokens.length; s++) {
      if (!set[s]) continue;
      const kind = tokens[s]!.kind;
      if (kind === "star" || kind === "globstar" || kind === "split") set[s + 1] = 1;
      const extra = skips.get(s);
      if (extra) for (const to of extra) set[to] = 1;
    }
  };
  current[0] = 1;
  close(current);
  for (const ch of value) {
    next.fill(0);
    let any = false;
    for (let s = 0; s < tokens.length; s++) {
      if (!current[s]) continue;
      const token = tokens[s]!;
      switch (token.kind) {
        case "char":
          if (ch === token.char) next[s + 1] = 1;
          break;
        case "any":
          if (ch !== "/") next[s + 1] = 1;
          break;
        case "class":
          if (ch !== "/" && token.ranges.some(([lo, hi]) => ch >= lo && ch <= hi) !== token.negated) next[s + 1] = 1;
          break;
        case "star":
          if (ch !== "/") next[s] = 1;
          break;
        case "globstar":
          next[s] = 1;
          break;
        case "split":
          break;
      }
    }
    close(next);
    for (let s = 0; s < size; s++) if (next[s]) any = true;
    if (!any) return false;
    [current, next] = [next, current];
  }
  return current[tokens.length] === 1;
}

/** One glob of a request or setting, refused with the parser's reason. */
export const globSchema = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters")
  .superRefine((glob, ctx) => {
    const problem = globProblem(glob);
    if (problem) ctx.addIssue({ code: "custom", message: `"${glob}" is not a valid glob: ${problem}` });
  });

/** A list of globs in a request or an orchestration input (at most 100). */
export const globListSchema = z.array(globSchema).max(100, "must hold at most 100 globs");
