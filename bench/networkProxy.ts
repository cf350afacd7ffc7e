// The bench's network shape: a loopback TCP proxy in front of its registry (or its storage) that delays what each client
// connection sends by one round trip (every request reaches the server one round trip after it was sent) and paces each
// connection to a fixed rate, each way (a token bucket per socket and direction), as a cloud service does: every request
// costs a round trip, one connection gets a bounded share of the bandwidth, for pulls and uploads alike.
// It forwards bytes and parses no HTTP: a network costs the machine's cores nothing, and the bench's two cores are
// shared by the worker, the registry, Azurite and this proxy (an HTTP-level proxy spent 30–50% of a core on 40 MiB).
import { connect, createServer, type Socket } from "node:net";

export interface NetworkShape {
  /** Added to what a client sends before the server receives it (one round trip per request). */
  rttMs: number;
  /** Per TCP connection and direction, bytes per second (MB/s × 1e6). */
  bytesPerSecond: number;
}

export interface ShapedProxy {
  host: string;
  stop: () => Promise<void>;
}

// Bytes held for one direction of one connection before its sender is paused.
const HIGH_WATER_BYTES = 1024 * 1024;

export async function startShapedProxy(upstreamHost: string, shape: NetworkShape): Promise<ShapedProxy> {
  const [upstreamName, upstreamPort] = upstreamHost.split(":") as [string, string];
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(upstreamPort), upstreamName);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.setNoDelay(true);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    shapeLink(client, upstream, shape.rttMs, shape.bytesPerSecond);
    shapeLink(upstream, client, 0, shape.bytesPerSecond);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * One direction of one connection: each chunk leaves when the link has sent the ones before it at the rate, and
 * arrives `latencyMs` later; chunks are delivered in order, one timer at a time; the sender is paused while the link is
 * more than HIGH_WATER_BYTES behind, or while the receiver's socket is full.
 */
function shapeLink(from: Socket, to: Socket, latencyMs: number, bytesPerSecond: number): void {
  const queue: { at: number; chunk: Buffer }[] = [];
  let queued = 0;
  let linkFreeAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  let blocked = false;
  const pump = () => {
    timer = undefined;
    const now = performance.now();
    while (!blocked && queue.length > 0 && queue[0]!.at <= now + 0.5) {
      const { chunk } = queue.shift()!;
      queued -= chunk.length;
      if (!to.write(chunk)) {
        blocked = true;
        to.once("drain", () => {
          blocked = false;
          pump();
        });
      }
    }
    if (queued < HIGH_WATER_BYTES && from.isPaused()) from.resume();
    if (!blocked && queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
    else if (queue.length === 0 && ended) to.end();
  };
  from.on("data", (chunk: Buffer) => {
    const now = performance.now();
    linkFreeAt = Math.max(now, linkFreeAt) + (chunk.length / bytesPerSecond) * 1000;
    queue.push({ at: linkFreeAt + latencyMs, chunk });
    queued += chunk.length;
    if (queued >= HIGH_WATER_BYTES) from.pause();
    if (timer === undefined && !blocked) timer = setTimeout(pump, Math.max(0, queue[0]!.at - now));
  });
  from.on("end", () => {
    ended = true;
    if (timer === undefined && !blocked && queue.length === 0) to.end();
  });
  // Closed without an end (reset, or stopped): what is queued is dropped, as a broken connection drops it.
  from.on("close", () => {
    if (ended) return;
    if (timer !== undefined) clearTimeout(timer);
    to.destroy();
  });
}
