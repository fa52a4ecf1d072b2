/** Thin wrapper over node:util parseArgs that turns unknown flags into clear usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { JclError } from '../util/errors.ts';

/** Parsed flag values: strings, booleans or (for `multiple`) string arrays. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FlagValues = Record<string, any>;

export function parseFlags(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): { values: FlagValues; positionals: string[] } {
  try {
    const r = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals,
      strict: true,
    });
    return { values: r.values as FlagValues, positionals: r.positionals };
  } catch (cause) {
    throw new JclError('invalid_config', (cause as Error).message, { cause });
  }
}

/** An integer flag in [min, max], or `def` when absent; anything else is a usage error naming the flag. */
export function parseIntFlag(flag: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new JclError(
      'invalid_config',
      `--${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  return v;
}
