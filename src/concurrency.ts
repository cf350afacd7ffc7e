// Bounded concurrency over a list: at most `limit` calls in flight, results in the input's order. The first failure
// stops new calls from starting and is thrown once those in flight have settled (nothing is left running behind).

export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be ≥ 1, got ${limit}`);
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * Every call runs (at most `limit` at once) and each outcome is kept in the input's order, failures too: for lookups
 * whose results are then checked one by one, so that what is thrown is what a sequential loop would have thrown.
 */
export async function settleConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  return mapConcurrent(items, limit, (item, index) =>
    fn(item, index).then(
      (value): PromiseSettledResult<R> => ({ status: "fulfilled", value }),
      (reason: unknown): PromiseSettledResult<R> => ({ status: "rejected", reason }),
    ),
  );
}

/** The value of a settled outcome, or its failure thrown. */
export function settledValue<R>(outcome: PromiseSettledResult<R>): R {
  if (outcome.status === "rejected") throw outcome.reason;
  return outcome.value;
}
