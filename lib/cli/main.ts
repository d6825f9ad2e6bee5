#!/usr/bin/env node
// The executable: run the CLI on this process's arguments and exit with its status.
import { main } from './program.js';

// `rescue-kit check --help | head -1`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
