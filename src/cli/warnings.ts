import type { AppConfig } from '../config/types.js';

/** One `warning: <file>: <path>: <message>` line per config warning (stderr of check-config and explain). */
export function formatWarnings(config: Pick<AppConfig, 'file' | 'warnings'>): string {
  return config.warnings.map((w) => `warning: ${config.file}: ${w.path ? `${w.path}: ` : ''}${w.message}\n`).join('');
}
