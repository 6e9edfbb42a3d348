import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { settleTickObjectShape } from "./tick-shapes.js";

setFlagsFromString("--allow-natives-syntax");
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

/** The tick object Node builds for one `process.nextTick` call. */
function tickObjectOf(schedule: () => void): object {
  let found: object | undefined;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === "TickObject") found ??= resource as object;
    },
  });
  hook.enable();
  schedule();
  hook.disable();
  assert.ok(found, "process.nextTick built no TickObject");
  return found;
}

describe("tick object shape", () => {
  it("builds objects of the very map Node's nextTick objects have, so settling them applies to Node's", () => {
    const settled = settleTickObjectShape();
    // If Node changes the literal (keys, order), this fails: the work-around no longer reaches its objects.
    assert.equal(settled.length, 8);
    const withArgs = tickObjectOf(() => process.nextTick(() => {}, 1));
    assert.ok(haveSameMap(withArgs, settled[1]!), "a nextTick object with arguments has another map");
    const withoutArgs = tickObjectOf(() => process.nextTick(() => {}));
    assert.ok(haveSameMap(withoutArgs, settled[0]!), "a nextTick object without arguments has another map");
  });

  it("is settled once: a second call returns the same objects", () => {
    assert.equal(settleTickObjectShape(), settleTickObjectShape());
  });
});
