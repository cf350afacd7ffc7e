// The registry read budget (src/registry/transport.ts RequestBudget, a token bucket) on a fake clock, and the client's
// requests measured against it over loopback: every request to the registry, token requests and 429 retries
// included, takes from the budget and is counted; a catalog page continues by repository name.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Server } from "node:http";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { RequestBudget } from "../../../src/registry/transport.js";
import { close, expectCode, FAST_RETRY, listen } from "../../support/loopback.js";

function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    advance: (ms: number) => void (now += ms),
    waits,
  };
}

describe("RequestBudget", () => {
  test("a burst of one second's worth goes at once; then each request waits for its token, in arrival order", async () => {
    const clock = fakeClock();
    const budget = new RequestBudget(600, { now: clock.now, sleep: clock.sleep }); // 10 a second
    for (let i = 0; i < 10; i++) await budget.take();
    assert.deepEqual(clock.waits, [], "the burst (10) does not wait");
    // Three at once on an empty bucket: each reserves the next token, 100, 200 and 300 ms out.
    const waits: number[] = [];
    const concurrent = new RequestBudget(600, { now: clock.now, burst: 1, sleep: async (ms) => void waits.push(ms) });
    await concurrent.take();
    await Promise.all([concurrent.take(), concurrent.take(), concurrent.take()]);
    assert.deepEqual(waits.map(Math.round), [100, 200, 300]);
  });

  test("the bucket refills with time, never beyond its burst", async () => {
    const clock = fakeClock();
    const budget = new RequestBudget(60, { now: clock.now, sleep: clock.sleep, burst: 2 }); // 1 a second
    await budget.take();
    await budget.take();
    clock.advance(10_000); // ten seconds: refilled to 2, not 10
    await budget.take();
    await budget.take();
    assert.deepEqual(clock.waits, []);
    await budget.take();
    assert.deepEqual(clock.waits.map(Math.round), [1000]);
  });

  test("an aborted wait gives its token back and fails with ABORTED", async () => {
    const clock = fakeClock();
    const budget = new RequestBudget(60, {
      now: clock.now,
      burst: 1,
      sleep: async () => {
        throw new Error("aborted");
      },
    });
    await budget.take();
    await expectCode(budget.take(new AbortController().signal), "ABORTED");
    clock.advance(1000);
    // One token refilled, and the aborted request's reservation was returned: no wait.
    await new RequestBudget(60, { now: clock.now, burst: 1, sleep: clock.sleep }).take();
    assert.deepEqual(clock.waits, []);
  });

  test("a budget must be positive", () => {
    assert.throws(() => new RequestBudget(0), RangeError);
  });
});

describe("the client's requests against the budget (loopback)", () => {
  let server: Server;
  let host: string;
  let throttleNext = 1;
  const seen: string[] = [];

  before(async () => {
    ({ server, host } = await listen((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname === "/token")
        return void res.writeHead(200).end(JSON.stringify({ token: "t", expires_in: 300 }));
      if (!req.headers.authorization) {
        return void res
          .writeHead(401, { "www-authenticate": `Bearer realm="http://${host}/token",service="loop"` })
          .end();
      }
      if (url.pathname === "/v2/_catalog") {
        if (throttleNext > 0) {
          throttleNext--;
          return void res.writeHead(429, { "retry-after": "0" }).end();
        }
        const last = url.searchParams.get("last");
        if (last === "stuck") {
          // A registry that ignores `last`: the same page and the same next again.
          return void res
            .writeHead(200, { link: `</v2/_catalog?n=2&last=stuck>; rel="next"` })
            .end(JSON.stringify({ repositories: ["a", "stuck"] }));
        }
        if (!last)
          return void res
            .writeHead(200, { link: `</v2/_catalog?n=2&last=b>; rel="next"` })
            .end(JSON.stringify({ repositories: ["a", "b"] }));
        return void res.writeHead(200).end(JSON.stringify({ repositories: ["c"] }));
      }
      res.writeHead(404).end();
    }));
  });
  after(() => close(server));

  test("token request, 401, 429 and its retry: each sent request takes from the budget and is counted", async () => {
    let taken = 0;
    const budget = { take: async () => void taken++ };
    const client = new RegistryClient(host, { budget, retry: FAST_RETRY });
    let counted = 0;
    seen.length = 0;
    throttleNext = 1;
    const page = await client.listRepositoryPage({ pageSize: 2, onRequest: () => void counted++ });
    assert.deepEqual(page, { repositories: ["a", "b"], next: "b" });
    // GET (401) → token → GET (429) → GET (200)
    assert.equal(seen.length, 4, JSON.stringify(seen));
    assert.deepEqual([taken, counted, client.requestsSent], [4, 4, 4]);
    const last = await client.listRepositoryPage({ pageSize: 2, after: "b", onRequest: () => void counted++ });
    assert.deepEqual(last, { repositories: ["c"] }, "no next: the catalog ends");
    assert.deepEqual([taken, counted, client.requestsSent], [5, 5, 5], "the token is cached: one request");
    assert.equal(seen.at(-1), "GET /v2/_catalog?n=2&last=b");
  });

  test("a catalog that does not move past its continuation stops with REGISTRY_ERROR", async () => {
    const client = new RegistryClient(host, { retry: FAST_RETRY });
    throttleNext = 0;
    await expectCode(
      client.listRepositoryPage({ pageSize: 2, after: "stuck" }),
      "REGISTRY_ERROR",
      /does not move past stuck/,
    );
  });
});
