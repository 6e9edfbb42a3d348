/** Small text rules shared by validation code. */
import { isIP } from "node:net";

/** C0 control characters and DEL: refused in URLs, codes, config values and descriptions. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Hostile input quoted in an error message: control characters replaced, long text cut. */
export function printable(text: string, max = 64): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** An IPv4/IPv6 address, optionally with a CIDR prefix length. */
export function isIpOrCidr(text: string): boolean {
  const [address, prefix, extra] = text.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** What every answer, export, audit entry and log line shows in place of a secret. */
export const REDACTED = "[REDACTED]" as const;

/** An absolute http or https URL with a host, and nothing a header could be split with. */
export function isHttpUrl(value: string): boolean {
  if (CONTROL_CHARS.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}
