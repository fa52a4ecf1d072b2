#!/usr/bin/env node
// The `jcl` command: loads the TypeScript sources through tsx so that a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../worker/src/cli/main.ts');
const { exitWhenIdle } = await import('../worker/src/util/exit-when-idle.ts');
// Exit once the command returns, even if a peer or an outsider still holds a connection open.
exitWhenIdle(await main(process.argv.slice(2)));
