// Summarizes a V8 .cpuprofile (from node --cpu-prof): self time per function, and total (inclusive)
// time per source file, so a slow measure points at where its time goes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Hotspot {
  name: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time per function, largest first. */
  functions: Hotspot[];
  /** Self time summed per file (or per category: GC, idle, program), largest first. */
  files: { where: string; selfMs: number; selfPercent: number }[];
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length);
  const src = path.search(/\/(src|bench|test)\//);
  return src >= 0 ? path.slice(src + 1) : path;
}

export function summarizeCpuProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let index = 0; index < samples.length; index++) {
    const id = samples[index]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[index] ?? 0));
  }
  const totalUs = Math.max(1, profile.endTime - profile.startTime);
  const byFunction = new Map<string, Hotspot>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const frame = node.callFrame;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : shortUrl(frame.url);
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, selfMs: 0, selfPercent: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
    const fileKey = frame.url ? shortUrl(frame.url) : name;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const functions = [...byFunction.values()]
    .map((entry) => ({ ...entry, selfMs: Math.round(entry.selfMs), selfPercent: Math.round((entry.selfMs * 1000 * 1000) / totalUs) / 10 }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
  const files = [...byFile.entries()]
    .map(([where, us]) => ({ where, selfMs: Math.round(us / 1000), selfPercent: Math.round((us * 1000) / totalUs) / 10 }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
  return { totalMs: Math.round(totalUs / 1000), functions, files };
}

/** Of the .cpuprofile files in `dir` (a process and its workers write one each), the one busiest outside idle. */
export function busiestProfile(dir: string): { file: string; summary: ProfileSummary } | undefined {
  if (!existsSync(dir)) return undefined;
  let best: { file: string; summary: ProfileSummary; busyMs: number } | undefined;
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.cpuprofile'))) {
    const file = join(dir, name);
    const summary = summarizeCpuProfile(file);
    const busyMs = summary.totalMs - (summary.files.find((entry) => entry.where === '(idle)')?.selfMs ?? 0);
    if (!best || busyMs > best.busyMs) best = { file, summary, busyMs };
  }
  return best && { file: best.file, summary: best.summary };
}

export function formatProfile(summary: ProfileSummary, title: string): string {
  const lines = [`${title}: ${summary.totalMs} ms profiled`, '  self ms   self %  function (file:line)'];
  for (const entry of summary.functions) {
    lines.push(`  ${String(entry.selfMs).padStart(7)}  ${entry.selfPercent.toFixed(1).padStart(6)}  ${entry.name} (${entry.where})`);
  }
  lines.push('  by file:');
  for (const entry of summary.files.slice(0, 12)) {
    lines.push(`  ${String(entry.selfMs).padStart(7)}  ${entry.selfPercent.toFixed(1).padStart(6)}  ${entry.where}`);
  }
  return lines.join('\n');
}

// `node --import tsx bench/cpu-profile.ts <file.cpuprofile> [top]` prints a summary.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: cpu-profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfile(summarizeCpuProfile(file, Number(process.argv[3] ?? 25)), file));
}
