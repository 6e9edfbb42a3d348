/**
 * Every link's code and, for plain links, its redirect, in typed arrays and two byte buffers: no JS object per
 * link, so a million links cost the garbage collector nothing to trace and ~60 bytes plus the text of the code
 * and of the `Location` value each (docs/performance.md, fifth round).
 *
 * - An entry is a code (known to exist, or to have existed since the table was built) and, when it is *held*,
 *   the `Location` value and expiry a plain link needs to be served without the database.
 * - Lookup is an open-addressing hash table (linear probing, at most half full) of 32-bit hashes pointing at
 *   entries; the stored code bytes are compared, so membership is exact.
 * - Codes and `Location` values are ASCII (see links/codes.ts and links/target.ts) and stored one byte a
 *   character. A code outside the code syntax is not stored (no request can ask for it); a value with a
 *   character above 0xff is not held.
 * - Entries are never removed: a changed link is released (known, not held) until its new row is read; the
 *   owner rebuilds the table to forget deleted codes. Released bytes are reclaimed by compaction.
 * - Held bytes are bounded by `maxBytes` (the whole table's memory): past it a link is known but not held, and
 *   is served through the bounded cache and the database as before.
 * - Visits of a held link are counted in the entry until the click buffer drains them (see clicks.ts).
 */
import { isValidCodeSyntax } from "../links/codes.js";
import type { ClickBatchWriter } from "./click-batch.js";
import type { ClickCounter } from "./clicks.js";
import { murmur32, slotsFor } from "./hashing.js";

/** `find`'s answer for a code that is not in the table. */
export const ABSENT = -1;

const MIN_ENTRIES = 512;
/** Bytes of the per-entry arrays: code start/length, location start/length, expiry, clicks. */
const ENTRY_BYTES = 4 + 1 + 4 + 4 + 8 + 4;
/** Bytes per slot: hash and entry. */
const SLOT_BYTES = 8;

export class LinkTable implements ClickCounter {
  /**
   * The memory a table holding `links` links needs, for ~32-character targets: what the index compares with its
   * bound before a build (link-index.ts).
   */
  static bytesFor(links: number): number {
    return slotsFor(links) * SLOT_BYTES + links * (ENTRY_BYTES + 8 + 32);
  }

  private slotHash: Uint32Array;
  private slotEntry: Int32Array;
  private mask: number;

  private entries = 0;
  private codeStart: Uint32Array;
  private codeLength: Uint8Array;
  private locationStart: Uint32Array;
  /** 0: not held. A `Location` value is never empty. */
  private locationLength: Uint32Array;
  private expiry: Float64Array;
  private clickCount: Uint32Array;
  /**
   * Entries with clicks since the last drain: the first `dirtyCount` of `dirty`, an array kept and grown by
   * doubling (a JS array rebuilt every flush was megabytes of garbage at a million links).
   */
  private dirty = new Int32Array(1024);
  private dirtyCount = 0;

  private codeBytes: Buffer;
  private codeUsed = 0;
  private locationBytes: Buffer;
  private locationUsed = 0;
  /** Location bytes of released or replaced values, reclaimed by `compact`. */
  private wasted = 0;
  private heldCount = 0;

  /**
   * @param expected links it is sized for at first (it grows by doubling beyond that)
   * @param maxBytes memory past which links are known but not held; 0 holds none
   */
  constructor(
    expected: number,
    private readonly maxBytes: number,
  ) {
    const slots = slotsFor(expected);
    this.slotHash = new Uint32Array(slots);
    this.slotEntry = new Int32Array(slots);
    this.mask = slots - 1;
    const capacity = Math.max(MIN_ENTRIES, expected);
    this.codeStart = new Uint32Array(capacity);
    this.codeLength = new Uint8Array(capacity);
    this.locationStart = new Uint32Array(capacity);
    this.locationLength = new Uint32Array(capacity);
    this.expiry = new Float64Array(capacity);
    this.clickCount = new Uint32Array(capacity);
    this.codeBytes = Buffer.allocUnsafe(Math.max(4096, expected * 8));
    // Sized for ~32-character targets, within what the bound leaves (it grows by doubling, up to the bound).
    this.locationBytes = Buffer.allocUnsafe(0);
    this.locationBytes = Buffer.allocUnsafe(
      Math.max(0, Math.min(Math.max(4096, expected * 32), maxBytes - this.bytes)),
    );
  }

  /** Hot path: the entry of `code`, or `ABSENT`. */
  find(code: string): number {
    return this.findHashed(code, hashOf(code));
  }

  private findHashed(code: string, hash: number): number {
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const stored = this.slotHash[slot]!;
      if (stored === 0) return ABSENT;
      if (stored === hash) {
        const entry = this.slotEntry[slot]!;
        if (this.codeIs(entry, code)) return entry;
      }
    }
  }

  isHeld(entry: number): boolean {
    return this.locationLength[entry] !== 0;
  }

  /** The `Location` value of a held entry (a new string each call). */
  location(entry: number): string {
    const start = this.locationStart[entry]!;
    return this.locationBytes.toString("latin1", start, start + this.locationLength[entry]!);
  }

  /** Epoch ms; `Infinity` when the link never expires. */
  expiresAt(entry: number): number {
    return this.expiry[entry]!;
  }

  code(entry: number): string {
    const start = this.codeStart[entry]!;
    return this.codeBytes.toString("latin1", start, start + this.codeLength[entry]!);
  }

  /** Adds `code` as known (not held) if it is not there; returns its entry. */
  add(code: string): number {
    // A code outside the syntax is never looked up (the redirect path answers 404 first): nothing to keep.
    if (!isValidCodeSyntax(code)) return ABSENT;
    const hash = hashOf(code);
    const found = this.findHashed(code, hash);
    if (found !== ABSENT) return found;
    if ((this.entries + 1) * 2 > this.slotHash.length) this.growSlots();
    if (this.entries === this.codeStart.length) this.growEntries();
    const entry = this.entries++;
    const start = this.reserveCode(code.length);
    writeLatin1(this.codeBytes, start, code);
    this.codeStart[entry] = start;
    this.codeLength[entry] = code.length;
    this.locationLength[entry] = 0;
    this.clickCount[entry] = 0;
    this.insert(hash, entry);
    return entry;
  }

  /**
   * Holds a plain link's redirect (adding its code if needed). False when it does not fit the memory bound or
   * cannot be stored one byte a character: the code is then known but not held.
   */
  hold(code: string, location: string, expiresAt: number): boolean {
    const entry = this.add(code);
    if (entry === ABSENT) return false;
    this.release(entry);
    const length = location.length;
    if (length === 0) return false;
    if (this.locationUsed + length > this.locationBytes.length && !this.makeRoom(length)) return false;
    if (!writeLatin1(this.locationBytes, this.locationUsed, location)) return false;
    this.locationStart[entry] = this.locationUsed;
    this.locationLength[entry] = length;
    this.locationUsed += length;
    this.expiry[entry] = expiresAt;
    this.heldCount++;
    return true;
  }

  /** Stops holding an entry's redirect (its link changed); the code stays known. */
  release(entry: number): void {
    if (entry === ABSENT) return;
    const length = this.locationLength[entry]!;
    if (length === 0) return;
    this.wasted += length;
    this.locationLength[entry] = 0;
    this.heldCount--;
  }

  /** `ClickCounter`: one visit of a held entry. */
  countClick(entry: number): boolean {
    const before = this.clickCount[entry]!;
    this.clickCount[entry] = before + 1;
    if (before !== 0) return false;
    if (this.dirtyCount === this.dirty.length) {
      const bigger = new Int32Array(2 * this.dirty.length);
      bigger.set(this.dirty);
      this.dirty = bigger;
    }
    this.dirty[this.dirtyCount++] = entry;
    return this.dirtyCount === 1;
  }

  drainClicks(into: ClickBatchWriter): void {
    const { dirty, clickCount, codeStart, codeLength } = this;
    for (let k = 0; k < this.dirtyCount; k++) {
      const entry = dirty[k]!;
      into.addBytes(this.codeBytes, codeStart[entry]!, codeLength[entry]!, clickCount[entry]!);
      clickCount[entry] = 0;
    }
    this.dirtyCount = 0;
  }

  /** Codes known. */
  get size(): number {
    return this.entries;
  }

  /** Entries whose redirect is held. */
  get held(): number {
    return this.heldCount;
  }

  /** Memory of the arrays and buffers (allocated, not only used). */
  get bytes(): number {
    return (
      this.slotHash.length * SLOT_BYTES +
      this.codeStart.length * ENTRY_BYTES +
      this.codeBytes.length +
      this.locationBytes.length
    );
  }

  private codeIs(entry: number, code: string): boolean {
    if (this.codeLength[entry] !== code.length) return false;
    const bytes = this.codeBytes;
    const start = this.codeStart[entry]!;
    for (let i = 0; i < code.length; i++) if (bytes[start + i] !== code.charCodeAt(i)) return false;
    return true;
  }

  private insert(hash: number, entry: number): void {
    let slot = hash & this.mask;
    while (this.slotHash[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slotHash[slot] = hash;
    this.slotEntry[slot] = entry;
  }

  private growSlots(): void {
    const { slotHash, slotEntry } = this;
    this.slotHash = new Uint32Array(slotHash.length * 2);
    this.slotEntry = new Int32Array(slotEntry.length * 2);
    this.mask = this.slotHash.length - 1;
    for (let slot = 0; slot < slotHash.length; slot++) {
      if (slotHash[slot] !== 0) this.insert(slotHash[slot]!, slotEntry[slot]!);
    }
  }

  private growEntries(): void {
    const capacity = this.codeStart.length * 2;
    this.codeStart = grown(this.codeStart, new Uint32Array(capacity));
    this.codeLength = grown(this.codeLength, new Uint8Array(capacity));
    this.locationStart = grown(this.locationStart, new Uint32Array(capacity));
    this.locationLength = grown(this.locationLength, new Uint32Array(capacity));
    this.expiry = grown(this.expiry, new Float64Array(capacity));
    this.clickCount = grown(this.clickCount, new Uint32Array(capacity));
  }

  private reserveCode(length: number): number {
    if (this.codeUsed + length > this.codeBytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.codeBytes.length * 2, this.codeUsed + length));
      this.codeBytes.copy(bigger, 0, 0, this.codeUsed);
      this.codeBytes = bigger;
    }
    const start = this.codeUsed;
    this.codeUsed += length;
    return start;
  }

  /**
   * Makes `length` more bytes fit in the location buffer: reclaims released bytes in place when they are at
   * least half of it, else grows it (doubling, up to the memory bound). False when it cannot.
   */
  private makeRoom(length: number): boolean {
    const current = this.locationBytes.length;
    const live = this.locationUsed - this.wasted;
    if (this.wasted * 2 >= this.locationUsed && live + length <= current) {
      this.compact(current);
      return true;
    }
    const bound = this.maxBytes - (this.bytes - current);
    const size = Math.min(Math.max(current * 2, live + length, 4096), bound);
    if (size < live + length || size <= current) return false;
    this.compact(size);
    return true;
  }

  /** Copies the held values into a buffer of `size` bytes, in entry order, dropping released ones. */
  private compact(size: number): void {
    const next = Buffer.allocUnsafe(size);
    let used = 0;
    for (let entry = 0; entry < this.entries; entry++) {
      const length = this.locationLength[entry]!;
      if (length === 0) continue;
      const start = this.locationStart[entry]!;
      this.locationBytes.copy(next, used, start, start + length);
      this.locationStart[entry] = used;
      used += length;
    }
    this.locationBytes = next;
    this.locationUsed = used;
    this.wasted = 0;
  }
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(from: T, into: T): T {
  into.set(from as never);
  return into;
}

/**
 * Writes `text` one byte a character at `at`; false (with part of it written) when a character is above 0xff.
 * A loop over short strings is several times faster than `Buffer#write` with its encoding dispatch.
 */
function writeLatin1(bytes: Buffer, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char > 0xff) return false;
    bytes[at + i] = char;
  }
  return true;
}

/** Never 0: 0 marks an empty slot. */
function hashOf(text: string): number {
  return murmur32(text, 0x9747b28c) || 1;
}
