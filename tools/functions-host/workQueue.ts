// A FIFO of async jobs with a concurrency cap: activities run in-process like the extension's
// maxConcurrentActivityFunctions, never more than `limit` at once, the rest waiting in order.

export class WorkQueue<T> {
  private readonly pending: T[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly run: (item: T) => Promise<void>,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`concurrency limit must be a positive integer, got ${limit}`);
  }

  get size(): number {
    return this.pending.length + this.running;
  }

  enqueue(item: T): void {
    if (this.closed) return;
    this.pending.push(item);
    this.pump();
  }

  /** Drops waiting work; jobs already running finish on their own. */
  close(): void {
    this.closed = true;
    this.pending.length = 0;
  }

  private pump(): void {
    while (this.running < this.limit && this.pending.length > 0) {
      const item = this.pending.shift() as T;
      this.running++;
      void this.run(item)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
