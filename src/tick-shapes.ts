/**
 * Settles the shape of Node's `process.nextTick` objects before the request path runs.
 *
 * Every response makes five to seven `nextTick` calls inside Node's streams, and each builds an object literal
 * with two computed keys (`{ [async_id_symbol]: id, [trigger_async_id_symbol]: id, callback, args }`). Its two
 * id fields start as small integers; later ones arrive as heap numbers, and V8 then generalises the fields and
 * deprecates the maps the literal's inline caches had seen. Whether that happens before or after the callers are
 * optimised depends on start-up timing. In about half of all fresh processes the caches ended up in a state
 * where every one of these objects was built in V8's runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`, map
 * migrations, a heap number per id): ~3.5 µs more CPU per redirect, ~40 % of the path, for the process's whole
 * life. That was the "one fresh process in N is slower" of docs/performance.md (tenth round, with the profiles).
 *
 * Building a few such objects with fractional ids first makes the fields double-valued from the start, so no
 * later object changes their representation and the caches stay fast. The two symbols are Node's own; they are
 * read from one tick object through an async hook that is enabled for that one call. Where Node no longer
 * builds tick objects this way, nothing is done.
 */
import { createHook } from "node:async_hooks";

/** Kept reachable, so the shapes they settled are not collected with them. */
const settled: object[] = [];

/** Returns the objects that settled the shape (none where Node builds tick objects otherwise). */
export function settleTickObjectShape(): readonly object[] {
  if (settled.length > 0) return settled;
  let symbols: symbol[] = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === "TickObject" && symbols.length === 0) {
        symbols = Object.getOwnPropertySymbols(resource);
      }
    },
  });
  hook.enable();
  process.nextTick(noop);
  hook.disable();
  if (symbols.length !== 2) return settled;
  const [asyncId, triggerId] = symbols as [symbol, symbol];
  for (let i = 0; i < 8; i++) {
    settled.push({
      [asyncId]: i + 0.5,
      [triggerId]: i + 0.5,
      callback: noop,
      args: i % 2 === 0 ? undefined : [i],
    });
  }
  return settled;
}

function noop(): void {}
