// How the sidecar lists a referrer (src/archive/sidecar.ts): a keyless cosign signature names its signer in the
// certificate beside it; the sidecar records that identity (subject alternative name) and the issuer, and cuts long
// annotation values (the archive keeps the bytes).
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeReferrer } from "../../../src/archive/sidecar.js";
import { parseManifest, type ImageNode } from "../../../src/registry/manifestGraph.js";
import type { Referrer } from "../../../src/registry/referrers.js";
import { Annotations, MediaTypes, type ImageManifest } from "../../../src/registry/types.js";
import { selfSignedEcCertificate } from "../../../tools/localenv/certificates.js";
import { sha256Digest } from "../../support/digests.js";

test("a cosign signature's certificate gives the signer's identity and issuer; long annotations are cut at 1 KiB", async () => {
  const certificate = await selfSignedEcCertificate("sigstore-intermediate", "email:release@example.com");
  const subject = sha256Digest("image");
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: sha256Digest("{}"), size: 2 },
    layers: [
      {
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        digest: sha256Digest("payload"),
        size: 7,
        annotations: { [Annotations.cosignSignature]: "MEUCIQ==", [Annotations.cosignCertificate]: certificate.cert },
      },
    ],
    annotations: { note: "x".repeat(5000) },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const node = parseManifest(bytes, { digest: sha256Digest(bytes) }, { what: "the signature", invalid: "INTERNAL" });
  const referrer: Referrer = {
    descriptor: { mediaType: MediaTypes.ociManifest, digest: sha256Digest(bytes), size: bytes.length },
    bytes,
    node,
    subject,
    source: "cosign-tag",
    tag: `${subject.replace(":", "-")}.sig`,
    depth: 1,
    blobs: [manifest.config, ...manifest.layers],
  };
  const listed = describeReferrer(referrer);
  assert.deepEqual(listed.signatures, [
    { signature: "MEUCIQ==", identity: "email:release@example.com", certificateIssuer: "CN=sigstore-intermediate" },
  ]);
  assert.equal(listed.annotations?.note?.length, 1024);
  assert.equal(listed.tag, referrer.tag);
  assert.equal(listed.subject, subject);

  // A certificate that does not parse is no identity, and no failure.
  (node as ImageNode).layers[0]!.annotations![Annotations.cosignCertificate] = "-----BEGIN CERTIFICATE-----\nnot one\n";
  assert.deepEqual(describeReferrer(referrer).signatures, [{ signature: "MEUCIQ==" }]);
});
