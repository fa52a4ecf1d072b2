#!/usr/bin/env node
// The `jcl` command: loads the TypeScript sources through tsx so that a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../worker/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
