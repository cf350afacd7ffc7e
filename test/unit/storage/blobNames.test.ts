// Blob names (src/storage/blobNames.ts), pure: deterministic from (registry, repository, digest), collision-free
// (a/b and a__b never meet), findable by tag prefix, and refused for a repository that would climb out.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  archiveBlobIdentity,
  archiveBlobName,
  archiveOfStagingBlob,
  parseArchiveBlobName,
  parseStagingClaimBlobName,
  purgeRecordBlobName,
  isReferrersSupplementOf,
  referrersSupplementBlobName,
  resultBlobName,
  sidecarBlobName,
  stagingBlobName,
  stagingClaimBlobName,
  tagMarkerBlobName,
  tagMarkerIdentity,
} from "../../../src/storage/blobNames.js";

const D1 = `sha256:${"a".repeat(64)}`;

test("blob names are deterministic, collision-free and findable by tag prefix", () => {
  const a = archiveBlobName({ registry: "acr.io", repository: "a/b", digest: D1 });
  const b = archiveBlobName({ registry: "acr.io", repository: "a__b", digest: D1 });
  const c = archiveBlobName({ registry: "acr.io", repository: "a", digest: D1 });
  assert.equal(a, `acr.io/a/b@sha256-${"a".repeat(64)}.tar.gz`);
  assert.equal(new Set([a, b, c]).size, 3);
  assert.ok(!b.startsWith(c.replace(/\.tar\.gz$/, "")) || b === c);
  assert.equal(sidecarBlobName(a), `${a}.json`);
  assert.equal(
    tagMarkerBlobName({ registry: "acr.io", repository: "a/b", digest: D1 }, "1.0"),
    `acr.io/a/b:1.0@sha256-${"a".repeat(64)}`,
  );
  assert.equal(
    resultBlobName("run1", { registry: "acr.io", repository: "a/b", digest: D1 }),
    `runs/run1/results/acr.io/a/b@sha256-${"a".repeat(64)}.json`,
  );
  assert.throws(() => archiveBlobName({ registry: "acr.io", repository: "../x", digest: D1 }), TypeError);
});

test("a staging copy is named after its archive, under staging/, apart from every archive name", () => {
  const image = { registry: "acr.io", repository: "team/api", digest: D1 };
  const archive = archiveBlobName(image);
  assert.equal(stagingBlobName(archive), `staging/${archive}`);
  assert.deepEqual(archiveBlobIdentity(archive), image, "the image an archive name was built from");
  assert.equal(archiveBlobIdentity(stagingBlobName(archive)), undefined, "a staging name is no archive name");
  assert.equal(archiveBlobIdentity(sidecarBlobName(archive)), undefined);
  assert.throws(() => stagingBlobName(sidecarBlobName(archive)), TypeError);
  assert.throws(() => stagingBlobName("runs/x/summary.json"), TypeError);
});

test("a referrers supplement is recognised as its archive's only, and has a staging copy of its own", () => {
  const image = { registry: "acr.io", repository: "team/api", digest: D1 };
  const archive = archiveBlobName(image);
  const supplement = referrersSupplementBlobName(image, `sha256:${"c".repeat(64)}`);
  assert.equal(isReferrersSupplementOf(supplement, archive), true);
  assert.equal(stagingBlobName(supplement), `staging/${supplement}`);
  const other = archiveBlobName({ ...image, repository: "team/api2" });
  assert.equal(isReferrersSupplementOf(supplement, other), false, "another archive's name");
  assert.equal(isReferrersSupplementOf(archive, archive), false, "the archive itself");
  assert.equal(isReferrersSupplementOf(`${supplement}.json`, archive), false);
  assert.equal(isReferrersSupplementOf(supplement.replace(".tar.gz", "x.tar.gz"), archive), false);
  assert.equal(archiveBlobIdentity(supplement), undefined, "a supplement is never taken for an archive");
});

test("a tag marker's name gives back its image and tag; no other name is taken for one", () => {
  const image = { registry: "127.0.0.1:5000", repository: "team/api", digest: D1 };
  const marker = tagMarkerBlobName(image, "1.0_rc-1");
  assert.deepEqual(tagMarkerIdentity(marker), { ...image, tag: "1.0_rc-1" });
  for (const name of [
    archiveBlobName(image),
    sidecarBlobName(archiveBlobName(image)),
    `runs/x/results/${marker}`,
    marker.replace(":1.0_rc-1@", ":.bad@"),
    marker.replace("team/api", "Team/api"),
  ])
    assert.equal(tagMarkerIdentity(name), undefined, name);
});

test("claims on an archive's staging copies: one prefix for the archive and its supplements, claimants one segment", () => {
  const image = { registry: "acr.io", repository: "team/api", digest: D1 };
  const archive = archiveBlobName(image);
  const supplement = referrersSupplementBlobName(image, `sha256:${"c".repeat(64)}`);
  const run = "restore-acr-io-20260101T000000000Z-abcdef";
  assert.equal(stagingClaimBlobName(archive, run), `staging-claims/${archive}/${run}`);
  assert.equal(
    stagingClaimBlobName(supplement, run),
    `staging-claims/${archive}/${run}`,
    "a supplement's is its archive's",
  );
  assert.deepEqual(parseStagingClaimBlobName(`staging-claims/${archive}/${run}`), {
    archiveBlob: archive,
    claimant: run,
  });
  assert.equal(parseStagingClaimBlobName(`staging-claims/${archive}`), undefined);
  assert.equal(parseStagingClaimBlobName(`staging/${archive}`), undefined);
  assert.equal(archiveOfStagingBlob(stagingBlobName(archive)), archive);
  assert.equal(archiveOfStagingBlob(stagingBlobName(supplement)), archive);
  assert.equal(archiveOfStagingBlob(archive), undefined, "an archive is no staging copy");
  assert.equal(archiveOfStagingBlob(`staging/${sidecarBlobName(archive)}`), undefined);
  assert.equal(archiveBlobIdentity(stagingClaimBlobName(archive, run)), undefined, "a claim is no archive name");
  assert.throws(() => stagingClaimBlobName(archive, "a/b"), TypeError);
  assert.throws(() => stagingClaimBlobName(archive, ".."), TypeError);
});

test("a purge's records: one name per image and step under purges/, apart from archives, sidecars and tag markers (guards issue 23.6)", () => {
  const image = { registry: "ACR.io", repository: "a/b", digest: D1 };
  const names = (["brownout", "cancelled", "purged"] as const).map((step) => purgeRecordBlobName(image, step));
  assert.deepEqual(names, [
    `purges/acr.io/a/b@sha256-${"a".repeat(64)}.brownout.json`,
    `purges/acr.io/a/b@sha256-${"a".repeat(64)}.cancelled.json`,
    `purges/acr.io/a/b@sha256-${"a".repeat(64)}.purged.json`,
  ]);
  for (const name of names) {
    assert.equal(archiveBlobIdentity(name), undefined, name);
    assert.equal(parseArchiveBlobName(name), undefined, name);
    assert.equal(tagMarkerIdentity(name), undefined, name);
  }
  assert.notEqual(purgeRecordBlobName({ ...image, repository: "a__b" }, "purged"), names[2]);
  assert.throws(() => purgeRecordBlobName(image, "deleted" as "purged"), TypeError);
  assert.throws(() => purgeRecordBlobName({ ...image, repository: "../x" }, "purged"), TypeError);
  assert.throws(() => purgeRecordBlobName({ ...image, digest: "sha256:abc" }, "purged"), TypeError);
});
