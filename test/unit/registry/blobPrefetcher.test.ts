// BlobPrefetcher (src/registry/blobPrefetcher.ts) against loopback stand-ins for a registry: blobs come out in order
// and verified whatever the parts; a registry that ignores Range (answers 200) still gives the right bytes over one
// stream per blob; a part cut short is resumed alone; corrupt bytes fail with DIGEST_MISMATCH; the bytes held never
// pass the budget plus one part; parts grow where one connection reads fast, even where each answer is slow to start.
// No timing assertions: the consumer is slowed only to let the prefetcher run ahead.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import { test } from "node:test";
import { isArchiveError } from "../../../src/errors.js";
import { BlobPrefetcher, partPlan, type BlobPrefetchOptions } from "../../../src/registry/blobPrefetcher.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { Descriptor } from "../../../src/registry/types.js";

const KiB = 1024;
const FAST_RETRY = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };
const descriptorOf = (bytes: Buffer): Descriptor => ({
  mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
  size: bytes.length,
});

interface Served {
  host: string;
  requests: { digest: string; range: string | undefined }[];
  /** Per overlong answer (options.overlong): what was written before it closed, and whether it was written whole. */
  overlongAnswers: Promise<{ digest: string; range: string | undefined; sent: number; finished: boolean }>[];
  close: () => Promise<void>;
}

/**
 * A registry of `blobs` by digest. `rangeSupport` false answers every GET with 200 and the whole blob; `serve` may
 * replace the bytes served (corruption) or cut a body short (return the number of bytes to send before the socket dies).
 */
async function serveBlobs(
  blobs: Buffer[],
  options: {
    rangeSupport?: boolean;
    cutAt?: (request: { digest: string; range: string | undefined; index: number }) => number | undefined;
    corrupt?: string;
    /** Each answer waits this long before its status line (a busy registry, a read budget's wait). */
    answerDelayMs?: number;
    /** Bytes of junk sent after an answer's own bytes (a hostile registry), written as fast as the client reads. */
    overlong?: (request: { digest: string; range: string | undefined }) => number | undefined;
    /** Blobs whose GETs are answered 200 with the whole blob, Range or not. */
    ignoreRange?: (digest: string) => boolean;
  } = {},
): Promise<Served> {
  const byDigest = new Map(blobs.map((b) => [descriptorOf(b).digest, b]));
  const requests: Served["requests"] = [];
  const overlongAnswers: Served["overlongAnswers"] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const digest = /\/blobs\/(sha256:[0-9a-f]+)$/.exec(req.url ?? "")?.[1] ?? "";
    let blob = byDigest.get(digest);
    if (!blob) return void res.writeHead(404).end();
    if (options.corrupt === digest) {
      blob = Buffer.from(blob);
      blob[blob.length - 1] ^= 0xff;
    }
    const range = req.headers.range;
    const index = requests.push({ digest, range }) - 1;
    let start = 0;
    let end = blob.length - 1;
    const honoursRange = options.rangeSupport !== false && !options.ignoreRange?.(digest);
    const m = range && honoursRange ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
    }
    const bytes = blob;
    const respond = () => {
      const body = bytes.subarray(start, end + 1);
      const junk = options.overlong?.({ digest, range });
      // An overlong answer has no Content-Length (chunked), as a registry streaming an endless body would send it.
      const headers = {
        ...(junk === undefined && { "content-length": String(body.length) }),
        "content-type": "application/octet-stream",
      };
      if (m) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${bytes.length}` });
      else res.writeHead(200, headers);
      if (junk !== undefined) {
        res.write(body);
        const chunk = Buffer.alloc(64 * KiB, 0x5a);
        let sent = body.length;
        const total = body.length + junk;
        const pump = () => {
          while (sent < total && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          if (!res.destroyed) res.end();
        };
        overlongAnswers.push(
          new Promise((resolve) =>
            res.once("close", () => resolve({ digest, range, sent, finished: res.writableFinished })),
          ),
        );
        pump();
        return;
      }
      const cut = options.cutAt?.({ digest, range, index });
      if (cut !== undefined) {
        res.write(body.subarray(0, cut), () => res.destroy());
        return;
      }
      res.end(body);
    };
    if (options.answerDelayMs) setTimeout(respond, options.answerDelayMs);
    else respond();
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    overlongAnswers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every blob through the prefetcher, in order, the consumer yielding to the event loop after each chunk. */
async function readAll(
  host: string,
  blobs: Buffer[],
  options: BlobPrefetchOptions,
): Promise<{ out: Buffer[]; prefetcher: BlobPrefetcher }> {
  const client = new RegistryClient(host, { retry: FAST_RETRY });
  const prefetcher = new BlobPrefetcher(client, "test/repo", blobs.map(descriptorOf), options);
  const out: Buffer[] = [];
  try {
    for (let i = 0; i < blobs.length; i++) {
      const chunks: Buffer[] = [];
      for await (const chunk of prefetcher.stream(i)) {
        chunks.push(chunk);
        await tick();
      }
      out.push(Buffer.concat(chunks));
    }
  } finally {
    prefetcher.close();
  }
  return { out, prefetcher };
}

test("blobs come out in order and whole, split into ranged parts fetched ahead", async () => {
  const blobs = [
    randomBytes(300 * KiB),
    randomBytes(10),
    Buffer.alloc(0),
    randomBytes(1000 * KiB),
    randomBytes(64 * KiB),
  ];
  const served = await serveBlobs(blobs);
  try {
    const { out, prefetcher } = await readAll(served.host, blobs, {
      concurrency: 4,
      budgetBytes: 512 * KiB,
      partBytes: 64 * KiB,
    });
    out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    // 5 + 1 + 1 + 16 + 1 parts, each one GET; the split blobs' parts asked with Range, the small ones without.
    assert.equal(served.requests.length, 24);
    assert.equal(prefetcher.stats.partsStarted, 24);
    assert.ok(prefetcher.stats.peakActive > 1, "parts were fetched concurrently");
    assert.equal(served.requests.filter((r) => r.range === undefined).length, 3);
    assert.equal(prefetcher.stats.rangeIgnored, false);
  } finally {
    await served.close();
  }
});

test("a registry that ignores Range (answers 200) still gives every blob's bytes, one stream per blob", async () => {
  const blobs = [randomBytes(700 * KiB), randomBytes(20 * KiB), randomBytes(900 * KiB)];
  const served = await serveBlobs(blobs, { rangeSupport: false });
  try {
    const { out, prefetcher } = await readAll(served.host, blobs, {
      concurrency: 4,
      budgetBytes: 256 * KiB,
      partBytes: 64 * KiB,
    });
    out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    assert.equal(prefetcher.stats.rangeIgnored, true);
    // One GET per blob: after the 200, the blob's other parts are never asked for.
    assert.equal(served.requests.length, 3);
    // The whole-blob stream is held to one part's bytes (plus the chunk that passed it) ahead of the reader.
    assert.ok(
      prefetcher.stats.peakBufferedBytes <= 256 * KiB + 64 * KiB + 64 * KiB,
      `buffered ${prefetcher.stats.peakBufferedBytes}`,
    );
  } finally {
    await served.close();
  }
});

test("a part cut short is resumed alone, from the byte it broke at", async () => {
  const blob = randomBytes(512 * KiB);
  const part = 64 * KiB;
  let cut = false;
  const served = await serveBlobs([blob], {
    cutAt: ({ range }) => {
      if (cut || range !== `bytes=${2 * part}-${3 * part - 1}`) return undefined;
      cut = true;
      return 10_000;
    },
  });
  try {
    const { out } = await readAll(served.host, [blob], { concurrency: 3, budgetBytes: 256 * KiB, partBytes: part });
    assert.ok(out[0]!.equals(blob));
    assert.equal(served.requests.length, 8 + 1, "eight parts and one resume");
    const resumes = served.requests.filter((r) => r.range?.startsWith(`bytes=${2 * part + 10_000}-`));
    assert.deepEqual(
      resumes.map((r) => r.range),
      [`bytes=${2 * part + 10_000}-${3 * part - 1}`],
    );
  } finally {
    await served.close();
  }
});

test("corrupt bytes in a split blob fail with DIGEST_MISMATCH", async () => {
  const blobs = [randomBytes(100 * KiB), randomBytes(400 * KiB)];
  const served = await serveBlobs(blobs, { corrupt: descriptorOf(blobs[1]!).digest });
  try {
    await assert.rejects(
      readAll(served.host, blobs, { concurrency: 4, budgetBytes: 256 * KiB, partBytes: 64 * KiB }),
      (error: unknown) => {
        assert.ok(isArchiveError(error) && error.code === "DIGEST_MISMATCH", String(error));
        return true;
      },
    );
  } finally {
    await served.close();
  }
});

test("the bytes held ahead never pass the budget plus one part, whatever the image size", async () => {
  const blobs = Array.from({ length: 12 }, (_, i) => randomBytes((i % 3) * 200 * KiB + 50 * KiB));
  const served = await serveBlobs(blobs);
  try {
    for (const budget of [0, 128 * KiB, 512 * KiB]) {
      const part = 96 * KiB;
      const { out, prefetcher } = await readAll(served.host, blobs, {
        concurrency: 6,
        budgetBytes: budget,
        partBytes: part,
      });
      out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
      assert.ok(
        prefetcher.stats.peakReservedBytes <= budget + part,
        `reserved ${prefetcher.stats.peakReservedBytes} with budget ${budget}`,
      );
      assert.ok(
        prefetcher.stats.peakBufferedBytes <= budget + part,
        `buffered ${prefetcher.stats.peakBufferedBytes} with budget ${budget}`,
      );
      if (budget === 0) assert.equal(prefetcher.stats.peakActive, 1, "no budget: one part at a time");
    }
  } finally {
    await served.close();
  }
});

test("blobs appended later (an image's referrers) are read after the first ones, in order, within the budget", async () => {
  const first = [randomBytes(200 * KiB), randomBytes(5)];
  const later = [randomBytes(300 * KiB), Buffer.alloc(0), randomBytes(70 * KiB)];
  const served = await serveBlobs([...first, ...later]);
  const client = new RegistryClient(served.host, { retry: FAST_RETRY });
  const budgetBytes = 128 * KiB;
  const partBytes = 64 * KiB;
  const prefetcher = new BlobPrefetcher(client, "test/repo", first.map(descriptorOf), {
    concurrency: 3,
    budgetBytes,
    partBytes,
  });
  try {
    // Let the first blobs be read ahead up to the budget before more are known.
    for (let i = 0; i < 1000 && prefetcher.stats.peakReservedBytes < budgetBytes; i++) await tick();
    assert.ok(prefetcher.stats.peakReservedBytes >= budgetBytes, "the first blobs were read ahead up to the budget");
    const startedBefore = prefetcher.stats.partsStarted;
    prefetcher.append(later.map(descriptorOf));
    assert.deepEqual(
      prefetcher.descriptors.map((d) => d.digest),
      [...first, ...later].map((b) => descriptorOf(b).digest),
    );
    const out: Buffer[] = [];
    for (let i = 0; i < first.length + later.length; i++) {
      const chunks: Buffer[] = [];
      for await (const chunk of prefetcher.stream(i)) chunks.push(chunk);
      out.push(Buffer.concat(chunks));
    }
    out.forEach((bytes, i) => assert.ok(bytes.equals([...first, ...later][i]!), `blob ${i}`));
    const laterDigests = new Set(later.map((b) => descriptorOf(b).digest));
    const firstLater = served.requests.findIndex((r) => laterDigests.has(r.digest));
    assert.ok(firstLater >= startedBefore, "no appended blob was asked for before the append");
    assert.ok(
      served.requests.slice(firstLater).every((r) => laterDigests.has(r.digest)),
      "the appended blobs come after every part of the first ones",
    );
    assert.ok(prefetcher.stats.peakReservedBytes <= budgetBytes + partBytes);
  } finally {
    prefetcher.close();
    await served.close();
  }
});

test("parts grow where one connection reads fast (fewer GETs), within half the budget; without maxPartBytes they do not", async () => {
  const blobs = [randomBytes(2048 * KiB), randomBytes(1024 * KiB)];
  const served = await serveBlobs(blobs);
  try {
    const part = 64 * KiB;
    const budget = 1024 * KiB;
    const grown = await readAll(served.host, blobs, {
      concurrency: 4,
      budgetBytes: budget,
      partBytes: part,
      maxPartBytes: 256 * KiB,
    });
    grown.out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    assert.ok(grown.prefetcher.stats.largestPartBytes > part, "a part took in the next ones");
    assert.ok(grown.prefetcher.stats.largestPartBytes <= 256 * KiB, "no part past maxPartBytes");
    assert.equal(grown.prefetcher.stats.streamedParts, 0, "answers come at once: parts, not streams");
    assert.ok(grown.prefetcher.stats.partsStarted < 48, `${grown.prefetcher.stats.partsStarted} GETs for 48 parts`);
    assert.ok(grown.prefetcher.stats.peakReservedBytes <= budget + part);
    const requestsGrown = served.requests.length;
    const fixed = await readAll(served.host, blobs, { concurrency: 4, budgetBytes: budget, partBytes: part });
    fixed.out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    assert.equal(fixed.prefetcher.stats.partsStarted, 48);
    assert.equal(fixed.prefetcher.stats.largestPartBytes, part);
    assert.equal(served.requests.length - requestsGrown, 48);
  } finally {
    await served.close();
  }
});

test("a request's wait before its answer is not the connection's speed: fewer GETs (grown or streamed parts) where each answer is slow to start", async () => {
  // Every answer waits 300 ms (as a read budget's wait or a busy registry does) and then comes at loopback speed.
  // Counted from the request, each 64 KiB part would read at ~0.2 MB/s and the parts would never grow (16 GETs).
  const blob = randomBytes(1024 * KiB);
  const served = await serveBlobs([blob], { answerDelayMs: 300 });
  try {
    const part = 64 * KiB;
    const { out, prefetcher } = await readAll(served.host, [blob], {
      concurrency: 4,
      budgetBytes: 1024 * KiB,
      partBytes: part,
      maxPartBytes: 256 * KiB,
    });
    assert.ok(out[0]!.equals(blob));
    assert.ok(prefetcher.stats.largestPartBytes > part, "a part took in the next ones");
    assert.ok(prefetcher.stats.partsStarted < 16, `${prefetcher.stats.partsStarted} GETs for 16 parts`);
  } finally {
    await served.close();
  }
});

test("where every answer waits and one connection is fast, the rest of a blob is one streamed GET, holding one part", async () => {
  const blobs = [randomBytes(1024 * KiB), randomBytes(1024 * KiB)];
  const served = await serveBlobs(blobs, { answerDelayMs: 300 });
  try {
    const part = 64 * KiB;
    const budget = 256 * KiB;
    const { out, prefetcher } = await readAll(served.host, blobs, {
      concurrency: 4,
      budgetBytes: budget,
      partBytes: part,
      maxPartBytes: 128 * KiB,
    });
    out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    assert.ok(prefetcher.stats.streamedParts >= 1, "a part was streamed");
    assert.ok(prefetcher.stats.partsStarted <= 10, `${prefetcher.stats.partsStarted} GETs for 32 parts`);
    assert.ok(prefetcher.stats.peakReservedBytes <= budget + part, `reserved ${prefetcher.stats.peakReservedBytes}`);
    assert.ok(prefetcher.stats.peakBufferedBytes <= budget + part, `buffered ${prefetcher.stats.peakBufferedBytes}`);
    // Every request was a Range within the blob (the streamed ones to its end).
    for (const { range } of served.requests) assert.match(range ?? "", /^bytes=\d+-\d*$/);
  } finally {
    await served.close();
  }
});

test("streamed GETs hold no more than they reserved, even where a socket's chunk is larger than a part", async () => {
  // 16 KiB parts, 64 KiB socket chunks: a streamed part takes in what fits of each chunk and waits for the rest.
  const blobs = Array.from({ length: 6 }, () => randomBytes(1024 * KiB));
  const served = await serveBlobs(blobs, { answerDelayMs: 300 });
  try {
    const part = 16 * KiB;
    const budget = 64 * KiB;
    const { out, prefetcher } = await readAll(served.host, blobs, {
      concurrency: 8,
      budgetBytes: budget,
      partBytes: part,
      maxPartBytes: 32 * KiB,
    });
    out.forEach((bytes, i) => assert.ok(bytes.equals(blobs[i]!), `blob ${i}`));
    assert.ok(prefetcher.stats.streamedParts >= 2, `${prefetcher.stats.streamedParts} streamed`);
    assert.ok(prefetcher.stats.peakReservedBytes <= budget + part, `reserved ${prefetcher.stats.peakReservedBytes}`);
    assert.ok(prefetcher.stats.peakBufferedBytes <= budget + part, `buffered ${prefetcher.stats.peakBufferedBytes}`);
  } finally {
    await served.close();
  }
});

test("a streamed GET that breaks off is resumed from the byte it broke at", async () => {
  const blob = randomBytes(1024 * KiB);
  let cut = false;
  const served = await serveBlobs([blob], {
    answerDelayMs: 300,
    // The first request for the rest of the blob (an open range past the first parts) dies after 100 KiB.
    cutAt: ({ range }) => {
      if (cut || !/^bytes=[1-9]\d*-$/.test(range ?? "")) return undefined;
      cut = true;
      return 100 * KiB;
    },
  });
  try {
    const { out, prefetcher } = await readAll(served.host, [blob], {
      concurrency: 4,
      budgetBytes: 256 * KiB,
      partBytes: 64 * KiB,
      maxPartBytes: 128 * KiB,
    });
    assert.ok(out[0]!.equals(blob));
    assert.ok(cut, "a streamed GET was cut");
    assert.ok(prefetcher.stats.streamedParts >= 1);
    const opens = served.requests.filter((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? "")).map((r) => r.range);
    assert.ok(opens.length >= 2, `resumed: ${opens.join(", ")}`);
    const start = Number(/^bytes=(\d+)-$/.exec(opens[0]!)![1]);
    assert.equal(opens[1], `bytes=${start + 100 * KiB}-`);
  } finally {
    await served.close();
  }
});

test("a part's size and whether to stream follow from one connection's speed and its request's wait", () => {
  const MiB = 1024 * KiB;
  const bounds = { concurrency: 8, partBytes: 4 * MiB, maxPartBytes: 16 * MiB, budgetBytes: 24 * MiB };
  const plan = (bytesPerSecond: number, waitSeconds: number, options = bounds) =>
    partPlan({ bytesPerSecond, waitSeconds }, options);
  // Fast connection, requests answered at once: half the budget (12 MiB), under maxPartBytes; no stream.
  assert.deepEqual(plan(200e6, 0.005), { limit: 12 * MiB, stream: false });
  assert.deepEqual(plan(200e6, 0, { ...bounds, budgetBytes: 64 * MiB }), { limit: 16 * MiB, stream: false });
  // A paced connection with a round trip's wait: 25 MB/s x 0.2 s, less than two parts (no part taken in).
  assert.deepEqual(plan(25e6, 0.02), { limit: 5e6, stream: false });
  // The same connection whose request waited 0.5 s for the read budget: 25 MB/s x 0.5 s (two parts fit, not three);
  // one stream (25 MB/s) brings less than two 12 MiB parts in flight: parts stay.
  assert.deepEqual(plan(25e6, 0.5), { limit: 12.5e6, stream: false });
  // A fast connection whose requests wait 0.3 s: one stream (200 MB/s) beats two 12 MiB parts per 0.36 s.
  assert.deepEqual(plan(200e6, 0.3), { limit: 12 * MiB, stream: true });
  // With room for 8 parts of 16 MiB in flight, the stream wins only once the wait is longer.
  const roomy = { ...bounds, budgetBytes: 256 * MiB };
  assert.equal(plan(200e6, 0.3, roomy).stream, false);
  assert.equal(plan(200e6, 1, roomy).stream, true);
  // Never below one part, never past the bounds whatever the wait; no stream where parts may not grow.
  assert.deepEqual(plan(1e3, 0), { limit: 4 * MiB, stream: false });
  assert.equal(plan(25e6, 60).limit, 12 * MiB);
  assert.equal(plan(200e6, 60, { ...bounds, maxPartBytes: 4 * MiB }).stream, false);
});

test("a registry's overlong answer is held to its part's range and one byte, and no more of it is read: SIZE_MISMATCH (guards issue 21.1)", async () => {
  // The writer is still on the first blob while the later ones are read ahead; the registry answers a 44-byte blob's
  // GET (200) and a split blob's last range (206) with their bytes and then 48 MiB more. Before the fix both were taken
  // whole into the parts' buffers.
  const first = randomBytes(256 * KiB);
  const small = randomBytes(44);
  const split = randomBytes(300 * KiB);
  const [smallDigest, splitDigest] = [small, split].map((b) => descriptorOf(b).digest);
  const part = 64 * KiB;
  const served = await serveBlobs([first, small, split], {
    overlong: ({ digest, range }) =>
      digest === smallDigest || (digest === splitDigest && range === `bytes=${4 * part}-`) ? JUNK : undefined,
  });
  const client = new RegistryClient(served.host, { retry: FAST_RETRY });
  const budget = 1024 * KiB;
  const prefetcher = new BlobPrefetcher(client, "test/repo", [first, small, split].map(descriptorOf), {
    concurrency: 4,
    budgetBytes: budget,
    partBytes: part,
  });
  try {
    // Nothing taken yet: every blob fits the budget and is read ahead; the overlong answers end without the writer.
    for (let i = 0; i < 2000 && served.overlongAnswers.length < 2; i++) await tick();
    assert.equal(served.overlongAnswers.length, 2);
    const answers = await Promise.all(served.overlongAnswers);
    assert.ok(
      prefetcher.stats.peakBufferedBytes <= budget + part,
      `held ${prefetcher.stats.peakBufferedBytes} bytes ahead (budget ${budget})`,
    );
    for (const answer of answers) {
      assert.equal(answer.finished, false, `${answer.range ?? "GET"} of ${answer.digest}: read to its end`);
      assert.ok(answer.sent < JUNK / 2, `${answer.sent} bytes of ${answer.digest} sent before the read stopped`);
    }
    assert.ok((await takeBlob(prefetcher, 0)).equals(first));
    for (const index of [1, 2]) await expectSizeMismatch(takeBlob(prefetcher, index), index);
  } finally {
    prefetcher.close();
    await served.close();
  }
});

test("an overlong answer read as it is taken (the whole-blob fallback, a streamed part) holds one part and is read no further than one byte past the blob (guards issue 21.1)", async () => {
  const part = 64 * KiB;
  const variants = [
    // A registry that ignores Range: each blob is one 200 answer, read as the writer takes it.
    {
      name: "fallback",
      options: { rangeSupport: false },
      junkFor: (range?: string) => range === `bytes=0-${part - 1}`,
    },
    // Answers that wait while one connection is fast: the rest of the blob is one streamed GET (bytes=N-).
    {
      name: "streamed",
      options: { answerDelayMs: 300 },
      junkFor: (range?: string) => /^bytes=\d+-$/.test(range ?? ""),
      maxPartBytes: 2 * part,
    },
  ];
  for (const variant of variants) {
    const first = randomBytes(256 * KiB);
    const long = randomBytes(1024 * KiB);
    const served = await serveBlobs([first, long], {
      ...variant.options,
      overlong: ({ digest, range }) =>
        digest === descriptorOf(long).digest && variant.junkFor(range) ? JUNK : undefined,
    });
    const client = new RegistryClient(served.host, { retry: FAST_RETRY });
    const budget = 256 * KiB;
    const prefetcher = new BlobPrefetcher(client, "test/repo", [first, long].map(descriptorOf), {
      concurrency: 4,
      budgetBytes: budget,
      partBytes: part,
      ...(variant.maxPartBytes && { maxPartBytes: variant.maxPartBytes }),
    });
    try {
      assert.ok((await takeBlob(prefetcher, 0)).equals(first), variant.name);
      await expectSizeMismatch(takeBlob(prefetcher, 1), 1);
      if (variant.name === "fallback") assert.equal(prefetcher.stats.rangeIgnored, true);
      else assert.ok(prefetcher.stats.streamedParts >= 1, "a part was streamed");
      assert.equal(served.overlongAnswers.length, 1, variant.name);
      // The read stops by itself (before close()): before the fix it waited for a writer that had given up.
      let timer: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        served.overlongAnswers[0]!,
        new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 10_000, undefined))),
      ]);
      clearTimeout(timer);
      assert.ok(answer, `${variant.name}: the overlong answer was still being read 10 s after the blob failed`);
      assert.equal(answer.finished, false, `${variant.name}: read to its end`);
      assert.ok(answer.sent < JUNK / 2, `${variant.name}: ${answer.sent} bytes sent before the read stopped`);
      // Held back to one part (and the chunk that passed it) ahead of the writer.
      assert.ok(
        prefetcher.stats.peakBufferedBytes <= budget + 2 * part,
        `${variant.name}: held ${prefetcher.stats.peakBufferedBytes}`,
      );
    } finally {
      prefetcher.close();
      await served.close();
    }
  }
});

const JUNK = 48 * 1024 * KiB;

async function takeBlob(prefetcher: BlobPrefetcher, index: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of prefetcher.stream(index)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function expectSizeMismatch(promise: Promise<unknown>, index: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isArchiveError(error) && error.code === "SIZE_MISMATCH", `blob ${index}: ${String(error)}`);
    return true;
  });
}
