import { describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { formatS3Uri, parseS3Uri } from './s3-uri.ts';

describe('parseS3Uri', () => {
  it.each([
    { uri: 's3://ckpts', want: { bucket: 'ckpts', prefix: '' } },
    { uri: 's3://ckpts/', want: { bucket: 'ckpts', prefix: '' } },
    { uri: 's3://ckpts/team/run-1/', want: { bucket: 'ckpts', prefix: 'team/run-1' } },
    { uri: '/checkpoints/run', want: { problem: 'expected s3://bucket[/prefix], got "/checkpoints/run"' } },
    { uri: 's3://A/x', want: { problem: expect.stringContaining('bucket name must be 3-63') } },
    {
      uri: 's3://ckpts/a//b',
      want: { problem: expect.stringContaining("must not contain empty, '.' or '..'") },
    },
    { uri: 's3://ckpts/a/../b', want: { problem: expect.stringContaining("'..' segments") } },
  ])('$uri', ({ uri, want }) => {
    expect(parseS3Uri(uri)).toEqual(want);
  });

  it('formats a location back, with or without an object name', () => {
    expect(formatS3Uri({ bucket: 'b1c', prefix: 'x/y' }, 'ckpt.json')).toBe('s3://b1c/x/y/ckpt.json');
    expect(formatS3Uri({ bucket: 'b1c', prefix: '' })).toBe('s3://b1c');
  });
});

describe('checkpoint storage fields in the training config', () => {
  it('names every bad field with its value', () => {
    expect(() =>
      parseTrainingConfig({
        checkpoint: { uri: 'gs://bucket/x', resumeFrom: 's3://B/y', s3: { endpoint: 'localhost:8333' } },
      }),
    ).toThrow(
      new RegExp(
        [
          'checkpoint.uri: expected s3://bucket\\[/prefix\\], got "gs://bucket/x"',
          'checkpoint.resumeFrom: bucket name must be 3-63 .* got "B" in "s3://B/y"',
          'checkpoint.s3.endpoint: expected http\\(s\\)://host\\[:port\\], got "localhost:8333"',
        ].join('\n  '),
      ),
    );
  });

  it('accepts a URI with endpoint, region and path-style addressing', () => {
    const cfg = parseTrainingConfig({
      checkpoint: { uri: 's3://ckpts/run', s3: { endpoint: 'http://127.0.0.1:8333', pathStyle: true } },
    });
    expect(cfg.checkpoint).toMatchObject({
      uri: 's3://ckpts/run',
      resumeFrom: '',
      s3: {
        endpoint: 'http://127.0.0.1:8333',
        region: 'us-east-1',
        pathStyle: true,
        partSizeMiB: 16,
        maxAttempts: 5,
      },
    });
  });
});
