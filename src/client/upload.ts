/** Uploads from the client (CSV imports): a multipart body that can report progress as it is sent. */
const UPLOAD_CHUNK_BYTES = 64 * 1024;

/**
 * A multipart/form-data body (the fields, then `file` as links.csv) streamed in chunks, reporting progress as
 * the receiver pulls them. FormData would do the encoding but cannot tell how much has been sent.
 */
export function multipartUpload(
  fields: Record<string, string>,
  file: Uint8Array,
  onUpload: ((sent: number, total: number) => void) | undefined,
): { body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>; contentType: string; length: number } {
  const boundary = `jmp-${crypto.randomUUID()}`;
  const encoder = new TextEncoder();
  const head = Object.entries(fields)
    .map(
      ([name, value]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    )
    .join("");
  const parts = [
    encoder.encode(
      `${head}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="links.csv"\r\n` +
        "Content-Type: text/csv\r\n\r\n",
    ),
    file,
    encoder.encode(`\r\n--${boundary}--\r\n`),
  ];
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return {
    body: onUpload ? chunkedUpload(whole, onUpload) : whole,
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: whole.length,
  };
}

/** `data` as a stream of chunks, telling `onUpload` how much the receiver has pulled (upload progress). */
export function chunkedUpload(
  data: Uint8Array,
  onUpload: (sent: number, total: number) => void,
): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= data.length) {
        controller.close();
        return;
      }
      const chunk = data.subarray(sent, sent + UPLOAD_CHUNK_BYTES);
      sent += chunk.length;
      controller.enqueue(chunk);
      onUpload(sent, data.length);
    },
  });
}
