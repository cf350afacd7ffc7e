// A loopback registry with N synthetic images (repositories × tags, one digest each) for the scale benchmark:
// just the distribution API calls a listing makes (_catalog and tags/list with Link paging, HEAD manifests).
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";

export interface SyntheticRegistry {
  host: string;
  stop: () => Promise<void>;
}

export async function startSyntheticRegistry(
  repositories: number,
  tagsPerRepository: number,
): Promise<SyntheticRegistry> {
  const repos = Array.from({ length: repositories }, (_, i) => `synthetic/repo${String(i).padStart(4, "0")}`);
  const tags = Array.from({ length: tagsPerRepository }, (_, i) => `v${String(i).padStart(4, "0")}`);
  const page = <T>(items: T[], url: URL) => {
    const n = Number(url.searchParams.get("n") ?? 100);
    const last = url.searchParams.get("last");
    const start = last ? items.findIndex((i) => String(i) === last) + 1 : 0;
    return { items: items.slice(start, start + n), more: start + n < items.length };
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    if (path === "/v2/") return void res.writeHead(200).end("{}");
    if (path === "/v2/_catalog") {
      const { items, more } = page(repos, url);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (more)
        headers.link = `</v2/_catalog?n=${url.searchParams.get("n") ?? 100}&last=${items[items.length - 1]}>; rel="next"`;
      return void res.writeHead(200, headers).end(JSON.stringify({ repositories: items }));
    }
    const tagsMatch = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tagsMatch) {
      const { items, more } = page(tags, url);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (more)
        headers.link = `</v2/${tagsMatch[1]}/tags/list?n=${url.searchParams.get("n") ?? 100}&last=${items[items.length - 1]}>; rel="next"`;
      return void res.writeHead(200, headers).end(JSON.stringify({ name: tagsMatch[1], tags: items }));
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest && req.method === "HEAD") {
      const digest = `sha256:${createHash("sha256").update(`${manifest[1]}:${manifest[2]}`).digest("hex")}`;
      return void res
        .writeHead(200, {
          "docker-content-digest": digest,
          "content-type": "application/vnd.oci.image.manifest.v1+json",
        })
        .end();
    }
    res
      .writeHead(404, { "content-type": "application/json" })
      .end(JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "not here" }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  return { host: `127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
