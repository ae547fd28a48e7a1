import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import { parseCommandLine } from './command-line.js';
import { formatWarnings } from './warnings.js';

const CHECK_CONFIG_USAGE = 'usage: imprimatur check-config FILE\n';

export async function runCheckConfig(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { 'secrets-dir': { type: 'string' } }, CHECK_CONFIG_USAGE, { allowPositionals: true, usageErrorCode: 1 });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(CHECK_CONFIG_USAGE);
    return 1;
  }
  try {
    // `check`: what the chart will deploy, on a machine without the cluster's secrets (see src/config/load-context.ts).
    const config = loadConfigFile(positionals[0]!, { mode: 'check', secretsDir: values['secrets-dir'] as string | undefined });
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
