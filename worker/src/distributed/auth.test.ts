import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createAuthMetadata, createTokenChecker } from './auth.ts';
import { hostOfPeer } from './rendezvous-service.ts';

describe('createTokenChecker', () => {
  const check = createTokenChecker('s3cret');
  it.each([
    ['the right token', createAuthMetadata('s3cret'), true],
    ['a wrong token', createAuthMetadata('s3cre'), false],
    ['a longer token', createAuthMetadata('s3cret!'), false],
    ['an empty token', createAuthMetadata(''), false],
    ['no metadata', new grpc.Metadata(), false],
  ])('accepts only the right token: %s', (_, md, ok) => {
    expect(check(md)).toBe(ok);
  });

  it('refuses to be built with an empty token', () => {
    expect(() => createTokenChecker('')).toThrow('token must not be empty');
  });
});

describe('hostOfPeer', () => {
  it.each([
    ['10.0.0.7:5123', '10.0.0.7'],
    ['::ffff:10.0.0.7:5123', '10.0.0.7'],
    ['[::1]:5123', '[::1]'],
    ['ipv4:127.0.0.1:80', '127.0.0.1'],
  ])('%s -> %s', (peer, host) => {
    expect(hostOfPeer(peer)).toBe(host);
  });
});
