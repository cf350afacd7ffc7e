// The worker's restore request (src/archive/restoreRequest.ts): its schema names every wrong field, it reads only the
// archive or its own staging copy (a fact, `fromStaging`: the blob read is derived, never named), its digest is the
// archive's (derived from its name), and the target is checked against the worker's own RESTORE_TARGET_REGISTRIES and
// ARCHIVE_CONTAINER.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertRestoreRequestInScope, restoreRequestSchema } from "../../../src/archive/restoreRequest.js";
import { readableBlobName } from "../../../src/storage/blobNames.js";
import { formatIssues } from "../../../src/validation.js";

const DIGEST = `sha256:${"b".repeat(64)}`;
const ARCHIVE = `acr.io/team/api@sha256-${"b".repeat(64)}.tar.gz`;
const valid = {
  archiveBlob: ARCHIVE,
  fromStaging: true,
  blobContainer: "images",
  target: { registry: "restore.azurecr.io", repository: "team/api" },
};

const problems = (input: unknown) => {
  const parsed = restoreRequestSchema.safeParse(input);
  return parsed.success ? [] : formatIssues(parsed.error);
};

test("a valid request parses; the archive itself may be read when it is online", () => {
  assert.deepEqual(problems(valid), []);
  assert.deepEqual(problems({ ...valid, fromStaging: false }), []);
});

test("the blob read is the archive's staging copy or the archive itself, derived from the fact (guards issue 22.4)", () => {
  const request = restoreRequestSchema.parse(valid);
  assert.equal(readableBlobName(request.archiveBlob, request), `staging/${ARCHIVE}`);
  assert.equal(readableBlobName(ARCHIVE, { fromStaging: false }), ARCHIVE);
  assert.deepEqual(problems({ ...valid, fromStaging: "staging/x" }), [
    "fromStaging: Invalid input: expected boolean, received string",
  ]);
  assert.throws(() => readableBlobName("runs/r/summary.json", { fromStaging: true }), /not an archive blob name/);
});

test("supplements: only the archive's own referrers supplements, each read from itself or its staging copy", () => {
  const supplement = `acr.io/team/api@sha256-${"b".repeat(64)}.referrers-sha256-${"c".repeat(64)}.tar.gz`;
  assert.deepEqual(problems({ ...valid, supplements: [{ archiveBlob: supplement, fromStaging: true }] }), []);
  const foreign = `acr.io/team/web@sha256-${"b".repeat(64)}.referrers-sha256-${"c".repeat(64)}.tar.gz`;
  assert.deepEqual(
    problems({
      ...valid,
      supplements: [
        { archiveBlob: foreign, fromStaging: false },
        { archiveBlob: supplement, readableBlob: ARCHIVE },
      ],
    }),
    // A supplement read from another blob cannot be asked for: the blob is derived, never named.
    ["supplements.1.fromStaging: Invalid input: expected boolean, received undefined", "readableBlob: unknown field"],
  );
  assert.deepEqual(problems({ ...valid, supplements: [{ archiveBlob: foreign, fromStaging: false }] }), [
    "supplements.0.archiveBlob: must be a referrers supplement of the archive (<archive stem>.referrers-sha256-<hex>.tar.gz)",
  ]);
});

test("every wrong field is named", () => {
  // Another blob to read, or another digest than the archive's: neither can be named (both are derived).
  assert.deepEqual(problems({ ...valid, readableBlob: "runs/r/summary.json" }), ["readableBlob: unknown field"]);
  assert.deepEqual(problems({ ...valid, expectedDigest: `sha256:${"c".repeat(64)}` }), [
    "expectedDigest: unknown field",
  ]);
  assert.deepEqual(problems({ ...valid, expectedDigest: DIGEST }), ["expectedDigest: unknown field"]);
  const many = problems({
    ...valid,
    archiveBlob: `${ARCHIVE}.json`,
    target: { registry: "Not A Host", repository: "UPPER", tags: ["-bad"] },
    color: "red",
  });
  assert.ok(
    many.some((p) => p.startsWith("archiveBlob: must be an archive blob name")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.registry:")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.repository:")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.tags.0:")),
    many.join("\n"),
  );
  assert.ok(many.includes("color: unknown field"), many.join("\n"));
});

test("the target must be in RESTORE_TARGET_REGISTRIES, and the container the worker's", () => {
  const request = restoreRequestSchema.parse(valid);
  const scope = { restoreTargetRegistries: ["restore.azurecr.io"], archiveContainer: "images" };
  assertRestoreRequestInScope(request, scope, { requireTargets: true });
  assert.throws(
    () => assertRestoreRequestInScope(request, { ...scope, restoreTargetRegistries: [] }, { requireTargets: true }),
    /registry: restore.azurecr.io is not in RESTORE_TARGET_REGISTRIES \(none: set RESTORE_TARGET_REGISTRIES\)/,
  );
  assertRestoreRequestInScope(request, { restoreTargetRegistries: [] }, { requireTargets: false }); // the CLI, unset
  assert.throws(
    () => assertRestoreRequestInScope(request, { ...scope, archiveContainer: "other" }, { requireTargets: true }),
    /blobContainer: images is not this worker's container/,
  );
});
