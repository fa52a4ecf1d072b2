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
