// The error catalogue (src/errors.ts): a closed set of codes, and what another process reports held to it (a worker's
// result blob can be forged or stale: an outcome's code is always one of the catalogue's). Guards issue 22.5.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ARCHIVE_ERROR_CODES, ArchiveError, errorSummaryOf, isArchiveErrorCode } from "../../src/errors.js";
import { imageOutcomeSchema } from "../../src/runs/engine/workItem.js";

test("a reported code of the catalogue is kept; any other becomes the fallback with the reported code in the message", () => {
  assert.deepEqual(errorSummaryOf({ code: "DIGEST_MISMATCH", message: "m" }, "JOB_FAILED"), {
    code: "DIGEST_MISMATCH",
    message: "m",
  });
  assert.deepEqual(errorSummaryOf({ code: "PWNED", message: "m" }, "JOB_FAILED"), {
    code: "JOB_FAILED",
    message: "PWNED: m",
  });
  assert.equal(errorSummaryOf({ code: 42 }, "INTERNAL").code, "INTERNAL");
  assert.ok(isArchiveErrorCode("ARCHIVE_INVALID"));
  assert.ok(!isArchiveErrorCode("archive_invalid") && !isArchiveErrorCode(undefined));
  assert.equal(new ArchiveError("ARCHIVE_INVALID", "x").code, "ARCHIVE_INVALID");
  assert.equal(new Set(ARCHIVE_ERROR_CODES).size, ARCHIVE_ERROR_CODES.length, "no code twice");
});

test("an image outcome's error code is one of the catalogue's", () => {
  const outcome = {
    repository: "team/app",
    digest: `sha256:${"a".repeat(64)}`,
    tags: [],
    status: "failed",
    attempts: 1,
    durationSeconds: 1,
  };
  assert.ok(imageOutcomeSchema.safeParse({ ...outcome, error: { code: "JOB_FAILED", message: "m" } }).success);
  const forged = imageOutcomeSchema.safeParse({ ...outcome, error: { code: "PWNED", message: "m" } });
  assert.ok(!forged.success);
});
