// What a subcommand of the command line is: its flags, described once for parsing and help.
export interface Flag {
  type: 'string' | 'boolean';
  multiple?: boolean;
  help: string;
  /** The value's name in the help text. */
  valueName?: string;
}

export interface CommandContext {
  signal: AbortSignal;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  summary: string;
  synopsis: string;
  description: string;
  options: Record<string, Flag>;
  /** Returns the exit code. */
  run(values: FlagValues, ctx: CommandContext): Promise<number>;
}

/** Wrong or missing flags: the command's usage follows the message. */
export class UsageError extends Error {}

export function str(values: FlagValues, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function list(values: FlagValues, flag: string): string[] {
  const v = values[flag];
  return Array.isArray(v) ? v : [];
}

export function required(values: FlagValues, flag: string): string {
  const v = str(values, flag);
  if (v === undefined) throw new UsageError(`--${flag} is required`);
  return v;
}

/** `key=value` pairs of a repeatable flag. */
export function pairs(values: FlagValues, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list(values, flag)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} ${JSON.stringify(item)} must be key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
