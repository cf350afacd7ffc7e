// The run filters' glob matcher: picomatch's answers for the syntax we keep (picomatch is the oracle here), linear
// time on patterns that made picomatch's backtracking regexes run for seconds, and clear refusals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import picomatch from "picomatch";
import { globMatcher, globProblem } from "../../src/globs.js";

const VALUES = [
  "a",
  "ab",
  "abc",
  "a/b",
  "a/b/c",
  "team",
  "team/api",
  "team/api/v2",
  "team/tmp/x",
  "x/team",
  "v1",
  "v1.2.3",
  "v1.2.3-rc1",
  "latest",
  "sha256-abc.sig",
  "a.b",
  ".hidden",
  "dir",
  "dir/x",
  "dir/x/y",
  "library/nginx",
  "1.24-alpine",
  "foo-bar_baz",
  "A-Z",
  "]",
  "a]b",
  "{a}",
  "x{a}",
];
const GLOBS = [
  "*",
  "**",
  "a*",
  "*b",
  "a?",
  "a/*",
  "a/**",
  "**/c",
  "a/**/c",
  "team/*",
  "team/**",
  "*/team",
  "v*",
  "v*.*.*",
  "*-rc*",
  "v[0-9]*",
  "[a-c]b*",
  "{v1,latest}",
  "{team,x}/**",
  "*.sig",
  "dir/**",
  "**/x",
  "?",
  "??",
  "*/*",
  "library/{nginx,redis}",
  "[^v]*",
  "a\\*",
  "[]]",
  "a[]]b",
  "{a}",
];

test("glob matcher agrees with picomatch (dot: true) on the syntax it keeps", () => {
  for (const glob of GLOBS) {
    assert.equal(globProblem(glob), undefined, glob);
    const ours = globMatcher([glob], false);
    const oracle = picomatch(glob, { dot: true });
    for (const value of VALUES)
      assert.equal(ours(value), oracle(value), `${JSON.stringify(glob)} against ${JSON.stringify(value)}`);
  }
});

test("glob matcher: a leading ! negates, a list matches when any glob does, an empty list gives the fallback", () => {
  assert.equal(globMatcher(["!v*"], false)("latest"), true);
  assert.equal(globMatcher(["!v*"], false)("v1"), false);
  assert.equal(globMatcher(["v*", "latest"], false)("latest"), true);
  assert.equal(globMatcher([], true)("x"), true);
  // A negated class (picomatch 4 answers true for `v[!0-9]*` against `v1`, which no glob reading supports).
  assert.equal(globMatcher(["v[!0-9]*"], false)("v1"), false);
  assert.equal(globMatcher(["v[!0-9]*"], false)("vx"), true);
  assert.equal(globMatcher(undefined, false)("x"), false);
});

/**
 * Runs matches in a worker thread and kills it at a deadline: node:test cannot interrupt a synchronous busy loop, so a
 * backtracking matcher would hang the run instead of failing it. Resolves the answers, or rejects past the deadline.
 */
function matchInWorker(cases: [string, string][], deadlineInMs: number): Promise<boolean[]> {
  const globsModule = new URL("../../src/globs.js", import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import(workerData.globsModule).then(({ globMatcher }) => {
      parentPort.postMessage(workerData.cases.map(([glob, value]) => globMatcher([glob], false)(value)));
    });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { globsModule, cases } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the matcher did not answer within ${deadlineInMs} ms: it backtracks`));
    }, deadlineInMs);
    worker.once("message", (answers: boolean[]) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(answers);
    });
    worker.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

test("glob matcher is linear-time: the ReDoS pattern that froze picomatch answers at once against long values (guards issue 8.3)", async () => {
  // `"*?" × 20 + "#"` against a 34-character tag took 31 s in picomatch (combinatorial backtracking). A linear matcher
  // answers all of these in milliseconds; the deadline (in a thread that is killed) is what fails a backtracking one.
  const evil = `${"*?".repeat(20)}#`;
  assert.equal(globProblem(evil), undefined);
  const manyStars = `${"*a".repeat(100)}b`;
  const globstars = `${"**/a/".repeat(20)}b`;
  const answers = await matchInWorker(
    [
      [evil, "a".repeat(34)],
      [evil, "a".repeat(128)],
      [evil, `${"a".repeat(40)}#`],
      [manyStars, "a".repeat(256)],
      [globstars, "a/".repeat(100)],
    ],
    5_000,
  );
  assert.deepEqual(answers, [false, false, true, false, false]);
});

test("the deadline check can fail: a backtracking regex (picomatch's compile of the ReDoS glob) does not answer in time", async () => {
  const evil = `${"*?".repeat(20)}#`;
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const picomatch = require("picomatch");
    parentPort.postMessage([picomatch(workerData.evil, { dot: true })("a".repeat(34))]);`;
  const answered = await new Promise<boolean>((resolve) => {
    const worker = new Worker(code, { eval: true, workerData: { evil } });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve(false);
    }, 1_000);
    worker.once("message", () => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(true);
    });
  });
  assert.equal(
    answered,
    false,
    "picomatch answered the ReDoS glob within 1 s: the linear-time test above would not catch a regression",
  );
});

test("glob problems say what is wrong (a 400 names them)", () => {
  assert.match(globProblem("[unclosed")!, /unbalanced "\["/);
  assert.match(globProblem("{a,b")!, /unbalanced "\{"/);
  assert.match(globProblem("a}")!, /unbalanced "\}"/);
  assert.match(globProblem("+(a|b)")!, /extglob/);
  assert.match(globProblem("[[:alpha:]]")!, /POSIX class/);
  assert.match(globProblem("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}")!, /more than 64 alternatives/);
  assert.match(globProblem("a b")!, /whitespace/);
  assert.match(globProblem("[z-a]")!, /out of order/);
});
