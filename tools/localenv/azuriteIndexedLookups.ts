// Loaded into Azurite with `node --import` by startAzurite({ scale: true }) (the scale benchmark): makes Azurite's
// in-memory metadata store (LokiJS) find a blob by its name through the index it already keeps, instead of scanning
// every blob. Azurite asks `find({ accountName, containerName, name, … })`; LokiJS uses an index only for the first key
// of a query, and `accountName` is the same for every blob, so every lookup, upload and prefix listing scanned the
// whole container: O(blobs) per request, hours at 100,000 images where Azure answers in O(1). Here the most selective
// indexed key (`name`, `blobName`) is matched first, through its binary index (a `name` prefix regex as the index
// range it implies), the rows are put back in the collection's order, and then the query's every key is matched as
// LokiJS would: the same rows, in the same order, as the full scan. Nothing else of Azurite changes.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

interface LokiResultset {
  filterInitialized: boolean;
  filteredrows: number[];
  collection: { binaryIndices: Record<string, unknown> };
  find(query: unknown, firstOnly?: boolean): LokiResultset;
}

// Azurite's own copy of LokiJS (the one its stores import).
const azuriteMain = fileURLToPath(new URL("../../../node_modules/azurite/dist/src/blob/main.js", import.meta.url));
const loki = createRequire(azuriteMain)("lokijs") as { Resultset: { prototype: LokiResultset } };
const find = loki.Resultset.prototype.find;

/** The keys tried first, most selective first. */
const SELECTIVE_KEYS = ["name", "blobName"];

/** `^<escaped literal>` → the literal (Azurite builds prefix queries with escapeRegex); undefined for anything else. */
function literalPrefix(source: string): string | undefined {
  if (!source.startsWith("^")) return undefined;
  let literal = "";
  for (let i = 1; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const next = source[++i];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined; // \d, \w …: not a literal
      literal += next;
    } else if (/[.*+?^${}()|[\]]/.test(c)) return undefined;
    else literal += c;
  }
  return literal;
}

loki.Resultset.prototype.find = function (this: LokiResultset, query: unknown, firstOnly?: boolean): LokiResultset {
  if (this.filterInitialized || !query || typeof query !== "object" || Array.isArray(query))
    return find.call(this, query, firstOnly);
  const q = query as Record<string, unknown>;
  const key = SELECTIVE_KEYS.find((k) => k in q && this.collection.binaryIndices[k]);
  if (key === undefined) return find.call(this, query, firstOnly);
  const value = q[key];
  let narrowing: unknown;
  if (typeof value === "string") narrowing = { [key]: value };
  else if (value && typeof value === "object" && "$regex" in value && typeof value.$regex === "string") {
    const prefix = literalPrefix(value.$regex);
    // Every name that starts with the prefix sorts between it and the prefix followed by the highest code unit.
    if (prefix !== undefined && prefix !== "") narrowing = { [key]: { $between: [prefix, `${prefix}\uffff`] } };
  }
  if (narrowing === undefined) return find.call(this, query, firstOnly);
  find.call(this, narrowing);
  // Back in the collection's order (the order the full scan gives), then every key of the query, as LokiJS does.
  this.filteredrows.sort((a, b) => a - b);
  return find.call(this, query, firstOnly);
};
