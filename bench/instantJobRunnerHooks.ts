// Module resolution hook (node:module register): the app's job runner factory becomes the benchmark's instant one.
type Resolve = (specifier: string, context: { parentURL?: string }) => Promise<{ url: string; shortCircuit?: boolean }>;

const INSTANT = new URL("./instantJobRunner.js", import.meta.url).href;

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  next: Resolve,
): Promise<{ url: string; shortCircuit?: boolean }> {
  const resolved = await next(specifier, context);
  if (resolved.url.endsWith("/src/jobs/createJobRunner.js") && context.parentURL !== INSTANT)
    return { ...resolved, url: INSTANT, shortCircuit: true };
  return resolved;
}
