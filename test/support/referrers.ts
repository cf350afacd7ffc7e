// Referrer content made by hand, as cosign, notation and `oras attach` make it (no such binary here): a cosign-style
// signature (a layer with the `dev.cosignproject.cosign/signature` annotation), SBOMs and attestations as OCI 1.1
// artifact manifests with `artifactType` and `subject`. Pushed with the registry client, then listed the way a client
// would on a registry without the referrers API: the tag schema's `sha256-<hex>` index (written here, independently of
// src/), or cosign's legacy `sha256-<hex>.sig` tag. And a loopback stand-in of the tests' own that serves the OCI 1.1
// referrers API over the content really pushed through it to a real registry (Debian's distribution 2.8 has no API).
import type { IncomingMessage, Server } from "node:http";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { MediaTypes, type Descriptor } from "../../src/registry/types.js";
import { sha256Digest } from "./digests.js";
import { close, listen } from "./loopback.js";

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

export interface ReferrersApiStandIn {
  /** host:port of the stand-in: use it as the registry. */
  host: string;
  /** Requests for the referrers API it answered. */
  referrerRequests: string[];
  stop: () => Promise<void>;
}

export interface ReferrersApiOptions {
  /** Descriptors per page (Link to the next); default 2 so that paging runs. */
  pageSize?: number;
  /** Apply `?artifactType=` itself (and say so in OCI-Filters-Applied); default true. */
  filters?: boolean;
}

/**
 * A loopback registry that forwards everything to a real one (`upstream`) and adds the OCI 1.1 referrers API: every
 * manifest PUT through it with a `subject` is indexed (and answered with `OCI-Subject`), and
 * GET /v2/<name>/referrers/<digest> lists them as an OCI index, paged with Link, filtered by `artifactType`.
 */
export async function startReferrersApi(
  upstream: string,
  options: ReferrersApiOptions = {},
): Promise<ReferrersApiStandIn> {
  const pageSize = options.pageSize ?? 2;
  const filters = options.filters ?? true;
  const index = new Map<string, Descriptor[]>();
  const referrerRequests: string[] = [];
  let self = "";
  const handle = async (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const referrers = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (req.method === "GET" && referrers) {
      referrerRequests.push(`${url.pathname}${url.search}`);
      const artifactType = url.searchParams.get("artifactType");
      let all = index.get(`${referrers[1]}@${referrers[2]}`) ?? [];
      if (artifactType && filters) all = all.filter((d) => d.artifactType === artifactType);
      const start = Number(url.searchParams.get("last") ?? 0);
      const page = all.slice(start, start + pageSize);
      const headers: Record<string, string> = { "content-type": MediaTypes.ociIndex };
      if (artifactType && filters) headers["oci-filters-applied"] = "artifactType";
      if (start + pageSize < all.length) {
        const next = new URLSearchParams({ last: String(start + pageSize), ...(artifactType && { artifactType }) });
        headers.link = `<${url.pathname}?${next}>; rel="next"`;
      }
      res
        .writeHead(200, headers)
        .end(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: page }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined && !["host", "connection", "content-length", "transfer-encoding"].includes(name))
        headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    const answer = await fetch(`http://${upstream}${req.url}`, {
      method: req.method ?? "GET",
      headers,
      ...(body.length > 0 && { body }),
      redirect: "manual",
    });
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!["connection", "transfer-encoding", "keep-alive", "content-encoding"].includes(name))
        out[name] = name === "location" ? value.replace(`//${upstream}`, `//${self}`) : value;
    });
    const manifestPut = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(url.pathname);
    if (req.method === "PUT" && manifestPut && answer.ok) {
      const manifest = JSON.parse(body.toString("utf8")) as {
        mediaType?: string;
        artifactType?: string;
        config?: Descriptor;
        subject?: Descriptor;
        annotations?: Record<string, string>;
      };
      if (manifest.subject) {
        const key = `${manifestPut[1]}@${manifest.subject.digest}`;
        const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
        const descriptor: Descriptor = {
          mediaType: manifest.mediaType ?? MediaTypes.ociManifest,
          digest: sha256Digest(body),
          size: body.length,
          ...(artifactType && { artifactType }),
          ...(manifest.annotations && { annotations: manifest.annotations }),
        };
        const listed = index.get(key) ?? [];
        if (!listed.some((d) => d.digest === descriptor.digest)) listed.push(descriptor);
        index.set(key, listed);
        out["oci-subject"] = manifest.subject.digest;
      }
    }
    const bytes = Buffer.from(await answer.arrayBuffer());
    res.writeHead(answer.status, out).end(req.method === "HEAD" ? undefined : bytes);
  };
  const { server, host } = await listen((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(error));
      else res.destroy();
    });
  });
  self = host;
  return { host, referrerRequests, stop: () => close(server as Server) };
}
