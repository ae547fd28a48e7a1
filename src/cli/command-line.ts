/** The command line of one `imprimatur` command: its options plus -h/--help, usage errors with the usage text. */
import { parseArgs } from 'node:util';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/**
 * The parsed values and positionals, or the exit code when the command is already done: 0 after printing `usage`
 * for --help, `usageErrorCode` (default 2) after printing the parser's message and `usage` to stderr.
 */
export function parseCommandLine(
  argv: string[],
  options: OptionSpec,
  usage: string,
  opts: { allowPositionals?: boolean; usageErrorCode?: number; io?: CommandIo } = {},
): { values: OptionValues; positionals: string[] } | number {
  const io = opts.io ?? process;
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, allowPositionals: opts.allowPositionals ?? false, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${usage}`);
    return opts.usageErrorCode ?? 2;
  }
  if (parsed.values.help) {
    io.stdout.write(usage);
    return 0;
  }
  return parsed;
}
