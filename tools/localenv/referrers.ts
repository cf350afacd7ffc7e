// Referrer content made by hand, as cosign, notation and `oras attach` make it (no such binary here): a cosign-style
// signature (a layer with the `dev.cosignproject.cosign/signature` annotation), SBOMs and attestations as OCI 1.1
// artifact manifests with `artifactType` and `subject`. Pushed with the registry client, then listed the way a client
// would on a registry without the referrers API: the tag schema's `sha256-<hex>` index (written here, independently of
// src/), or cosign's legacy `sha256-<hex>.sig` tag. The tests use them (test/support/referrers.ts) and so does the demo.
import { createHash } from "node:crypto";
import type { RegistryClient } from "../../src/registry/registryClient.js";
import { MediaTypes, type Descriptor } from "../../src/registry/types.js";

const sha256Digest = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export const ArtifactTypes = {
  sbom: "application/spdx+json",
  attestation: "application/vnd.in-toto+json",
  signature: "application/vnd.dev.cosign.artifact.sig.v1+json",
} as const;

export interface ReferrerSpec {
  /** What it refers to: OCI 1.1 `subject` (omitted for a cosign legacy signature, whose tag names it). */
  subject?: Descriptor;
  artifactType?: string;
  layers: { mediaType: string; data: Buffer; annotations?: Record<string, string> }[];
  annotations?: Record<string, string>;
  /** Push under this tag (cosign's `sha256-<hex>.sig`); default by digest. */
  tag?: string;
  /** A config of its own (cosign's legacy signatures have an image config); default the OCI empty config. */
  config?: { mediaType: string; data: Buffer };
}

export interface PushedReferrer {
  descriptor: Descriptor;
  bytes: Buffer;
  blobs: Descriptor[];
}

/** Pushes a referrer's blobs and manifest (exact bytes) and returns its descriptor (with artifactType, annotations). */
export async function pushReferrer(
  client: RegistryClient,
  repository: string,
  spec: ReferrerSpec,
): Promise<PushedReferrer> {
  const config = spec.config ?? { mediaType: "application/vnd.oci.empty.v1+json", data: Buffer.from("{}") };
  const configDescriptor = { mediaType: config.mediaType, digest: sha256Digest(config.data), size: config.data.length };
  const layers = spec.layers.map((l) => ({
    mediaType: l.mediaType,
    digest: sha256Digest(l.data),
    size: l.data.length,
    ...(l.annotations && { annotations: l.annotations }),
  }));
  for (const [descriptor, data] of [
    [configDescriptor, config.data],
    ...spec.layers.map((l, i) => [layers[i]!, l.data] as const),
  ] as const)
    if (!(await client.blobExists(repository, descriptor.digest)))
      await client.uploadBlob(repository, descriptor, data);
  const subject = spec.subject && {
    mediaType: spec.subject.mediaType,
    digest: spec.subject.digest,
    size: spec.subject.size,
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    ...(spec.artifactType && { artifactType: spec.artifactType }),
    config: configDescriptor,
    layers,
    ...(subject && { subject }),
    ...(spec.annotations && { annotations: spec.annotations }),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256Digest(bytes);
  await client.putManifest(repository, spec.tag ?? digest, MediaTypes.ociManifest, bytes);
  const artifactType = spec.artifactType ?? config.mediaType;
  return {
    descriptor: {
      mediaType: MediaTypes.ociManifest,
      digest,
      size: bytes.length,
      artifactType,
      ...(spec.annotations && { annotations: spec.annotations }),
    },
    bytes,
    blobs: [configDescriptor, ...layers],
  };
}

/** Writes the referrers tag schema's index `sha256-<hex>` of `subject`: an OCI index of its referrers' descriptors. */
export async function putTagSchemaIndex(
  client: RegistryClient,
  repository: string,
  subject: string,
  referrers: Descriptor[],
): Promise<void> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: referrers }));
  await client.putManifest(repository, subject.replace(":", "-"), MediaTypes.ociIndex, bytes);
}

/** A cosign-style signature of `subject` under cosign's legacy tag `sha256-<hex>.sig`, with a made-up identity. */
export function cosignSignature(subject: string, identity = "signer@example.com"): ReferrerSpec {
  const payload = Buffer.from(
    JSON.stringify({
      critical: { identity: { "docker-reference": "x" }, image: { "docker-manifest-digest": subject } },
    }),
  );
  return {
    tag: `${subject.replace(":", "-")}.sig`,
    config: { mediaType: MediaTypes.ociConfig, data: Buffer.from(JSON.stringify({ architecture: "", os: "" })) },
    layers: [
      {
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        data: payload,
        annotations: {
          "dev.cosignproject.cosign/signature": Buffer.from(`signature-of-${subject}-by-${identity}`).toString(
            "base64",
          ),
        },
      },
    ],
  };
}

/** An SBOM or attestation artifact (OCI 1.1) of `subject`. */
export function artifactOf(subject: Descriptor, artifactType: string, content: string): ReferrerSpec {
  return {
    subject,
    artifactType,
    layers: [{ mediaType: artifactType, data: Buffer.from(content) }],
    annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
  };
}
