/**
 * Re-assembles length-prefixed messages (gRPC message framing: 1 flag byte, 4-byte big-endian length, body)
 * from a byte stream, for the raw TCP data plane. Bodies are copied once, into their own buffer placed at
 * byte offset 1 — the offset gRPC gives them (5) modulo 4 — so a data frame's payload is 4-byte aligned,
 * exactly as over gRPC (frame-codec.ts). Lengths above the limit are refused before any allocation.
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
  push(chunk: Buffer, onMessage: (body: Buffer) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.body === null) {
        const take = Math.min(PREFIX_BYTES - this.prefixGot, chunk.length - off);
        chunk.copy(this.prefix, this.prefixGot, off, off + take);
        this.prefixGot += take;
        off += take;
        if (this.prefixGot < PREFIX_BYTES) break;
        this.prefixGot = 0;
        if (this.prefix[0] !== 0)
          throw new RangeError(`message flag must be 0 (uncompressed), got ${this.prefix[0]}`);
        const len = this.prefix.readUInt32BE(1);
        if (len > this.maxBytes)
          throw new RangeError(`message of ${len} B exceeds the limit of ${this.maxBytes} B`);
        this.body = this.allocate(len + 1).subarray(1, len + 1);
        this.bodyGot = 0;
      }
      const take = Math.min(this.body.length - this.bodyGot, chunk.length - off);
      chunk.copy(this.body, this.bodyGot, off, off + take);
      this.bodyGot += take;
      off += take;
      if (this.bodyGot === this.body.length) {
        const body = this.body;
        this.body = null;
        onMessage(body);
      }
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
