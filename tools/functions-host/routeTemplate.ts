// HTTP trigger route templates, the subset this app needs: literal segments (case-insensitive), `{param}` and
// optional `{param?}`. Routes with more literal segments are tried first; other syntax is refused at startup.

export class RouteTemplate {
  private readonly pattern: RegExp;
  private readonly names: string[] = [];
  /** Sort key: routes with more literal segments, then fewer parameters, are tried first. */
  readonly precedence: number;

  constructor(readonly template: string) {
    const segments = template
      .replace(/^\/+|\/+$/g, "")
      .split("/")
      .filter((s) => s !== "");
    let source = "";
    let literals = 0;
    for (const segment of segments) {
      const param = /^\{([A-Za-z_]\w*)(\?)?\}$/.exec(segment);
      if (param) {
        source += param[2] ? `(?:/(?<p${this.names.length}>[^/]+))?` : `/(?<p${this.names.length}>[^/]+)`;
        this.names.push(param[1]);
      } else if (/^[^{}*]+$/.test(segment)) {
        literals++;
        source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
      } else {
        throw new Error(
          `route "${template}": functions-host supports only literal segments, {param} and {param?} (not "${segment}")`,
        );
      }
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

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
