// Glob matching for the run filters (picomatch), and the check the configuration schema uses to reject
// a glob before a run starts.
import picomatch from "picomatch";

/** Why a glob is unusable (unbalanced brackets, braces or parentheses; whitespace), or undefined when it is fine. */
export function globProblem(glob: string): string | undefined {
  if (/\s/.test(glob)) return "contains whitespace";
  try {
    picomatch.makeRe(glob, { strictBrackets: true });
    return undefined;
  } catch (error) {
    return (error as Error).message.split("\n")[0];
  }
}

/** A predicate for a list of globs; `fallback` when the list is empty or absent. */
export function globMatcher(globs: string[] | undefined, fallback: boolean): (value: string) => boolean {
  if (!globs || globs.length === 0) return () => fallback;
  const test = picomatch(globs, { dot: true });
  return (value) => test(value);
}
