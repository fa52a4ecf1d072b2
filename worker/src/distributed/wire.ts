/**
 * The protobuf contract (proto/jcl/v1/worker.proto) loaded at runtime with protobufjs, and grpc-js service
 * definitions built from it. Serializers check sizes before decoding and decoders reject malformed input
 * with an Error (grpc-js turns it into a failed call, never a crashed process).
 */
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { createFrameEncoder } from './frame-codec.ts';

const PROTO_PATH = fileURLToPath(new URL('../../../proto/jcl/v1/worker.proto', import.meta.url));

/** Largest accepted control message (Join, Barrier, Subscribe, Status): generous, and far below a chunk. */
export const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024;
/**
 * Largest StatusResponse: it carries the refusal counts of every rank with refusals, at most 6 reasons per
 * rank, so 4096 ranks (JCL_WORLD_SIZE's limit) all refusing for every reason fit: 0.69 MB with counts near
 * 2^53 (dist-grpc.test.ts "the status endpoint").
 */
export const MAX_STATUS_RESPONSE_BYTES = 1024 * 1024;

const root = protobuf.loadSync(PROTO_PATH);

/** Look up a message type by its short name in package jcl.v1. */
export function messageType(name: string): protobuf.Type {
  return root.lookupType(`jcl.v1.${name}`);
}

export interface JoinRequest {
  rank: number;
  worldSize: number;
  host: string;
  port: number;
  /** 0 with the gRPC data plane. */
  dataPort: number;
}
export interface Peer {
  rank: number;
  address: string;
  /** '' with the gRPC data plane. */
  dataAddress: string;
}
export interface JoinResponse {
  peers: Peer[];
  sessionId: string;
}
export interface BarrierRequest {
  rank: number;
  name: string;
}
export interface SubscribeRequest {
  fromRank: number;
  sessionId: string;
}
/** Frame as on the wire; `abort` replaces the payload when the sender is failing. */
export interface WireFrame {
  payload: Uint8Array;
  opId: number;
  step: number;
  chunk: number;
  abort?: { code: string; message: string } | null;
  waiting?: boolean;
}
export interface WireFault {
  code: string;
  message: string;
  peerRank: number;
  atUnixMs: number;
}
export interface WireRefusalCount {
  reason: string;
  count: number;
}
export interface WireRankRefusals {
  rank: number;
  counts: WireRefusalCount[];
}
export interface RefusalReport {
  sessionId: string;
  refusals: WireRankRefusals | null;
}
export interface WireGangRefusals {
  ranks: WireRankRefusals[];
}
export interface StatusResponse {
  phase: string;
  epoch: number;
  step: number;
  lossTotal?: number;
  lossCls?: number;
  lossJcl?: number;
  contrastAcc?: number;
  imagesPerSec?: number;
  lastCheckpoint: string;
  worldSize: number;
  fault?: WireFault | null;
  updatedAtUnixMs: number;
  /** null from a worker that predates refusal counts. */
  refusals?: WireGangRefusals | null;
}

function serializerFor<T>(type: protobuf.Type): (value: T) => Buffer {
  return (value) => {
    const bytes = type.encode(value as object).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializerFor<T>(type: protobuf.Type, maxBytes: number): (buf: Buffer) => T {
  return (buf) => {
    if (buf.byteLength > maxBytes) {
      throw new RangeError(`${type.name}: message of ${buf.byteLength} B exceeds the limit of ${maxBytes} B`);
    }
    // Longs (uint64/int64) become numbers: step counts and timestamps stay far below 2^53.
    return type.toObject(type.decode(buf), { longs: Number, defaults: true }) as T;
  };
}

function method<Req, Res>(
  service: string,
  name: string,
  req: string,
  res: string,
  opts: { responseStream?: boolean; maxResponseBytes?: number } = {},
): MethodDefinition<Req, Res> {
  const reqType = messageType(req);
  const resType = messageType(res);
  return {
    path: `/jcl.v1.${service}/${name}`,
    requestStream: false,
    responseStream: opts.responseStream ?? false,
    requestSerialize: serializerFor<Req>(reqType),
    requestDeserialize: deserializerFor<Req>(reqType, MAX_CONTROL_MESSAGE_BYTES),
    responseSerialize: serializerFor<Res>(resType),
    responseDeserialize: deserializerFor<Res>(resType, opts.maxResponseBytes ?? MAX_CONTROL_MESSAGE_BYTES),
  };
}

/** Frames decode without toObject: `payload` stays a zero-copy view into the received message. */
function frameMethod(maxFrameBytes: number): MethodDefinition<SubscribeRequest, WireFrame> {
  const base = method<SubscribeRequest, WireFrame>('Collective', 'Subscribe', 'SubscribeRequest', 'Frame', {
    responseStream: true,
  });
  const frameType = messageType('Frame');
  return {
    ...base,
    responseSerialize: createFrameEncoder(frameType),
    responseDeserialize: (buf: Buffer) => {
      if (buf.byteLength > maxFrameBytes) {
        throw new RangeError(`Frame: message of ${buf.byteLength} B exceeds the limit of ${maxFrameBytes} B`);
      }
      const m = frameType.decode(buf) as unknown as WireFrame;
      return {
        payload: payloadOf(m),
        opId: m.opId ?? 0,
        step: m.step ?? 0,
        chunk: m.chunk ?? 0,
        abort: m.abort ?? null,
        waiting: m.waiting ?? false,
      };
    },
  };
}

export const RendezvousService = {
  join: method<JoinRequest, JoinResponse>('Rendezvous', 'Join', 'JoinRequest', 'JoinResponse'),
  barrier: method<BarrierRequest, object>('Rendezvous', 'Barrier', 'BarrierRequest', 'BarrierResponse'),
  reportRefusals: method<RefusalReport, object>(
    'Rendezvous',
    'ReportRefusals',
    'RefusalReport',
    'RefusalReportAck',
  ),
} satisfies ServiceDefinition;

/** The collective service for frames of at most `maxFrameBytes` on the wire. */
export function collectiveService(maxFrameBytes: number) {
  return { subscribe: frameMethod(maxFrameBytes) } satisfies ServiceDefinition;
}

export const StatusService = {
  getStatus: method<object, StatusResponse>('Status', 'GetStatus', 'GetStatusRequest', 'StatusResponse', {
    maxResponseBytes: MAX_STATUS_RESPONSE_BYTES,
  }),
} satisfies ServiceDefinition;

/** Bytes a frame with `payloadBytes` of payload takes on the wire, with room for the header fields. */
export function frameWireBytes(payloadBytes: number): number {
  return payloadBytes + 64;
}

/**
 * The payload of a decoded frame as bytes: protobufjs gives an empty bytes field its default, a plain `[]`,
 * which has no byteLength.
 */
export function payloadOf(m: WireFrame): Uint8Array {
  return m.payload instanceof Uint8Array ? m.payload : new Uint8Array(0);
}
