// Writes the side-by-side table of two drill summaries (bench/portkey-compare.sh): ours vs Portkey.
//   node bench/portkey/compare-table.mjs OURS/summary.json PORTKEY/summary.json [overhead.json] > comparison.md
// Reads only what it needs from summary.json (snake_case: classes[], incidents[], targets[]); a missing figure is "n/a".
import { existsSync, readFileSync, statSync } from 'node:fs';

const MaxBytes = 64 * 1024 * 1024;
function load(path) {
  if (!existsSync(path)) throw new Error(`${path}: not found`);
  if (statSync(path).size > MaxBytes) throw new Error(`${path}: larger than ${MaxBytes} bytes`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

const [oursPath, portkeyPath, overheadPath] = process.argv.slice(2);
if (!oursPath || !portkeyPath) {
  console.error('usage: compare-table.mjs OURS/summary.json PORTKEY/summary.json [overhead.json]');
  process.exit(2);
}
const ours = load(oursPath);
const portkey = load(portkeyPath);
const overhead = overheadPath && existsSync(overheadPath) ? load(overheadPath) : null;

const num = (x) => typeof x === 'number' && Number.isFinite(x);
const pct = (x, digits = 2) => (num(x) ? `${(x * 100).toFixed(digits)} %` : 'n/a');
const ms = (x) => (num(x) ? `${Math.round(x)} ms` : 'n/a');
const sec = (x) => (num(x) ? `${x.toFixed(1)} s` : 'not seen');
const int = (x) => (num(x) ? String(Math.round(x)) : 'n/a');
const cls = (s, name) => (s.classes ?? []).find((c) => c.class === name);
const incidents = (s) => s.incidents ?? [];

const rows = [];
const row = (label, a, b) => rows.push(`| ${label} | ${a} | ${b} |`);

const classNames = [...new Set([...(ours.classes ?? []), ...(portkey.classes ?? [])].map((c) => c.class))];
for (const name of classNames) {
  const a = cls(ours, name) ?? {};
  const b = cls(portkey, name) ?? {};
  row(`\`${name}\` availability (requests answered / sent)`,
    `${pct(a.availability)} (${int(a.available)}/${int(a.requests)})`, `${pct(b.availability)} (${int(b.available)}/${int(b.requests)})`);
  row(`\`${name}\` p95 latency / p95 TTFT`, `${ms(a.latency_p95_ms)} / ${ms(a.ttft_p95_ms)}`, `${ms(b.latency_p95_ms)} / ${ms(b.ttft_p95_ms)}`);
  row(`\`${name}\` answers not from a primary`, pct(a.fallback_share, 1), pct(b.fallback_share, 1));
}

const faults = Math.max(incidents(ours).length, incidents(portkey).length);
for (let i = 0; i < faults; i++) {
  const a = incidents(ours)[i] ?? {};
  const b = incidents(portkey)[i] ?? {};
  const what = `${a.kind ?? b.kind} on \`${a.endpoint ?? b.endpoint}\``;
  row(`${what}: breaker open after`, sec(a.detect_seconds), 'no breaker (n/a)');
  row(`${what}: traffic moved off it after (attempts < 10 % of before)`, sec(a.moved_seconds), sec(b.moved_seconds));
  row(`${what}: requests sent to it while down (simulator)`, int(a.attempts_during_fault), int(b.attempts_during_fault));
  row(`${what}: traffic back after the fault ended`, sec(a.recover_seconds), sec(b.recover_seconds));
}

const verdicts = (s) => {
  const lines = s.targets ?? [];
  const failed = lines.filter((t) => t.pass === false).length;
  return lines.length ? `${lines.length - failed}/${lines.length} held` : 'n/a';
};
row('drill targets (report lines) held', verdicts(ours), verdicts(portkey));
if (overhead) {
  row('latency added per request, no fault (p50 / p95, vs direct; one replica)', 'see docs/benchmarks.md (proxy overhead)',
    `${overhead.added_ms.p50.toFixed(2)} ms / ${overhead.added_ms.p95.toFixed(2)} ms`);
}

const title = `${ours.scenario ?? 'drill'}${ours.short ? ' (short)' : ''}, ${num(ours.duration_seconds) ? `${Math.round(ours.duration_seconds)} s` : ''}`;
console.log(`### ${title}: ours vs Portkey 1.15.2\n`);
console.log(`| | ours (\`${ours.target ?? 'proxy'}\`) | Portkey (\`${portkey.target ?? 'portkey'}\`) |`);
console.log('|---|---|---|');
for (const line of rows) console.log(line);
