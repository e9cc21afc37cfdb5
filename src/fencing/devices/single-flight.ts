/**
 * One operation at a time per key (a BMC's host:port): an operation starts after every earlier
 * one on the same key has finished. The owner decides who shares the lanes: the fencing service
 * hands one instance to all its drivers, a CLI client has its own.
 */
export class SingleFlight {
  private readonly lanes = new Map<string, Promise<void>>();

  /**
   * Runs fn after every earlier operation on the same key has finished. An abort while waiting
   * rejects with `abortError()` and gives up the turn without running fn.
   */
  async run<T>(
    key: string,
    fn: () => Promise<T>,
    signal?: AbortSignal,
    abortError: () => Error = () => new Error('aborted while waiting for the previous operation'),
  ): Promise<T> {
    const prev = this.lanes.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.lanes.set(key, tail);
    try {
      if (signal) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(abortError());
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          prev.then(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      } else {
        await prev;
      }
      return await fn();
    } finally {
      release();
      if (this.lanes.get(key) === tail) this.lanes.delete(key);
    }
  }
}
