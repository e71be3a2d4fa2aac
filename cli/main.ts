#!/usr/bin/env node
// imagestream-backup: the command line for moving backups where no cluster reaches (export to
// one OCI image layout tar, import it on the far side) and, later, checking them. The package's
// `bin`; the commands are in run.ts.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
