// Logs as go-plugin's host reads a plugin's stderr: one JSON object per line with `@level` and
// `@message` (hclog's format); the other keys become fields of the line in Velero's own log (and
// in the log of the Velero backup being run).
export type Fields = Record<string, string | number | boolean | undefined>;

export interface PluginLog {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export function hclogLogger(write: (line: string) => void = (line) => process.stderr.write(line)): PluginLog {
  const emit = (level: string) => (message: string, fields: Fields = {}) =>
    write(JSON.stringify({ '@level': level, '@message': message, ...fields }) + '\n');
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
