// A loopback proxy in front of Azurite that hands back some blobs altered: the bytes of a read (GET) of a blob the
// test names have one byte flipped in their middle, length and headers unchanged, as storage would were it to corrupt
// an archive after its commit. Everything else, writes included, passes through untouched (Shared Key signs the path,
// not the host, so requests stay valid). It records the blobs it altered.
import { request as httpRequest } from "node:http";
import { Transform } from "node:stream";
import { close, listen } from "./loopback.js";

export interface CorruptingStorageProxy {
  /** Azurite's connection string, pointed at the proxy. */
  connectionString: string;
  /** Blob paths (`/<account>/<container>/<blob>`) whose reads were altered, one entry per read. */
  altered: string[];
  stop(): Promise<void>;
}

export async function startCorruptingStorageProxy(
  azurite: { port: number; connectionString: string },
  options: { corrupt: (blobPath: string) => boolean },
): Promise<CorruptingStorageProxy> {
  const altered: string[] = [];
  const { server, host } = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const path = decodeURIComponent(url.pathname);
    const isBlobRead = req.method === "GET" && !url.searchParams.has("comp") && options.corrupt(path);
    const upstream = httpRequest(
      { host: "127.0.0.1", port: azurite.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const length = Number(answer.headers["content-length"] ?? 0);
        if (!isBlobRead || (answer.statusCode !== 200 && answer.statusCode !== 206) || length === 0) {
          answer.pipe(res);
          return;
        }
        altered.push(path);
        const at = Math.floor(length / 2);
        let offset = 0;
        const flip = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (at >= offset && at < offset + chunk.length) {
              chunk = Buffer.from(chunk);
              chunk[at - offset]! ^= 0xff;
            }
            offset += chunk.length;
            callback(null, chunk);
          },
        });
        answer.pipe(flip).pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const port = host.split(":")[1];
  return {
    connectionString: azurite.connectionString.replace(
      `BlobEndpoint=http://127.0.0.1:${azurite.port}/`,
      `BlobEndpoint=http://127.0.0.1:${port}/`,
    ),
    altered,
    stop: () => {
      server.closeAllConnections();
      return close(server);
    },
  };
}
