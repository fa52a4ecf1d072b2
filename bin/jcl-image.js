#!/usr/bin/env node
// The `jcl` command in images built from compiled JavaScript (worker/Dockerfile.gpu copies this file to
// /app/bin/jcl.js beside the output of tsconfig.build.json): no TypeScript loader at run time.
const { main } = await import('../worker/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
