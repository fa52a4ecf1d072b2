/**
 * A second reference for the all-reduce benchmark: the throughput of one bare grpc-js server stream on
 * loopback between two processes, with the transport's message size, window and keepalive settings but no
 * collective around it. Comparing the ring with it separates the cost of gRPC-in-Node itself from the cost
 * of the algorithm. Run as a program it is the sending side:
 *   node --import tsx worker/src/distributed/grpc-ceiling.ts serve <totalBytes> <chunkBytes>
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { workerServerOptions } from './grpc-transport.ts';
import { frameWireBytes } from './wire.ts';

const PATH = '/jcl.bench.Ceiling/Push';
const identity = (b: Buffer): Buffer => b;
const definition = {
  push: {
    path: PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

function serve(totalBytes: number, chunkBytes: number): void {
  const server = new grpc.Server(workerServerOptions({ chunkBytes, peerTimeoutMs: 30_000 }));
  const payload = Buffer.alloc(chunkBytes, 7);
  server.addService(definition, {
    push: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      let sent = 0;
      const pump = (): void => {
        while (sent < totalBytes) {
          sent += chunkBytes;
          if (!call.write(payload)) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(String(port));
  });
}

/** Bytes per second of one grpc-js stream carrying `totalBytes` in `chunkBytes` messages. */
export async function measureGrpcStreamCeiling(
  totalBytes: number,
  chunkBytes: number,
  windowBytes: number,
): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', self, 'serve', String(totalBytes), String(chunkBytes)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`grpc ceiling sender exited ${code}`)));
    });
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': frameWireBytes(chunkBytes),
      'grpc-node.flow_control_window': windowBytes,
    });
    try {
      return await new Promise<number>((resolve, reject) => {
        const call = client.makeServerStreamRequest(PATH, identity, identity, Buffer.alloc(0));
        let got = 0;
        let t0 = 0n;
        call.on('data', (d: Buffer) => {
          if (got === 0) t0 = process.hrtime.bigint();
          got += d.length;
        });
        call.on('end', () => resolve(got / (Number(process.hrtime.bigint() - t0) / 1e9)));
        call.on('error', reject);
      });
    } finally {
      client.close();
    }
  } finally {
    child.kill();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  serve(Number(process.argv[3]), Number(process.argv[4]));
}
