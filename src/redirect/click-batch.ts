/**
 * Builds a flush's ClickBatch without a JS object per code. Under uniform load at a million links a flush carries
 * ~200 000 codes: as an array of code strings, the arrays that grew to hold them, and the string they were joined
 * into for the writer thread, that was ~20 MB of garbage a flush on the event loop's heap, much of it in the
 * large-object space that only a full GC frees (docs/performance.md, twelfth round). Here the codes are copied
 * as bytes (the link index keeps them so) into one buffer kept from flush to flush, and become one string once.
 */
import { CODE_LIST_SEPARATOR, type ClickBatch } from "../store/clicks.js";

const SEPARATOR = CODE_LIST_SEPARATOR.charCodeAt(0);

export class ClickBatchWriter {
  private bytes = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private counts = new Float64Array(4096);
  private size = 0;

  /** Adds a code held as a string (codes are ASCII: links/codes.ts). */
  add(code: string, clicks: number): void {
    this.reserve(code.length);
    this.used += this.bytes.write(code, this.used, "latin1");
    this.bytes[this.used++] = SEPARATOR;
    this.counts[this.size++] = clicks;
  }

  /** Adds a code held as bytes (the link index's): `length` bytes of `source` from `start`. */
  addBytes(source: Buffer, start: number, length: number, clicks: number): void {
    this.reserve(length);
    this.used += source.copy(this.bytes, this.used, start, start + length);
    this.bytes[this.used++] = SEPARATOR;
    this.counts[this.size++] = clicks;
  }

  /** The batch of everything added since the last take; the writer starts over (its memory is kept). */
  take(hour: number, stats: boolean): ClickBatch {
    // Without the last separator; an empty batch is the empty list.
    const codeList = this.bytes.toString("latin1", 0, Math.max(0, this.used - 1));
    const batch: ClickBatch = { codeList, counts: this.counts.slice(0, this.size), hour, stats };
    this.used = 0;
    this.size = 0;
    return batch;
  }

  private reserve(codeLength: number): void {
    if (this.used + codeLength + 1 > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.used + codeLength + 1));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    if (this.size === this.counts.length) {
      const bigger = new Float64Array(2 * this.counts.length);
      bigger.set(this.counts);
      this.counts = bigger;
    }
  }
}
