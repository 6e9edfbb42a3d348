/** Link codes may contain `/`; each segment is encoded, the slashes kept (as the server's routes expect). */
export function encodeCode(code: string): string {
  return code.split("/").map(encodeURIComponent).join("/");
}
