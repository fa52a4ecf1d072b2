import { describe, expect, it } from 'vitest';
import { JclError } from '../util/errors.ts';
import { DIST_DEFAULTS, parseDistEnv } from './dist-config.ts';

describe('parseDistEnv', () => {
  it('completes a worker environment with defaults', () => {
    expect(
      parseDistEnv({
        JCL_RANK: '2',
        JCL_WORLD_SIZE: '4',
        JCL_COORDINATOR: 'job-0.job:29500',
        JCL_TOKEN_FILE: '/etc/jcl/token',
      }),
    ).toEqual({
      ...DIST_DEFAULTS,
      rank: 2,
      worldSize: 4,
      coordinator: 'job-0.job:29500',
      advertiseHost: '',
      token: { file: '/etc/jcl/token' },
    });
  });

  it('lets rank 0 listen on the coordinator port', () => {
    const cfg = parseDistEnv({
      JCL_RANK: '0',
      JCL_WORLD_SIZE: '2',
      JCL_COORDINATOR: '127.0.0.1:4100',
      JCL_TOKEN: 't',
    });
    expect(cfg.port).toBe(4100);
  });

  it('is a single process with no environment at all', () => {
    expect(parseDistEnv({})).toMatchObject({ rank: 0, worldSize: 1, token: { value: '' } });
  });

  it('collects every problem with the variable and the value', () => {
    let err: unknown;
    try {
      parseDistEnv({
        JCL_RANK: '1',
        JCL_WORLD_SIZE: '3',
        JCL_COORDINATOR: 'nohost',
        JCL_PEER_TIMEOUT_MS: 'soon',
        JCL_CHUNK_BYTES: '1001',
        JCL_TLS_CERT: '/c.pem',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JclError);
    expect((err as JclError).code).toBe('invalid_config');
    expect((err as JclError).details).toEqual([
      'JCL_COORDINATOR: expected host:port, got "nohost"',
      'JCL_TOKEN_FILE or JCL_TOKEN: required when JCL_WORLD_SIZE > 1, got neither',
      'JCL_TLS_CERT, JCL_TLS_KEY, JCL_TLS_CA: set all three or none, got only JCL_TLS_CERT',
      `JCL_PEER_TIMEOUT_MS: expected an integer in [100, ${Number.MAX_SAFE_INTEGER}], got "soon"`,
      'JCL_CHUNK_BYTES: expected a multiple of 4, got 1001',
    ]);
  });

  it('reads JCL_TCP_STREAMS and refuses a count outside [1, 16], naming the value', () => {
    const base = { JCL_RANK: '0', JCL_WORLD_SIZE: '2', JCL_COORDINATOR: 'a:1', JCL_TOKEN: 't' };
    expect(parseDistEnv({ ...base, JCL_TCP_STREAMS: '3' }).tcpStreams).toBe(3);
    expect(() => parseDistEnv({ ...base, JCL_TCP_STREAMS: '17' })).toThrow(
      'JCL_TCP_STREAMS: expected an integer in [1, 16], got "17"',
    );
  });

  it('refuses a rank outside the world', () => {
    expect(() =>
      parseDistEnv({ JCL_RANK: '3', JCL_WORLD_SIZE: '3', JCL_COORDINATOR: 'a:1', JCL_TOKEN: 't' }),
    ).toThrow('JCL_RANK: expected < JCL_WORLD_SIZE (3), got 3');
  });

  const TLS = { JCL_TLS_CERT: '/c.pem', JCL_TLS_KEY: '/k.pem', JCL_TLS_CA: '/ca.pem' };
  const BASE = { JCL_RANK: '1', JCL_WORLD_SIZE: '2', JCL_COORDINATOR: 'a:1', JCL_TOKEN: 't' };
  it.each([
    [
      { ...TLS, JCL_TLS_PEER_NAME: 'job-worker.job' },
      'JCL_TLS_PEER_NAME: expected a name containing {rank}, got "job-worker.job"',
    ],
    [
      { ...TLS, JCL_TLS_PEER_NAME: 'w-{rank}', JCL_TLS_SERVER_NAME: 'w' },
      'JCL_TLS_SERVER_NAME: set at most one of it and JCL_TLS_PEER_NAME, got "w"',
    ],
    [
      { JCL_TLS_PEER_NAME: 'w-{rank}' },
      'JCL_TLS_PEER_NAME: needs JCL_TLS_CERT, JCL_TLS_KEY and JCL_TLS_CA, got "w-{rank}"',
    ],
  ])('refuses a JCL_TLS_PEER_NAME it cannot apply (%o)', (env, problem) => {
    expect(() => parseDistEnv({ ...BASE, ...env })).toThrow(problem);
  });

  it('keeps a per-rank certificate name', () => {
    expect(parseDistEnv({ ...BASE, ...TLS, JCL_TLS_PEER_NAME: 'job-worker-{rank}.job-workers' }).tls).toEqual(
      {
        certFile: '/c.pem',
        keyFile: '/k.pem',
        caFile: '/ca.pem',
        serverName: undefined,
        peerName: 'job-worker-{rank}.job-workers',
      },
    );
  });
});
