/** CPU time of a process from /proc (Linux): user + system, in milliseconds. */
import { readFileSync } from 'node:fs';

export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ 100) → ms
}
