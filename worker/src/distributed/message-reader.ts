/**
 * Re-assembles length-prefixed messages (gRPC message framing: 1 flag byte, 4-byte big-endian length, body)
 * from a byte stream, for the raw TCP data plane. Bodies are copied once, into their own buffer placed at
 * byte offset 1 — the offset gRPC gives them (5) modulo 4 — so a data frame's payload is 4-byte aligned,
 * exactly as over gRPC (frame-codec.ts). Lengths above the limit are refused before any allocation.
 *
 * Two ways to feed it: `push` copies from chunks read elsewhere (TLS, the hello), or the socket reads
 * straight into the reader's memory (`readBuffer` says where the next bytes go, `commit` takes them):
 * the prefix into its 5 bytes, the body into its final buffer, with no copy in user space at all.
 */

const PREFIX_BYTES = 5;

export class MessageReader {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixGot = 0;
  private body: Buffer | null = null;
  private bodyGot = 0;

  /**
   * @param maxBytes current limit per message (may be changed between messages, e.g. after a handshake).
   * @param allocate returns a buffer of at least `bytes` bytes whose byteOffset is 0 (a recycled one may do).
   */
  constructor(
    public maxBytes: number,
    private readonly allocate: (bytes: number) => Buffer = (bytes) => Buffer.allocUnsafeSlow(bytes),
  ) {}

  /**
   * Feed bytes; `onMessage` runs for each completed message before the next prefix is read (so it may change
   * `maxBytes`, e.g. after a handshake). Throws on a bad prefix or an oversized message.
   */
  /**
   * Where the next bytes read from the stream belong: the rest of the prefix, or the rest of the body. Never
   * empty; valid until the next `commit`.
   */
  readBuffer(): Buffer {
    return this.body === null ? this.prefix.subarray(this.prefixGot) : this.body.subarray(this.bodyGot);
  }

  /** `n` bytes were read into `readBuffer()`; completes the prefix or the message (see `push`). */
  commit(n: number, onMessage: (body: Buffer) => void): void {
    if (this.body !== null) {
      this.bodyGot += n;
      if (this.bodyGot === this.body.length) this.deliver(onMessage);
      return;
    }
    this.prefixGot += n;
    if (this.prefixGot < PREFIX_BYTES) return;
    this.startBody();
    if (this.body!.length === 0) this.deliver(onMessage);
  }

  private startBody(): void {
    this.prefixGot = 0;
    if (this.prefix[0] !== 0)
      throw new RangeError(`message flag must be 0 (uncompressed), got ${this.prefix[0]}`);
    const len = this.prefix.readUInt32BE(1);
    if (len > this.maxBytes)
      throw new RangeError(`message of ${len} B exceeds the limit of ${this.maxBytes} B`);
    this.body = this.allocate(len + 1).subarray(1, len + 1);
    this.bodyGot = 0;
  }

  private deliver(onMessage: (body: Buffer) => void): void {
    const body = this.body!;
    this.body = null;
    onMessage(body);
  }

  push(chunk: Buffer, onMessage: (body: Buffer) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.body === null) {
        const take = Math.min(PREFIX_BYTES - this.prefixGot, chunk.length - off);
        chunk.copy(this.prefix, this.prefixGot, off, off + take);
        this.prefixGot += take;
        off += take;
        if (this.prefixGot < PREFIX_BYTES) break;
        this.startBody();
      }
      const body = this.body!;
      const take = Math.min(body.length - this.bodyGot, chunk.length - off);
      chunk.copy(body, this.bodyGot, off, off + take);
      this.bodyGot += take;
      off += take;
      if (this.bodyGot === body.length) this.deliver(onMessage);
    }
  }
}

/** The 5-byte prefix for a message of `length` bytes. */
export function messagePrefix(length: number): Buffer {
  const p = Buffer.allocUnsafe(PREFIX_BYTES);
  p[0] = 0;
  p.writeUInt32BE(length, 1);
  return p;
}
