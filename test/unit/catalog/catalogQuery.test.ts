// The catalog's query and paging token (src/catalog/catalogQuery.ts), pure: every bad filter is named, and a token
// continues only the query it was made for: same container, same registry, same filters (guards issue 25.1).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  catalogFilters,
  decodeCatalogToken,
  encodeCatalogToken,
  parseCatalogQuery,
} from "../../../src/catalog/catalogQuery.js";
import { isArchiveError } from "../../../src/errors.js";

const problems = (input: unknown): string[] => {
  try {
    parseCatalogQuery(input);
  } catch (error) {
    assert.ok(isArchiveError(error) && error.code === "INVALID_ARGUMENT", String(error));
    return error.message.split("\n").sort();
  }
  return [];
};

test("bad filters: each one named (a 400 says which), nothing queried (guards issue 25.1)", () => {
  assert.deepEqual(problems({ repository: "team/api" }), ["registry: is required: the registry's login server"]);
  assert.deepEqual(
    problems({
      registry: "r.io",
      repository: "Team/API",
      digest: "sha256:xyz",
      archivedAfter: "last week",
      state: "gone",
      pageSize: "1000",
      color: "red",
    }).map((p) => p.split(":")[0]),
    ["archivedAfter", "color", "digest", "pageSize", "repository", "state"],
  );
  assert.deepEqual(problems({ registry: "r.io", tag: "1.0" }), [
    "tag: needs repository (a tag's history is kept per repository)",
  ]);
  assert.deepEqual(problems({ registry: "r.io", archivedAfter: "2026-12-02", archivedBefore: "2026-12-01" }), [
    "archivedBefore: must be later than archivedAfter",
  ]);
  const q = parseCatalogQuery({ registry: "R.IO", archivedAfter: "2026-12-01", pageSize: "20" });
  assert.equal(q.registry, "r.io");
  assert.equal(q.pageSize, 20);
  assert.equal(q.archivedAfter?.toISOString(), "2026-12-01T00:00:00.000Z");
});

test("a token continues only its own query: another container, registry or filter set is refused by name", () => {
  const filters = catalogFilters(parseCatalogQuery({ registry: "a.io", repository: "team/api" }));
  const token = encodeCatalogToken("images", filters, { source: "index", marker: "opaque-marker" });
  assert.deepEqual(decodeCatalogToken(token, "images", filters), { source: "index", marker: "opaque-marker" });
  const refused = (container: string, f: typeof filters, why: RegExp) =>
    assert.throws(
      () => decodeCatalogToken(token, container, f),
      (e: unknown) => isArchiveError(e) && e.code === "INVALID_ARGUMENT" && why.test(e.message),
    );
  refused("other", filters, /^continuationToken: belongs to another container's catalog$/);
  refused("images", { ...filters, registry: "b.io" }, /^continuationToken: belongs to another registry's catalog$/);
  refused(
    "images",
    { ...filters, repository: "team/web" },
    /^continuationToken: belongs to a query with other filters$/,
  );
  refused("images", { ...filters, tag: "1.0" }, /other filters/);
  // Forged or damaged: not a token this catalog issued.
  const forged = Buffer.from(JSON.stringify({ v: 1, container: "images", registry: "b.io" })).toString("base64url");
  assert.throws(() => decodeCatalogToken(forged, "images", filters), /not a token this catalog issued/);
  assert.throws(() => decodeCatalogToken("%%%", "images", filters), /not a token this catalog issued/);
  assert.throws(() => decodeCatalogToken(token.slice(0, -4), "images", filters), /continuationToken: /);
});
