// Azurite rehydrates an Archive-tier copy at once; Azure takes hours. This loopback proxy in front of Azurite makes a
// staging copy (`staging/…`) look pending for its first `pendingPolls` property reads, with the headers Azure sends
// while it rehydrates (x-ms-copy-status: pending, x-ms-archive-status: rehydrate-pending-to-hot, x-ms-access-tier:
// Archive), and refuses to serve its body until then (409 BlobArchived, as Azure does). It counts the copies started into
// each staging blob, and can hold a staging blob's reads until the test lets each one through (to order two restores'
// reads of one copy). Everything else passes through untouched (Shared Key signs the path, not the host, so requests
// stay valid).
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { close, listen } from "./loopback.js";

export interface RehydrationProxy {
  /** Azurite's connection string, pointed at the proxy. */
  connectionString: string;
  /** Property reads (HEAD) of each staging blob answered as pending so far, by blob path. */
  pendingAnswers: Map<string, number>;
  /** Staging blob paths (`/<account>/<container>/staging/…`) that stay pending whatever the count: a copy that never ends. */
  pendingForever: Set<string>;
  /** Copies started into each staging blob (Copy Blob: a PUT with x-ms-copy-source), by blob path. */
  copiesStarted: Map<string, number>;
  /** From now on, reads (GET) of this staging blob path wait here until let through. */
  holdReads(path: string): void;
  /** Reads of this path waiting now. */
  heldReads(path: string): number;
  /** Lets the oldest waiting read of this path through. */
  releaseRead(path: string): void;
  /** Lets every waiting read of this path through and holds none from now on. */
  releaseReads(path: string): void;
  stop(): Promise<void>;
}

export async function startRehydrationProxy(
  azurite: { port: number; connectionString: string },
  options: { pendingPolls: number },
): Promise<RehydrationProxy> {
  const pendingAnswers = new Map<string, number>();
  const pendingForever = new Set<string>();
  const copiesStarted = new Map<string, number>();
  const held = new Map<string, (() => void)[]>();
  const stillPending = (path: string) =>
    pendingForever.has(path) || (pendingAnswers.get(path) ?? 0) < options.pendingPolls;
  const { server, host } = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const path = decodeURIComponent(url.pathname);
    const staging = /^\/[^/]+\/[^/]+\/staging\//.test(path);
    const isBlobRead = staging && !url.searchParams.has("comp");
    if (isBlobRead && req.method === "GET" && stillPending(path)) {
      res.writeHead(409, { "x-ms-error-code": "BlobArchived", "content-type": "application/xml" });
      res.end(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobArchived</Code><Message>This operation is not permitted on an archived blob.</Message></Error>',
      );
      return;
    }
    const isCopy = staging && req.method === "PUT" && !!req.headers["x-ms-copy-source"];
    const waiting = isBlobRead && req.method === "GET" ? held.get(path) : undefined;
    if (waiting) waiting.push(forward);
    else forward();

    function forward() {
      const upstream = httpRequest(
        { host: "127.0.0.1", port: azurite.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const headers: IncomingHttpHeaders = { ...answer.headers };
          if (isBlobRead && req.method === "HEAD" && answer.statusCode === 200 && stillPending(path)) {
            pendingAnswers.set(path, (pendingAnswers.get(path) ?? 0) + 1);
            headers["x-ms-copy-status"] = "pending";
            headers["x-ms-archive-status"] = "rehydrate-pending-to-hot";
            headers["x-ms-access-tier"] = "Archive";
            headers["x-ms-copy-progress"] = `0/${answer.headers["content-length"] ?? "0"}`;
          }
          // Started, not refused (a second restore's If-None-Match: * copy gets 409 and reads the first one's).
          if (isCopy && answer.statusCode === 202) copiesStarted.set(path, (copiesStarted.get(path) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    }
  });
  const port = host.split(":")[1];
  return {
    connectionString: azurite.connectionString.replace(
      `BlobEndpoint=http://127.0.0.1:${azurite.port}/`,
      `BlobEndpoint=http://127.0.0.1:${port}/`,
    ),
    pendingAnswers,
    pendingForever,
    copiesStarted,
    holdReads: (path) => void held.set(path, held.get(path) ?? []),
    heldReads: (path) => held.get(path)?.length ?? 0,
    releaseRead: (path) => held.get(path)?.shift()?.(),
    releaseReads: (path) => {
      const waiting = held.get(path) ?? [];
      held.delete(path);
      for (const forward of waiting) forward();
    },
    stop: () => {
      server.closeAllConnections();
      return close(server);
    },
  };
}
