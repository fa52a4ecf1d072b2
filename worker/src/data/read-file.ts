/** File access for datasets: existence checks with clear errors, transparent .gz. */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { JclError } from '../util/errors.ts';

/** Reads `path` or `path.gz` (whichever exists), gunzipping the latter. */
export function readMaybeGz(path: string, field: string): Uint8Array {
  const candidates = path.endsWith('.gz') ? [path] : [path, `${path}.gz`];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new JclError('not_found', `${field}: file not found, got ${candidates.join(' or ')}`);
  }
  const raw = readFileSync(found);
  if (!found.endsWith('.gz')) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    return new Uint8Array(gunzipSync(raw));
  } catch (cause) {
    throw new JclError('invalid_data', `${field}: ${found} is not a valid gzip file (truncated or corrupt)`, {
      cause,
    });
  }
}
