// Blob metadata (src/storage/blobMetadata.ts), pure: the keys on the wire (listings and rebuilt sidecars depend on
// them), the round trip of an archive's metadata and of a summary's totals, and what is dropped to stay within a
// blob's 8 KiB of metadata.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  archiveBlobMetadata,
  MetadataKeys,
  parseArchiveBlobMetadata,
  parseSummaryTotals,
  parseTagSeen,
  parseVerificationMetadata,
  sidecarBlobMetadata,
  summaryBlobMetadata,
  tagMarkerBlobMetadata,
  verificationMetadata,
  type ArchiveBlobMetadata,
} from "../../../src/storage/blobMetadata.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const VERIFIED = {
  verifiedAtUtc: "2026-12-03T10:00:00.123Z",
  method: "read-back-after-write",
  blobs: 12,
  manifests: 3,
  referrers: 2,
} as const;
const metadata: ArchiveBlobMetadata = {
  sourceDigest: digest("a"),
  sourceImage: "registry.example/team/app:1.0",
  archiveSha256: "b".repeat(64),
  tarSize: 123456,
  gzipLevel: 1,
  tags: ["1.0", "latest"],
  format: "oci-layout",
  externalLayers: [digest("c"), digest("d")],
  tool: "acr-cold-archive/0.1.0",
};

test("an archive's metadata has the documented keys and values, and reads back as it was written", () => {
  const written = archiveBlobMetadata(metadata);
  assert.deepEqual(written, {
    sourcedigest: digest("a"),
    sourceimage: "registry.example/team/app:1.0",
    archivesha256: "b".repeat(64),
    tarsize: "123456",
    gziplevel: "1",
    tags: "1.0,latest",
    format: "oci-layout",
    externallayers: `${"c".repeat(64)},${"d".repeat(64)}`,
    tool: "acr-cold-archive/0.1.0",
  });
  assert.deepEqual(parseArchiveBlobMetadata(written), metadata);
  assert.deepEqual(
    Object.values(MetadataKeys).sort(),
    [
      ...Object.keys(written),
      ...Object.keys(tagMarkerBlobMetadata("a", digest("a"), { sequence: 1, seenAt: new Date(0) })),
      ...Object.keys(summaryBlobMetadata({})),
      ...Object.keys(verificationMetadata(VERIFIED)),
    ]
      .filter((key, i, keys) => keys.indexOf(key) === i)
      .sort(),
    "one home for every key",
  );
});

test("sidecars and tag markers use the same keys", () => {
  assert.deepEqual(sidecarBlobMetadata(digest("a")), { sourcedigest: digest("a") });
  assert.deepEqual(tagMarkerBlobMetadata("reg/app@sha256-x.tar.gz", digest("a")), {
    archiveblob: "reg%2Fapp%40sha256-x.tar.gz",
    sourcedigest: digest("a"),
  });
});

test("a tag marker records when its tag was last seen on it; a malformed record reads as none", () => {
  const seenAt = new Date("2026-12-01T02:00:00.123Z");
  const written = tagMarkerBlobMetadata("reg/app@sha256-x.tar.gz", digest("a"), { sequence: 7, seenAt });
  assert.equal(written.tagsequence, "7");
  assert.equal(written.tagseenat, "2026-12-01T02:00:00.123Z", "milliseconds kept");
  assert.deepEqual(parseTagSeen(written), { sequence: 7, seenAt });
  assert.deepEqual(parseTagSeen(undefined), {});
  for (const sequence of ["0", "-1", "1.5", "x", "07", "1".repeat(16)])
    assert.equal(parseTagSeen({ tagsequence: sequence }).sequence, undefined, sequence);
  for (const at of ["yesterday", "2026-13-45T99:00:00Z", "2026-12-01"])
    assert.equal(parseTagSeen({ tagseenat: at }).seenAt, undefined, at);
});

test("a run summary's metadata holds its totals as JSON; anything else reads as none", () => {
  const totals = { total: 3, archived: 2, alreadyArchived: 1, failed: 0, bytesArchived: 9, jobExecutions: 2 };
  assert.deepEqual(summaryBlobMetadata(totals), { totals: JSON.stringify(totals) });
  assert.deepEqual(parseSummaryTotals(summaryBlobMetadata(totals)), totals);
  assert.equal(parseSummaryTotals({ totals: "{not json" }), undefined);
  assert.equal(parseSummaryTotals({}), undefined);
  assert.equal(parseSummaryTotals(undefined), undefined);
});

test("too many tags keep the whole ones that fit; too many external layers are not recorded at all", () => {
  const tags = Array.from({ length: 500 }, (_, i) => `release-${String(i).padStart(4, "0")}`);
  const externalLayers = Array.from({ length: 40 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`);
  const written = archiveBlobMetadata({ ...metadata, tags, externalLayers });
  assert.ok(written.tags!.length <= 4096, `${written.tags!.length} characters of tags`);
  const kept = parseArchiveBlobMetadata(written).tags!;
  assert.ok(kept.length > 0 && kept.length < tags.length);
  assert.deepEqual(kept, tags.slice(0, kept.length), "whole tags, in order");
  assert.equal(written.externallayers, undefined, "40 digests do not fit in 2048 characters");
  assert.equal(
    parseArchiveBlobMetadata(written).externalLayers,
    undefined,
    "not recorded: a rebuild asks the registry",
  );
});

test("metadata the old worker wrote (none) or empty lists parse to what is there", () => {
  assert.deepEqual(parseArchiveBlobMetadata(undefined), {});
  assert.deepEqual(parseArchiveBlobMetadata({}), {});
  assert.deepEqual(parseArchiveBlobMetadata({ tags: "", externallayers: "" }), { tags: [], externalLayers: [] });
  assert.deepEqual(parseArchiveBlobMetadata({ format: "docker-archive" }), {}, "an unknown format is not passed on");
});

test("a verification is one metadata key that reads back; a malformed one reads as none, never as verified (guards issue 23.1)", () => {
  const written = verificationMetadata(VERIFIED);
  assert.deepEqual(Object.keys(written), ["verification"]);
  assert.deepEqual(parseVerificationMetadata({ ...written, tool: "x" }), VERIFIED);
  assert.deepEqual(
    parseVerificationMetadata(verificationMetadata({ ...VERIFIED, method: "verify-only-restore" }))?.method,
    "verify-only-restore",
  );
  assert.equal(parseVerificationMetadata(undefined), undefined);
  for (const value of [
    "yes",
    "{}",
    JSON.stringify({ ...VERIFIED, method: "by-hand" }),
    JSON.stringify({ ...VERIFIED, verifiedAtUtc: "yesterday" }),
    JSON.stringify({ ...VERIFIED, blobs: 1.5 }),
    JSON.stringify({ ...VERIFIED, manifests: -1 }),
    JSON.stringify({ ...VERIFIED, referrers: "2" }),
    JSON.stringify({ ...VERIFIED, pad: "x".repeat(2000) }),
  ])
    assert.equal(parseVerificationMetadata({ verification: value }), undefined, value);
});
