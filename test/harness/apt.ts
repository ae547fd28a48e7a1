/** Installs Debian packages for a test server when its commands are missing (a fresh machine); fails loudly. */
import { execFileSync } from 'node:child_process';

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `apt-get install` (with sudo when not root) unless every command in `commands` is already on the PATH. */
export function ensureInstalled(commands: string[], packages: string[]): void {
  if (commands.every(commandExists)) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]): void => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
  } catch (err) {
    throw new Error(`${commands.join(', ')} not installed and "apt-get install ${packages.join(' ')}" failed: ${String(err)}`);
  }
  const missing = commands.filter((c) => !commandExists(c));
  if (missing.length > 0) throw new Error(`${missing.join(', ')} still missing after apt-get install ${packages.join(' ')}`);
}
