/**
 * QR codes of short links, as SVG or PNG (the `qrcode` library). The options a caller may set are bounded so
 * that one request cannot ask for an arbitrarily large image.
 */
import QRCode from "qrcode";

export const QR_FORMATS = ["svg", "png"] as const;
export const QR_ECC_LEVELS = ["L", "M", "Q", "H"] as const;

export interface QrOptions {
  format: (typeof QR_FORMATS)[number];
  /** Image width and height in pixels. */
  size: number;
  /** Quiet zone around the code, in modules. */
  margin: number;
  ecc: (typeof QR_ECC_LEVELS)[number];
}

export const QR_LIMITS = { minSize: 64, maxSize: 2048, maxMargin: 16 } as const;
export const DEFAULT_QR: QrOptions = { format: "svg", size: 256, margin: 4, ecc: "M" };

export async function renderQr(text: string, options: QrOptions): Promise<{ body: Buffer; type: string }> {
  const common = { errorCorrectionLevel: options.ecc, margin: options.margin, width: options.size };
  if (options.format === "png") {
    return { body: await QRCode.toBuffer(text, { ...common, type: "png" }), type: "image/png" };
  }
  const svg = await QRCode.toString(text, { ...common, type: "svg" });
  return { body: Buffer.from(svg), type: "image/svg+xml" };
}

/** Query parameters (strings) → options; an invalid value is reported by name. */
export function qrOptions(query: Record<string, string | undefined>): QrOptions | string {
  const format = query.format ?? DEFAULT_QR.format;
  if (!(QR_FORMATS as readonly string[]).includes(format)) return "format must be svg or png";
  const ecc = (query.ecc ?? DEFAULT_QR.ecc).toUpperCase();
  if (!(QR_ECC_LEVELS as readonly string[]).includes(ecc)) return "ecc must be L, M, Q or H";
  const size = query.size === undefined ? DEFAULT_QR.size : Number(query.size);
  if (!Number.isInteger(size) || size < QR_LIMITS.minSize || size > QR_LIMITS.maxSize) {
    return `size must be an integer from ${QR_LIMITS.minSize} to ${QR_LIMITS.maxSize}`;
  }
  const margin = query.margin === undefined ? DEFAULT_QR.margin : Number(query.margin);
  if (!Number.isInteger(margin) || margin < 0 || margin > QR_LIMITS.maxMargin) {
    return `margin must be an integer from 0 to ${QR_LIMITS.maxMargin}`;
  }
  return { format: format as QrOptions["format"], ecc: ecc as QrOptions["ecc"], size, margin };
}

/** The short URL of a code under a base URL (no trailing slash); code segments are percent-encoded. */
export function shortUrl(base: string, code: string): string {
  return `${base}/${code.split("/").map(encodeURIComponent).join("/")}`;
}
