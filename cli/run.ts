// The command line's table of subcommands and its parsing: each subcommand is an entry of
// COMMANDS (its flags as util.parseArgs options, a summary, and run()); adding one is adding
// an entry. main.ts is the executable around it.
import { parseArgs } from 'node:util';
import { errorMessage } from '../pkg/errors.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { UsageError, type Command, type CommandContext } from './command.js';

const COMMANDS: Record<string, Command> = {
  export: exportCommand,
  import: importCommand,
};

function usage(): string {
  return ['Usage: imagestream-backup <command> [flags]', '', 'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '', 'imagestream-backup <command> --help lists the flags of a command.'].join('\n');
}

function commandUsage(name: string, c: Command): string {
  const flags = Object.entries(c.options).map(([flag, o]) => {
    const value = o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : '';
    return `  --${flag}${value}`.padEnd(40) + ` ${o.help}${o.multiple ? ' (repeatable)' : ''}`;
  });
  return [`Usage: imagestream-backup ${name} ${c.synopsis}`, '', c.description, '', 'Flags:', ...flags, '  --help'.padEnd(40) + ' this text'].join('\n');
}

/** Runs one command line; returns the exit code. Output goes to `io`, so that tests run it in-process. */
export async function run(argv: string[], io: Pick<CommandContext, 'stdout' | 'stderr' | 'env'> = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`imagestream-backup: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 2;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(command.options).map(([flag, o]) => [flag, { type: o.type, ...(o.multiple && { multiple: true }) }]));
    ({ values } = parseArgs({ args: rest, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    io.stderr.write(`imagestream-backup ${name}: ${errorMessage(err)}\n\n${commandUsage(name, command)}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${commandUsage(name, command)}\n`);
    return 0;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    return await command.run(values, { ...io, signal: abort.signal });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`imagestream-backup ${name}: ${err.message}\n\n${commandUsage(name, command)}\n`);
      return 2;
    }
    io.stderr.write(`imagestream-backup ${name}: ${abort.signal.aborted ? 'interrupted' : errorMessage(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
}

