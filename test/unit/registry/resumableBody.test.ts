// The resumable body alone (src/registry/client/resumableBody.ts), over in-memory answers: where a body breaks off or
// ends short it is asked for again from the byte it had, a 200 answer's leading bytes are dropped, nothing past the
// range and its overrun is read, and breaks without progress run out. (Over HTTP: registryClient.test.ts.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { resumableBody, type PositionedBody } from "../../../src/registry/client/resumableBody.js";
import { expectCode } from "../../support/loopback.js";

const resource = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz");

/** An answer with `resource` from `from` in chunks of `chunk` bytes, breaking off (throwing) after `breakAfter` bytes. */
function answer(
  from: number,
  options: { chunk?: number; breakAfter?: number; endAfter?: number; partial?: boolean; skip?: number } = {},
): PositionedBody & { pulled: () => number } {
  let pulled = 0;
  const chunk = options.chunk ?? 4;
  const start = from - (options.skip ?? 0);
  async function* body() {
    let sent = 0;
    for (let at = start; at < resource.length; at += chunk) {
      if (options.breakAfter !== undefined && sent >= options.breakAfter) throw new Error("socket hang up");
      if (options.endAfter !== undefined && sent >= options.endAfter) return;
      const bytes = resource.subarray(at, Math.min(resource.length, at + chunk));
      pulled++;
      sent += bytes.length;
      yield bytes;
    }
  }
  return { body: body(), skip: options.skip ?? 0, partial: options.partial ?? true, pulled: () => pulled };
}

async function read(source: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

test("a body that breaks off is asked for again from the byte it had; the reader sees each byte once, in order", async () => {
  const reopened: number[] = [];
  const bytes = resumableBody({
    first: answer(0, { breakAfter: 8 }),
    start: 0,
    end: resource.length,
    reopen: async (position) => {
      reopened.push(position);
      return answer(position, { breakAfter: 12 });
    },
    what: "the resource",
  });
  assert.equal(await read(bytes), resource.toString());
  assert.deepEqual(reopened, [8, 20, 32]);
});

test("an answer that ignores Range (a 200 from byte 0) has the bytes before the position dropped", async () => {
  const bytes = resumableBody({
    first: answer(10, { endAfter: 6 }),
    start: 10,
    end: 30,
    reopen: async (position) => answer(position, { skip: position, partial: false }),
    what: "the resource",
  });
  assert.equal(await read(bytes), resource.subarray(10, 30).toString());
});

test("nothing past the range and its overrun is taken or read further", async () => {
  const first = answer(0, { partial: false });
  const bytes = resumableBody({
    first,
    start: 0,
    end: 10,
    overrun: 1,
    reopen: () => assert.fail("not resumed"),
    what: "the resource",
  });
  assert.equal(await read(bytes), resource.subarray(0, 11).toString());
  assert.equal(first.pulled(), 3, "three chunks of four cover eleven bytes; the rest of the answer is let go");
});

test("breaks without progress run out: REGISTRY_UNREACHABLE after three resumes; short ends just end the read", async () => {
  let reopens = 0;
  await expectCode(
    read(
      resumableBody({
        first: answer(0, { breakAfter: 4 }),
        start: 0,
        end: resource.length,
        reopen: async (position) => {
          reopens++;
          return answer(position, { breakAfter: 0 });
        },
        what: "the resource",
      }),
    ),
    "REGISTRY_UNREACHABLE",
    /the resource: the download kept failing at byte 4/,
  );
  assert.equal(reopens, 3);
  reopens = 0;
  const short = resumableBody({
    first: answer(0, { endAfter: 4 }),
    start: 0,
    end: resource.length,
    reopen: async (position) => {
      reopens++;
      return answer(position, { endAfter: 0 });
    },
    what: "the resource",
  });
  assert.equal(await read(short), "0123", "the reader's verifier tells how short");
  assert.equal(reopens, 3);
});

test("a read whose signal is aborted ends with ABORTED, not a resume", async () => {
  const abort = new AbortController();
  abort.abort();
  await expectCode(
    read(
      resumableBody({
        first: answer(0, { breakAfter: 4 }),
        start: 0,
        end: resource.length,
        reopen: () => assert.fail("not resumed"),
        what: "the resource",
        abortSignal: abort.signal,
      }),
    ),
    "ABORTED",
    /the read was aborted/,
  );
});
