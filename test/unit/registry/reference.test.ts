// Image references (src/registry/reference.ts), pure: registry, repository, tag and digest parsed out of one string,
// and malformed ones refused as INVALID_REFERENCE.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isArchiveError } from "../../../src/errors.js";
import { parseImageReference } from "../../../src/registry/reference.js";

const D1 = `sha256:${"a".repeat(64)}`;

test("image references", () => {
  assert.deepEqual(parseImageReference("acr.io/team/app/api:1.0"), {
    registry: "acr.io",
    repository: "team/app/api",
    tag: "1.0",
  });
  assert.deepEqual(parseImageReference("127.0.0.1:5000/app"), {
    registry: "127.0.0.1:5000",
    repository: "app",
    tag: "latest",
  });
  assert.deepEqual(parseImageReference(`localhost/app@${D1}`), {
    registry: "localhost",
    repository: "app",
    digest: D1,
  });
  assert.deepEqual(parseImageReference(`acr.io/app:v1@${D1}`), {
    registry: "acr.io",
    repository: "app",
    tag: "v1",
    digest: D1,
  });
  for (const bad of [
    "",
    "app:1",
    "acr.io/App:1",
    "acr.io/app:-x",
    "acr.io/app@sha256:12",
    `acr.io/app:${"x".repeat(129)}`,
    "acr.io//app",
  ]) {
    assert.throws(
      () => parseImageReference(bad),
      (e: unknown) => isArchiveError(e) && e.code === "INVALID_REFERENCE",
      bad,
    );
  }
});
