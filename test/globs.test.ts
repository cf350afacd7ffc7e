// The run filters' glob matcher: picomatch's answers for the syntax we keep (picomatch is the oracle here), linear
// time on patterns that made picomatch's backtracking regexes run for seconds, and clear refusals.
import assert from "node:assert/strict";
import { test } from "node:test";
import picomatch from "picomatch";
import { globMatcher, globProblem } from "../src/globs.js";

const VALUES = ["a", "ab", "abc", "a/b", "a/b/c", "team", "team/api", "team/api/v2", "team/tmp/x", "x/team", "v1", "v1.2.3", "v1.2.3-rc1", "latest",
  "sha256-abc.sig", "a.b", ".hidden", "dir", "dir/x", "dir/x/y", "library/nginx", "1.24-alpine", "foo-bar_baz", "A-Z", "]", "a]b", "{a}", "x{a}"];
const GLOBS = ["*", "**", "a*", "*b", "a?", "a/*", "a/**", "**/c", "a/**/c", "team/*", "team/**", "*/team", "v*", "v*.*.*", "*-rc*", "v[0-9]*",
  "[a-c]b*", "{v1,latest}", "{team,x}/**", "*.sig", "dir/**", "**/x", "?", "??", "*/*", "library/{nginx,redis}", "[^v]*", "a\\*", "[]]", "a[]]b", "{a}"];

test("glob matcher agrees with picomatch (dot: true) on the syntax it keeps", () => {
  for (const glob of GLOBS) {
    assert.equal(globProblem(glob), undefined, glob);
    const ours = globMatcher([glob], false);
    const oracle = picomatch(glob, { dot: true });
    for (const value of VALUES) assert.equal(ours(value), oracle(value), `${JSON.stringify(glob)} against ${JSON.stringify(value)}`);
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

test("glob matcher is linear-time: the ReDoS pattern that froze picomatch answers at once against long values (guards issue 8.3)", { timeout: 10_000 }, () => {
  // `"*?" × 20 + "#"` against a 34-character tag took 31 s in picomatch (combinatorial backtracking). The test's own
  // timeout bounds it: a linear matcher answers in microseconds, a backtracking one would not finish.
  const evil = `${"*?".repeat(20)}#`;
  assert.equal(globProblem(evil), undefined);
  const tag = "a".repeat(128);
  assert.equal(globMatcher([evil], false)(tag), false);
  assert.equal(globMatcher([evil], false)(`${"a".repeat(40)}#`), true);
  const manyStars = `${"*a".repeat(100)}b`;
  assert.equal(globMatcher([manyStars], false)("a".repeat(256)), false);
  const globstars = `${"**/a/".repeat(20)}b`;
  assert.equal(globMatcher([globstars], false)("a/".repeat(100)), false);
  // Every repository name and tag of a large listing goes through the matcher: many calls stay cheap too.
  const match = globMatcher([evil, manyStars], false);
  for (let i = 0; i < 200; i++) match(`${"a".repeat(100)}${i}`);
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
