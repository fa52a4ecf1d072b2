import { describe, expect, it } from 'vitest';
import { encodeDataFrame } from './frame-codec.ts';
import { messageType } from './wire.ts';

describe('encodeDataFrame', () => {
  const Frame = messageType('Frame');

  it.each([0, 1, 127, 128, 16_384, 1 << 20])(
    'is decoded by protobufjs to the same frame (%i payload bytes)',
    (len) => {
      const payload = Uint8Array.from({ length: len }, (_, i) => (i * 7) & 255);
      const frame = { payload, opId: 4_000_000_000, step: 3, chunk: 129 };
      const decoded = Frame.toObject(Frame.decode(Buffer.from(encodeDataFrame(frame))), { defaults: true });
      expect(Buffer.compare(decoded.payload, payload)).toBe(0);
      expect({ ...decoded, payload: null }).toEqual({ ...frame, payload: null, abort: null, waiting: false });
    },
  );

  it('places a 16 KiB .. 2 MiB payload 4-byte aligned after the 5-byte gRPC prefix', () => {
    for (const len of [16_384, 1 << 20, (2 << 20) - 4]) {
      const bytes = encodeDataFrame({ payload: new Uint8Array(len), opId: 1, step: 0, chunk: 0 });
      expect((5 + bytes.byteLength - len) % 4).toBe(0);
    }
  });
});
