// The referrer content the tests push (tools/localenv/referrers.ts: cosign-style signatures, SBOMs, attestations, the
// tag schema's index), and a loopback stand-in of the tests' own that serves the OCI 1.1 referrers API over the content
// really pushed through it to a real registry (Debian's distribution 2.8 has no API).
import type { IncomingMessage, Server } from "node:http";
import { sha256Digest } from "./digests.js";
import { MediaTypes, type Descriptor } from "../../src/registry/types.js";
import { close, listen } from "./loopback.js";

export {
  ArtifactTypes,
  artifactOf,
  cosignSignature,
  pushReferrer,
  putTagSchemaIndex,
  type PushedReferrer,
  type ReferrerSpec,
} from "../../tools/localenv/referrers.js";

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
