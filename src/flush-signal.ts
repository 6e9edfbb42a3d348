/**
 * SIGUSR2: write buffered clicks and analytics events now (main.ts). The signal's default action ends the
 * process, and a server can get it while it is still loading its modules (about a second): sent to its process
 * group, or passed on by the cluster primary to a worker it has just started. So the entry point (cli/main.ts)
 * installs the handler before it loads anything else, and `serve` then says what the signal does; until then it
 * does nothing (nothing is buffered yet).
 */
let action: () => void = () => {};
let installed = false;

/** Installs the handler, doing nothing until `onFlushSignal`. */
export function guardFlushSignal(): void {
  if (installed) return;
  installed = true;
  process.on("SIGUSR2", () => action());
}

/** What SIGUSR2 does from now on. */
export function onFlushSignal(handler: () => void): void {
  guardFlushSignal();
  action = handler;
}
