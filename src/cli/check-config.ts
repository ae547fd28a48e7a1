import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import { formatWarnings } from './warnings.js';

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
    // `check`: what the chart will deploy, on a machine without the cluster's secrets (see src/config/load-context.ts).
    const config = loadConfigFile(positionals[0]!, { mode: 'check', secretsDir: values['secrets-dir'] });
    const receivers = countReceivers(config.alerting);
    const detecting = config.policy.filter((r) => r.with.enforcement === 'detect').length;
    process.stderr.write(formatWarnings(config));
    process.stdout.write(
      `${config.file}: valid — ${config.validators.length} validator(s) (${config.validators.map((v) => `${v.name}:${v.type}`).join(', ')}), ` +
        `${config.policy.length} rule(s), ${receivers} alert receiver(s), detection mode ${config.features.detectionMode ? 'ON' : 'off'}` +
        `${detecting && !config.features.detectionMode ? `, ${detecting} rule(s) in detection (with.enforcement: detect)` : ''}` +
        `${config.warnings.length ? `, ${config.warnings.length} warning(s)` : ''}\n`,
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
