// A small reader for the Bicep we write, read as text (the Bicep CLI is not available everywhere the tests run): params
// with their decorators, vars, resources, modules and outputs, and the object and array literals inside them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./repoRoot.js";

/**
 * The text with comments blanked and string contents replaced by `_` (quotes and `${…}` interpolations kept), same
 * length and line breaks: structure (brackets, keywords) is found in it, values are read from the original text.
 */
export function maskBicep(text: string): string {
  const out = text.split("");
  const modes: ("string" | "interp")[] = [];
  const interpDepth: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (modes.at(-1) === "string") {
      if (c === "\\") {
        out[i] = "_";
        if (next !== undefined && next !== "\n") out[i + 1] = "_";
        i += 2;
      } else if (c === "'") {
        modes.pop();
        i++;
      } else if (c === "$" && next === "{") {
        modes.push("interp");
        interpDepth.push(0);
        i += 2;
      } else {
        if (c !== "\n") out[i] = "_";
        i++;
      }
      continue;
    }
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") out[i++] = " ";
      continue;
    }
    if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (; i < stop; i++) if (text[i] !== "\n") out[i] = " ";
      continue;
    }
    if (c === "'") {
      if (text.startsWith("'''", i)) {
        const end = text.indexOf("'''", i + 3);
        const stop = end < 0 ? text.length : end + 3;
        for (let j = i + 3; j < stop - 3; j++) if (text[j] !== "\n") out[j] = "_";
        i = stop;
      } else {
        modes.push("string");
        i++;
      }
      continue;
    }
    if (modes.at(-1) === "interp") {
      const depth = interpDepth.length - 1;
      if (c === "{") interpDepth[depth]++;
      if (c === "}") {
        if (interpDepth[depth] === 0) {
          modes.pop();
          interpDepth.pop();
        } else {
          interpDepth[depth]--;
        }
      }
    }
    i++;
  }
  return out.join("");
}

/** Index of the bracket closing the one at `open` (any of `{[(`), in masked code. */
export function closingIndex(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === "{" || c === "[" || c === "(") depth++;
    else if (c === "}" || c === "]" || c === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced bracket at offset ${open}`);
}

/** A slice of a file: original text and masked code, same offsets. */
export interface Span {
  text: string;
  code: string;
}

export function span(source: Span, start: number, end: number): Span {
  return { text: source.text.slice(start, end), code: source.code.slice(start, end) };
}

/** `key: value` entries at the top level of an object literal (`{ … }`); a value that opens a bracket spans to its close. */
export function objectEntries(block: Span): Map<string, Span> {
  const entries = new Map<string, Span>();
  const open = block.code.indexOf("{");
  const close = closingIndex(block.code, open);
  let i = open + 1;
  while (i < close) {
    const lineEnd = block.code.indexOf("\n", i) < 0 ? close : Math.min(block.code.indexOf("\n", i), close);
    const line = block.code.slice(i, lineEnd);
    const key = /^\s*(?:'(_*)'|([A-Za-z_][\w]*))\s*:\s*/.exec(line);
    if (!key) {
      i = lineEnd + 1;
      continue;
    }
    const name =
      key[1] !== undefined
        ? block.text.slice(i + line.indexOf("'") + 1, i + line.indexOf("'") + 1 + key[1].length)
        : (key[2] ?? "");
    const valueStart = i + key[0].length;
    let valueEnd = lineEnd;
    for (let j = valueStart; j < valueEnd; j++) {
      if ("{[(".includes(block.code[j] ?? "")) {
        j = closingIndex(block.code, j);
        if (j > valueEnd)
          valueEnd = block.code.indexOf("\n", j) < 0 ? close : Math.min(block.code.indexOf("\n", j), close);
      }
    }
    // Trailing comments are blank in the code: cut the text where the code ends.
    const length = block.code.slice(valueStart, valueEnd).trimEnd().length;
    entries.set(name, {
      text: block.text.slice(valueStart, valueStart + length).trim(),
      code: block.code.slice(valueStart, valueStart + length).trim(),
    });
    i = valueEnd + 1;
  }
  return entries;
}

/** The object literals at the top level of an array literal (`[ {…} {…} ]`). */
export function arrayObjects(block: Span): Span[] {
  const items: Span[] = [];
  const open = block.code.indexOf("[");
  const close = closingIndex(block.code, open);
  for (let i = open + 1; i < close; i++) {
    if (block.code[i] === "{") {
      const end = closingIndex(block.code, i);
      items.push(span(block, i, end + 1));
      i = end;
    }
  }
  return items;
}

/** The single-quoted strings of an array literal, in order. */
export function arrayStrings(block: Span): string[] {
  return [...block.text.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1] ?? "");
}

export interface Param {
  name: string;
  type: string;
  defaultText?: string;
  decorators: Map<string, string>;
}

export interface Resource {
  symbol: string;
  type: string;
  existing: boolean;
  condition?: string;
  body: Span;
}

export interface Module {
  symbol: string;
  path: string;
  params: Map<string, Span>;
  /** The `if (…)` a conditional module is deployed under. */
  condition?: string;
}

export class BicepFile implements Span {
  readonly text: string;
  readonly code: string;
  readonly params = new Map<string, Param>();
  readonly vars = new Map<string, Span>();
  readonly resources = new Map<string, Resource>();
  readonly modules = new Map<string, Module>();
  readonly outputs = new Map<string, string>();

  /** `path` is relative to `root`, the repository root by default. */
  constructor(
    readonly path: string,
    root = repoRoot(),
  ) {
    this.text = readFileSync(join(root, path), "utf8");
    this.code = maskBicep(this.text);
    this.parse();
  }

  private parse(): void {
    let decorators = new Map<string, string>();
    const lineStarts = [0, ...[...this.code.matchAll(/\n/g)].map((m) => (m.index ?? 0) + 1)];
    for (let li = 0; li < lineStarts.length; li++) {
      const start = lineStarts[li] ?? 0;
      const code = this.code.slice(
        start,
        this.code.indexOf("\n", start) < 0 ? undefined : this.code.indexOf("\n", start),
      );
      const text = this.text.slice(start, start + code.length);
      if (code.startsWith("@")) {
        const paren = this.code.indexOf("(", start);
        const end = closingIndex(this.code, paren);
        decorators.set(/^@(\w+)/.exec(code)?.[1] ?? "", this.text.slice(paren + 1, end).trim());
        while ((lineStarts[li + 1] ?? Infinity) <= end) li++;
        continue;
      }
      if (!code.trim()) continue;
      const param = /^param\s+(\w+)\s+(\w+)(?:\s*=\s*(.*?))?\s*$/.exec(code);
      if (param) {
        const name = param[1] ?? "";
        const defaultText =
          param[3] !== undefined ? text.slice(code.indexOf("=") + 1, code.trimEnd().length).trim() : undefined;
        this.params.set(name, {
          name,
          type: param[2] ?? "",
          ...(defaultText !== undefined && { defaultText }),
          decorators,
        });
      }
      decorators = new Map();
      const variable = /^var\s+(\w+)\s*=\s*/.exec(code);
      if (variable) {
        const valueStart = start + variable[0].length;
        const first = this.code[valueStart] ?? "";
        const valueEnd = "{[".includes(first) ? closingIndex(this.code, valueStart) + 1 : start + code.length;
        this.vars.set(variable[1] ?? "", span(this, valueStart, valueEnd));
      }
      const resource = /^resource\s+(\w+)\s+'_*'\s*(existing\s*)?=\s*(?:if\s*\((.*)\)\s*)?\{/.exec(code);
      if (resource) {
        const type = /'([^'@]+)@[^']*'/.exec(text)?.[1] ?? "";
        const open = start + resource[0].length - 1;
        const condition =
          resource[3] !== undefined ? text.slice(code.indexOf("(") + 1, code.lastIndexOf(")")).trim() : undefined;
        this.resources.set(resource[1] ?? "", {
          symbol: resource[1] ?? "",
          type,
          existing: resource[2] !== undefined,
          ...(condition !== undefined && { condition }),
          body: span(this, open, closingIndex(this.code, open) + 1),
        });
      }
      // A module, a conditional module (`= if (cond) {`), or a module loop on one header line (`= [for (x, i) in list: {`).
      const module = /^module\s+(\w+)\s+'_*'\s*=\s*(?:\[for\s[^:]*:\s*)?(?:if\s*\((.*)\)\s*)?\{/.exec(code);
      if (module) {
        const open = start + module[0].length - 1;
        const body = span(this, open, closingIndex(this.code, open) + 1);
        const params = objectEntries(body).get("params");
        const condition =
          module[2] !== undefined ? text.slice(code.indexOf("(") + 1, code.lastIndexOf(")")).trim() : undefined;
        this.modules.set(module[1] ?? "", {
          symbol: module[1] ?? "",
          path: /'([^']*)'/.exec(text)?.[1] ?? "",
          params: params ? objectEntries(params) : new Map(),
          ...(condition !== undefined && { condition }),
        });
      }
      const output = /^output\s+(\w+)\s+\w+\s*=\s*(.*)$/.exec(code);
      if (output) this.outputs.set(output[1] ?? "", text.slice(code.indexOf("=") + 1, code.trimEnd().length).trim());
    }
  }

  variable(name: string): Span {
    const value = this.vars.get(name);
    assert.ok(value, `${this.path}: var ${name} is missing`);
    return value;
  }

  resource(symbol: string): Resource {
    const value = this.resources.get(symbol);
    assert.ok(value, `${this.path}: resource ${symbol} is missing`);
    return value;
  }

  resourcesOfType(type: string): Resource[] {
    return [...this.resources.values()].filter((r) => r.type.toLowerCase() === type.toLowerCase());
  }

  /** The symbol of the module deploying `path` (relative to infra/). */
  moduleFor(path: string): Module {
    const found = [...this.modules.values()].find((m) => join("infra", m.path) === path);
    assert.ok(found, `${this.path}: no module deploys ${path}`);
    return found;
  }

  /** Lines of the original text (1-based) where `word` occurs as code, with the line's text. */
  occurrences(word: string): { line: number; offset: number }[] {
    return [...this.code.matchAll(new RegExp(`\\b${word}\\b`, "g"))].map((m) => ({
      offset: m.index ?? 0,
      line: this.code.slice(0, m.index).split("\n").length,
    }));
  }
}

/** A Bicep literal (`'text'`, `12`, `true`) as a value; undefined for any other expression. */
export function literal(expression: string | undefined): string | number | boolean | undefined {
  if (expression === undefined) return undefined;
  const text = expression.trim();
  const str = /^'((?:[^'\\$]|\\.)*)'$/.exec(text);
  if (str) return (str[1] ?? "").replace(/\\(.)/g, "$1");
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return undefined;
}
