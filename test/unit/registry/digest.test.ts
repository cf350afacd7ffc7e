// The sha256 digest's one home (src/registry/digest.ts): what it accepts, and that no other source file spells the
// pattern again (each reader of a digest, a blob path or a blob name builds on it).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isSha256Digest, sha256DigestOf, SHA256_HEX } from "../../../src/registry/digest.js";
import { sha256Digest } from "../../support/digests.js";
import { repoRoot } from "../../support/repoRoot.js";

test("a sha256 digest is sha256: and 64 lowercase hex digits, nothing else", () => {
  const digest = sha256Digest("x");
  assert.equal(sha256DigestOf(Buffer.from("x")), digest);
  assert.ok(isSha256Digest(digest));
  assert.ok(SHA256_HEX.test(digest.slice(7)));
  for (const other of [
    digest.toUpperCase(),
    `${digest}0`,
    digest.slice(0, -1),
    `sha512:${"a".repeat(128)}`,
    7,
    undefined,
  ])
    assert.equal(isSha256Digest(other), false, String(other));
  assert.equal(SHA256_HEX.test(`${"a".repeat(64)}\n`), false);
});

test("the sha256 pattern is written once in src/ (guards issue 22.2)", () => {
  const src = join(repoRoot(), "src");
  const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  const spelled = files.filter((file) => /(?:\[a-f0-9\]|\[0-9a-f\])\{64\}/.test(readFileSync(join(src, file), "utf8")));
  assert.deepEqual(spelled, [join("registry", "digest.ts")]);
});
