// Blob index tags (src/storage/indexTags.ts), pure: ten keys within Azure's limits, fixed-width values that sort as
// they compare, the mapping of a value that would not fit, and expressions that cannot be broken out of.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  archiveIndexTags,
  archivedAtValue,
  bytesValue,
  hasCompleteIndexTags,
  indexTagValue,
  parseArchiveIndexTags,
  tagExpression,
} from "../../../src/storage/indexTags.js";

const CHARSET = /^[a-zA-Z0-9 +\-./:=_]*$/;

test("an archive's index tags: the ten keys, every key and value within Azure's charset and lengths (guards issue 25.1)", () => {
  const tags = archiveIndexTags({
    kind: "archive",
    registry: "MyAcr.azurecr.io",
    repository: `team/${"a".repeat(250)}`,
    digest: `sha256:${"c".repeat(64)}`,
    tag: "T".repeat(128),
    archivedAt: new Date("2026-12-03T10:15:30.999Z"),
    runId: "archive-myacr-20261203T101530000Z-1a2b3c",
    bytes: 123,
  });
  assert.equal(Object.keys(tags).length, 10);
  for (const [key, value] of Object.entries(tags)) {
    assert.ok(key.length >= 1 && key.length <= 128 && CHARSET.test(key), key);
    assert.ok(value.length <= 256 && CHARSET.test(value), `${key}=${value}`);
  }
  assert.equal(tags.registry, "myacr.azurecr.io");
  assert.equal(tags.archivedat, "2026-12-03T10:15:30Z");
  assert.equal(tags.bytes, "000000000000123");
  assert.equal(tags.verified, "no");
  assert.equal(tags.purge, "none");
  assert.ok(hasCompleteIndexTags(tags));
  assert.ok(!hasCompleteIndexTags({ ...tags, purge: undefined } as unknown as Record<string, string>));
  const untagged = archiveIndexTags({
    kind: "supplement",
    registry: "r.io",
    repository: "a",
    digest: `sha256:${"d".repeat(64)}`,
    archivedAt: new Date(0),
    bytes: 0,
  });
  assert.equal(untagged.tag, "");
  assert.equal(untagged.run, "cli");
});

test("times and sizes sort as they compare; a value that would not fit is mapped to its sha256, stably", () => {
  assert.ok(archivedAtValue(new Date("2026-02-01T00:00:00Z")) < archivedAtValue(new Date("2026-10-01T00:00:00Z")));
  assert.ok(bytesValue(9) < bytesValue(10) && bytesValue(999_999) < bytesValue(1_000_000));
  assert.throws(() => bytesValue(-1), RangeError);
  const long = "x".repeat(300);
  assert.match(indexTagValue(long), /^sha256=[a-f0-9]{64}$/);
  assert.equal(indexTagValue(long), indexTagValue(long));
  assert.match(indexTagValue("tag'; drop"), /^sha256=/, "a quote is never stored");
  assert.equal(indexTagValue("team/api"), "team/api");
});

test("read back: each field only when well-formed", () => {
  assert.deepEqual(parseArchiveIndexTags({ kind: "x", archivedat: "yesterday", bytes: "12", run: "r1" }), {
    runId: "r1",
  });
  const parsed = parseArchiveIndexTags({
    kind: "archive",
    archivedat: "2026-12-03T10:15:30Z",
    bytes: "000000000000042",
  });
  assert.equal(parsed.kind, "archive");
  assert.equal(parsed.bytes, 42);
  assert.equal(parsed.archivedAt?.toISOString(), "2026-12-03T10:15:30.000Z");
});

test("an expression names known keys and quotes values that hold no quote; anything else is refused, not sent", () => {
  assert.equal(
    tagExpression([
      { key: "registry", op: "=", value: "r.io" },
      { key: "archivedat", op: ">=", value: "2026-12-01T00:00:00Z" },
    ]),
    `"registry" = 'r.io' AND "archivedat" >= '2026-12-01T00:00:00Z'`,
  );
  assert.throws(() => tagExpression([{ key: "registry", op: "=", value: "x' OR 'a'='a" }]), RangeError);
  assert.throws(() => tagExpression([{ key: "nope" as "registry", op: "=", value: "x" }]), RangeError);
  assert.throws(() => tagExpression([]), RangeError);
});
