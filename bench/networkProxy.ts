// The bench's network shape: a loopback HTTP proxy in front of its registry that delays every request by one round
// trip and paces each client TCP connection to a fixed rate (a token bucket per socket), as a cloud registry does:
// every request costs a round trip, one connection gets a bounded share of the bandwidth, each way: response bodies
// (pulls) and request bodies (uploads: Put Block through the proxy in front of Azurite) are paced per connection.
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface NetworkShape {
  /** Added before each request is forwarded (one round trip). */
  rttMs: number;
  /** Per TCP connection, bytes per second (MB/s × 1e6). */
  bytesPerSecond: number;
}

export interface ShapedProxy {
  host: string;
  stop: () => Promise<void>;
}

export async function startShapedProxy(upstreamHost: string, shape: NetworkShape): Promise<ShapedProxy> {
  const [upstreamName, upstreamPort] = upstreamHost.split(":") as [string, string];
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  // When each client connection may send (down) or deliver (up) its next byte: a token bucket per direction.
  const nextDown = new WeakMap<Socket, number>();
  const nextUp = new WeakMap<Socket, number>();
  const pace = async (clock: WeakMap<Socket, number>, socket: Socket, bytes: number) => {
    const now = performance.now();
    const start = Math.max(now, clock.get(socket) ?? now);
    const done = start + (bytes / shape.bytesPerSecond) * 1000;
    clock.set(socket, done);
    if (done - now > 1) await sleep(done - now);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      await sleep(shape.rttMs);
      const upstream = httpRequest(
        {
          host: upstreamName,
          port: Number(upstreamPort),
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const socket = req.socket;
          void (async () => {
            try {
              for await (const chunk of answer) {
                const bytes = chunk as Buffer;
                await pace(nextDown, socket, bytes.length);
                if (!res.write(bytes)) await new Promise((resolve) => res.once("drain", resolve));
              }
              res.end();
            } catch {
              res.destroy();
            }
          })();
        },
      );
      upstream.on("error", () => res.destroy());
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      // The request body, paced like the answers (uploads).
      void (async () => {
        try {
          for await (const chunk of req) {
            const bytes = chunk as Buffer;
            await pace(nextUp, req.socket, bytes.length);
            if (!upstream.write(bytes)) await new Promise((resolve) => upstream.once("drain", resolve));
          }
          upstream.end();
        } catch {
          upstream.destroy();
        }
      })();
    })();
  };
  const server = createServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
