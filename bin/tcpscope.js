#!/usr/bin/env node
'use strict';
// Launcher for the compiled agent: the TypeScript sources are built into dist/ by `npm run build`.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli.js');
// Checked up front rather than by catching MODULE_NOT_FOUND, which would also hide a missing
// dependency of a built cli.js behind the wrong advice.
if (!existsSync(entry)) {
  process.stderr.write('tcpscope is not built: run `npm run build` first\n');
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .catch((error) => {
    process.stderr.write(`tcpscope: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  });
