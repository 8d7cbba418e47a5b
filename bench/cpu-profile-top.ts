/**
 * Where a V8 CPU profile (`node --cpu-prof`, e.g. from `CALLS_CPS_PROFILE`
 * in bench/calls-cps.ts) spends its time: the functions with the most self
 * time, the most inclusive time (self + callees, each function counted
 * once per stack), and self time per source file. Usage:
 *   node --import tsx bench/cpu-profile-top.ts FILE.cpuprofile [TOP=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: FILE.cpuprofile [TOP=25]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};

const self = new Map<string, number>();
/** Self time per source file (node internals and native code by their own names). */
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  const leaf = byId.get(id);
  if (leaf === undefined) return;
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + us);
  const fileKey = leaf.callFrame.url === '' ? `(native) ${leaf.callFrame.functionName}` : leaf.callFrame.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/');
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  const seen = new Set<string>();
  for (let n: ProfileNode | undefined = leaf; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
    const k = name(n);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
});

const notWork = (k: string): boolean => k.includes('(idle)') || k.includes('(root)');
const idle = [...self].filter(([k]) => notWork(k)).reduce((n, [, v]) => n + v, 0);
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(((total - idle) / total) * 100).toFixed(1)} % busy`);
const show = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (share of busy time)`);
  for (const [k, v] of [...m].filter(([k]) => !notWork(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((v / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
};
show('self time', self);
show('inclusive time', inclusive);
show('self time per file', byFile);
