/**
 * The hot path of the wire: encoding `Frame` (proto/jcl/v1/worker.proto) straight into one Buffer. Data
 * frames are written field by field, header first, in the standard protobuf wire format (any protobuf
 * decoder reads them; frame-codec.test.ts checks protobufjs does), which saves the protobufjs Writer's
 * intermediate buffer per chunk. Decoding stays with protobufjs, which validates untrusted input and returns
 * the payload as a view into the received message.
 *
 * Layout of a data frame (offsets within the gRPC message, which itself sits after a 5-byte gRPC prefix):
 *   0: 0x15 op_id(fixed32)   5: 0x1d step(fixed32)   10: 0x25 chunk(fixed32)   15: 0x0a len(varint) payload
 * With a 3-byte length varint (payloads of 16 KiB .. 2 MiB) the payload starts at 5 + 19 = 24: 4-byte aligned.
 */
import type protobuf from 'protobufjs';
import type { WireFrame } from './wire.ts';

const TAG_PAYLOAD = 0x0a; // field 1, length-delimited
const TAG_OP_ID = 0x15; // field 2, fixed32
const TAG_STEP = 0x1d; // field 3, fixed32
const TAG_CHUNK = 0x25; // field 4, fixed32

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

// One encode buffer per process, reused: grpc-js calls the serializer synchronously inside sendMessage and
// copies its result into the length-prefixed message it writes (server-interceptors.js serializeMessage),
// so the returned view is dead before the next encode. This saves a fresh 1 MiB allocation (and its page
// faults and GC) per chunk; the exact-result tests over gRPC would catch a grpc-js that deferred the copy.
let scratch = Buffer.alloc(0);

/** Write the header fields and the payload's tag and length at `out[at..]`; returns the payload offset. */
function writeHeader(out: Buffer, at: number, f: WireFrame, len: number): number {
  out[at] = TAG_OP_ID;
  out.writeUInt32LE(f.opId >>> 0, at + 1);
  out[at + 5] = TAG_STEP;
  out.writeUInt32LE(f.step >>> 0, at + 6);
  out[at + 10] = TAG_CHUNK;
  out.writeUInt32LE(f.chunk >>> 0, at + 11);
  let pos = at + 15;
  out[pos++] = TAG_PAYLOAD;
  for (let n = len; ;) {
    if (n < 0x80) {
      out[pos++] = n;
      break;
    }
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  return pos;
}

/**
 * Encode a data frame (no abort). The result is a view of a shared buffer, valid until the next call: pass
 * it only to a consumer that copies it synchronously (the gRPC serializer).
 */
export function encodeDataFrame(f: WireFrame): Buffer {
  const len = f.payload.byteLength;
  const size = 16 + varintLength(len) + len;
  if (scratch.length < size) scratch = Buffer.allocUnsafe(size);
  const out = scratch.subarray(0, size);
  out.set(f.payload, writeHeader(out, 0, f, len));
  return out;
}

/**
 * For the raw TCP data plane: the gRPC-style 5-byte message prefix plus the frame's header, to be written
 * followed by the payload itself, which then goes to the socket without a user-space copy.
 */
export function encodeFramedDataHeader(f: WireFrame): Buffer {
  const len = f.payload.byteLength;
  const headerBytes = 16 + varintLength(len);
  const out = Buffer.allocUnsafe(5 + headerBytes);
  out[0] = 0;
  out.writeUInt32BE(headerBytes + len, 1);
  writeHeader(out, 5, f, len);
  return out;
}

/** Encode any frame: the fast path for data, protobufjs for the rare abort frame. */
export function createFrameEncoder(frameType: protobuf.Type): (f: WireFrame) => Buffer {
  return (f) => {
    if (!f.abort && !f.waiting) return encodeDataFrame(f);
    const bytes = frameType.encode(f).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}
