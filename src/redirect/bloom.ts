/**
 * A Bloom filter of strings: "definitely absent" or "maybe present", in about 1.2 bytes per item at a 1 %
 * false-positive rate (1 000 000 codes ≈ 1.2 MB). Items cannot be removed; the owner rebuilds it instead.
 *
 * Hashing: two 32-bit FNV-1a variants over the UTF-16 code units, combined by double hashing
 * (h1 + i·h2, Kirsch–Mitzenmacher), which keeps the false-positive rate of k independent hashes.
 */
export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly size: number;
  private readonly hashes: number;
  private items = 0;

  /**
   * @param capacity items the filter is sized for; past it the false-positive rate rises (see `saturated`).
   * @param falsePositiveRate wanted rate at capacity, e.g. 0.01.
   */
  constructor(
    readonly capacity: number,
    falsePositiveRate = 0.01,
  ) {
    const n = Math.max(1, capacity);
    const bits = Math.ceil((-n * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2));
    this.size = Math.max(64, Math.ceil(bits / 32) * 32);
    this.hashes = Math.max(1, Math.round((this.size / n) * Math.LN2));
    this.bits = new Uint32Array(this.size / 32);
  }

  add(item: string): void {
    const h1 = fnv1a(item, 0x811c9dc5);
    const h2 = fnv1a(item, 0x01000193) | 1;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.size;
      this.bits[index >>> 5]! |= 1 << (index & 31);
    }
    this.items++;
  }

  /** False: the item was never added. True: it probably was. */
  has(item: string): boolean {
    const h1 = fnv1a(item, 0x811c9dc5);
    const h2 = fnv1a(item, 0x01000193) | 1;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.size;
      if ((this.bits[index >>> 5]! & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }

  /** Items added (counting repeats). */
  get count(): number {
    return this.items;
  }

  /** More items than it was sized for: time to rebuild with a larger capacity. */
  get saturated(): boolean {
    return this.items > this.capacity;
  }

  get bytes(): number {
    return this.bits.byteLength;
  }
}

function fnv1a(text: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Final avalanche (from murmur3's fmix32): FNV alone leaves the low bits of short keys poorly mixed.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
