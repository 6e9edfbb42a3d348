/**
 * How the server's SQLite connection and the writer threads of its process share the write lock fairly.
 *
 * The server's connection waits for the lock on a timer (BusyRetryingConnection in db.ts), so a writer thread
 * that commits transaction after transaction would leave it only the instants between two of them: an admin
 * write would wait for a whole click flush (hundreds of ms at a million links). Instead the connection counts
 * itself here while it waits, and the writer thread, between two of its transactions, pauses while the count is
 * not zero (a bounded pause: a waiter that vanished cannot stall the writes).
 */

/** One Int32: the statements of this process's event loop waiting for SQLite's write lock. */
export const writeLockWaiters = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

/** The event loop's statement met the lock: writer threads pause at their next transaction's end. */
export function startWaiting(): void {
  Atomics.add(writeLockWaiters, 0, 1);
}

/** The statement got through (or gave up): wakes a writer thread paused for it. */
export function stopWaiting(): void {
  Atomics.sub(writeLockWaiters, 0, 1);
  Atomics.notify(writeLockWaiters, 0);
}

/**
 * Writer thread, between two transactions: blocks while a statement of the event loop waits for the lock, at
 * most `maxMs`. The event loop retries within 16 ms (db.ts), so it takes the lock during the pause; the writer's
 * next transaction then waits in SQLite's busy handler, on the writer's thread.
 */
export function pauseForWaiters(waiters: Int32Array, maxMs: number): void {
  const deadline = Date.now() + maxMs;
  for (let count = Atomics.load(waiters, 0); count > 0; count = Atomics.load(waiters, 0)) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    Atomics.wait(waiters, 0, count, left);
  }
}
