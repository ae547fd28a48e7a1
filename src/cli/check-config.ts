import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';

export async function runCheckConfig(argv: string[]): Promise<number> {
  let positionals: string[];
  let values: { 'secrets-dir'?: string; help?: boolean };
  try {
    ({ positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { 'secrets-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: imprimatur check-config FILE\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write('usage: imprimatur check-config FILE\n');
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write('usage: imprimatur check-config FILE\n');
    return 1;
  }
  try {
    const config = loadConfigFile(positionals[0]!, { secretsDir: values['secrets-dir'] });
    const receivers = countReceivers(config.alerting);
    const detecting = config.policy.filter((r) => r.with.enforcement === 'detect').length;
    process.stdout.write(
      `${config.file}: valid — ${config.validators.length} validator(s) (${config.validators.map((v) => `${v.name}:${v.type}`).join(', ')}), ` +
        `${config.policy.length} rule(s), ${receivers} alert receiver(s)${config.features.detectionMode ? ', detection mode ON' : ''}` +
        `${detecting && !config.features.detectionMode ? `, ${detecting} rule(s) in detection (with.enforcement: detect)` : ''}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

function countReceivers(alerting: Record<string, unknown> | undefined): number {
  let n = 0;
  for (const key of ['admitRequest', 'rejectRequest']) {
    const section = alerting?.[key] as { receivers?: unknown[] } | undefined;
    n += section?.receivers?.length ?? 0;
  }
  return n;
}
