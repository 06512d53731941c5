// What the benchmarks read of a child process from /proc: its resident memory (VmRSS, and the
// kernel's high-water mark VmHWM, which catches a peak between two samples) and its CPU time.
import { readFileSync } from 'node:fs';

export const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

export interface ProcStatus {
  rssKiB: number;
  hwmKiB: number;
}

export function procStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100; // USER_HZ, the unit of utime/stime in /proc/<pid>/stat on Linux

/** CPU time (user + system) a process has used so far, in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export function pidFromFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Samples VmRSS of a process every 100 ms; the kernel's VmHWM (peak RSS) and its CPU time are read with each sample too. */
export class RssSampler {
  peakRssKiB = 0;
  peakHwmKiB = 0;
  samples = 0;
  /** CPU seconds at the last sample. */
  cpuSeconds = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }

  sample(): void {
    const status = procStatus(this.pid);
    if (!status) return;
    this.samples++;
    this.peakRssKiB = Math.max(this.peakRssKiB, status.rssKiB);
    this.peakHwmKiB = Math.max(this.peakHwmKiB, status.hwmKiB);
    this.cpuSeconds = cpuSeconds(this.pid) ?? this.cpuSeconds;
  }

  get peakMiB(): number {
    return mib(Math.max(this.peakRssKiB, this.peakHwmKiB));
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
