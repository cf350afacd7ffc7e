// Which failures another attempt cannot fix (src/runs/runPolicy.ts): a damaged archive is one, as bad input is; an
// unreachable registry or a storage failure is not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isPermanentFailure } from "../../../src/runs/runPolicy.js";

test("a damaged archive (ARCHIVE_INVALID) is permanent, like bad input; transient codes are retried (guards issue 22.5)", () => {
  for (const code of ["ARCHIVE_INVALID", "INVALID_ARGUMENT", "REFERRER_GRAPH_INVALID", "UNSUPPORTED_MEDIA_TYPE"])
    assert.equal(isPermanentFailure(code), true, code);
  for (const code of ["REGISTRY_UNREACHABLE", "STORAGE_ERROR", "JOB_FAILED", undefined])
    assert.equal(isPermanentFailure(code), false, String(code));
});

test("a registry lock (REGISTRY_LOCKED: ACR's 405 REGISTRY_DISALLOWED_OPERATION) is permanent: another attempt meets the same lock (guards issue 23.4)", () => {
  assert.equal(isPermanentFailure("REGISTRY_LOCKED"), true);
  assert.equal(isPermanentFailure("REGISTRY_ERROR"), false);
});
