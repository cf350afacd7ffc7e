// HTTP trigger route templates as the Functions host reads them: literal segments (case-insensitive), `{param}`,
// optional `{param?}`, constrained `{param:int}` and catch-all `{*rest}`; more literal routes win over looser ones.

const CONSTRAINTS: Record<string, string> = {
  int: "-?\\d+",
  long: "-?\\d+",
  alpha: "[A-Za-z]+",
  bool: "(?:true|false)",
  guid: "[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
};

export class RouteTemplate {
  private readonly pattern: RegExp;
  private readonly names: string[] = [];
  /** Sort key: routes with more literal segments, then fewer parameters, are tried first. */
  readonly precedence: number;

  constructor(readonly template: string) {
    const segments = template.replace(/^\/+|\/+$/g, "").split("/").filter((s) => s !== "");
    let source = "";
    let literals = 0;
    for (const segment of segments) {
      const whole = /^\{(\*)?([A-Za-z_][\w]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?(?:=[^}]*)?\}$/.exec(segment);
      if (whole) {
        const [, catchAll, name, constraint, optional] = whole;
        const group = `(?<p${this.names.length}>${catchAll ? ".*" : (CONSTRAINTS[constraint?.toLowerCase() ?? ""] ?? "[^/]+")})`;
        this.names.push(name);
        source += catchAll || optional || segment.includes("=") ? `(?:/${group})?` : `/${group}`;
        continue;
      }
      literals++;
      source += "/";
      let last = 0;
      for (const match of segment.matchAll(/\{([A-Za-z_][\w]*)(?::[A-Za-z]+)?\??\}/g)) {
        source += escapeRegExp(segment.slice(last, match.index));
        source += `(?<p${this.names.length}>[^/]+?)`;
        this.names.push(match[1]);
        last = (match.index ?? 0) + match[0].length;
      }
      source += escapeRegExp(segment.slice(last));
    }
    this.pattern = new RegExp(`^${source}/?$`, "i");
    this.precedence = literals * 1000 - this.names.length;
  }

  /** The route parameters when `path` (the part after the route prefix, starting with "/") matches, else undefined. */
  match(path: string): Record<string, string> | undefined {
    const m = this.pattern.exec(path === "" ? "/" : path);
    if (!m) return undefined;
    const params: Record<string, string> = {};
    this.names.forEach((name, i) => {
      const value = m.groups?.[`p${i}`];
      if (value !== undefined) params[name] = safeDecode(value);
    });
    return params;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
