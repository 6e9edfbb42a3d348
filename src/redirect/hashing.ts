/** What the open-addressing tables of the redirect path share (code-set.ts, link-table.ts). */

/** Slots for `expected` items at most half full: a power of two, at least twice `expected` (and at least 1024). */
export function slotsFor(expected: number): number {
  let slots = 1024;
  while (slots < expected * 2) slots *= 2;
  return slots;
}

/** MurmurHash3's mixing, one UTF-16 code unit per round. */
export function murmur32(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    let k = Math.imul(text.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= text.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
