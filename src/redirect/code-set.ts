import { murmur32, slotsFor } from "./hashing.js";
import { ABSENT } from "./link-table.js";

/**
 * A set of strings stored as 64-bit fingerprints in an open-addressing hash table (two Uint32Arrays, linear
 * probing, at most half full): 16–32 bytes per code and no per-item objects for the garbage collector to trace.
 * Items cannot be removed; the owner rebuilds the set instead.
 *
 * Membership is exact up to fingerprint collisions: with n codes stored, an unknown code is taken for a known
 * one with probability about n / 2^64 (5 · 10^-14 for a million codes). A Bloom filter of the same memory
 * answers "maybe" for one unknown code in a thousand, and each of those is a database query: scans of random
 * codes would still reach the database.
 *
 * The link index keeps its codes here, and holds no link, when its memory bound cannot hold the links
 * (link-index.ts): the methods after `has` are the part of `LinkTable`'s interface that the index uses.
 */
export class CodeSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  private items = 0;

  /** @param expected items it is sized for at first; it grows by doubling beyond that. */
  constructor(expected = 0) {
    const slots = slotsFor(expected);
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Adds `item`; answers 0, the one "entry" of a set (see `find`). */
  add(item: string): number {
    if ((this.items + 1) * 2 > this.hi.length) this.grow();
    if (this.insert(murmur32(item, SEED_HI), murmur32(item, SEED_LO) || 1)) this.items++;
    return 0;
  }

  has(item: string): boolean {
    const hi = murmur32(item, SEED_HI);
    const lo = murmur32(item, SEED_LO) || 1;
    for (let slot = lo & this.mask; ; slot = (slot + 1) & this.mask) {
      const stored = this.lo[slot]!;
      if (stored === 0) return false;
      if (stored === lo && this.hi[slot] === hi) return true;
    }
  }

  /** 0 for a known code, `ABSENT` otherwise: a set has no entry per code. */
  find(code: string): number {
    return this.has(code) ? 0 : ABSENT;
  }

  /** A set holds no link. */
  isHeld(): boolean {
    return false;
  }

  /** Adds the code; a set holds no link. */
  hold(code: string): boolean {
    this.add(code);
    return false;
  }

  release(): void {}

  /** Distinct items stored. */
  get count(): number {
    return this.items;
  }

  get size(): number {
    return this.items;
  }

  get held(): number {
    return 0;
  }

  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength;
  }

  /** False when the fingerprint was already there. `lo` is never 0: 0 marks an empty slot. */
  private insert(hi: number, lo: number): boolean {
    for (let slot = lo & this.mask; ; slot = (slot + 1) & this.mask) {
      const stored = this.lo[slot]!;
      if (stored === 0) {
        this.hi[slot] = hi;
        this.lo[slot] = lo;
        return true;
      }
      if (stored === lo && this.hi[slot] === hi) return false;
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    this.mask = this.hi.length - 1;
    for (let slot = 0; slot < lo.length; slot++) if (lo[slot] !== 0) this.insert(hi[slot]!, lo[slot]!);
  }
}

/** Two seeds give the two halves of a fingerprint. */
const SEED_HI = 0x9747b28c;
const SEED_LO = 0x2545f491;
