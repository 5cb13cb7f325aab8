// Benchmark reports: results/<date>-<commit>-<scenario>.json (raw figures and the environment),
// results/README.md (the latest table and how to reproduce it) and SVG plots drawn here, with no
// plotting dependency. Added latency is always target − direct at the same percentile, same run.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { PacerResult } from '../../loadtest/pacer.ts';
import type { CannonResult } from '../../loadtest/cannon.ts';

export interface Pcts {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export interface TargetRun {
  target: string;
  pacer: PacerResult | null;
  saturation: CannonResult | null;
  /** % of one core: over the pacer's measured window when it could read /proc, else over the whole child run. */
  cpuPct: number | null;
  /** The target's CPU time (user + system, all threads) over the measured window ÷ the requests completed in it, µs. */
  cpuPerReqUs?: number | null;
  /** Where that CPU time came from: summed per-thread schedstat (ns) or /proc/<pid>/stat (10 ms ticks). */
  cpuSource?: 'schedstat' | 'stat' | null;
  /** The mock fleet's CPU per request over the same window, µs. */
  mocksCpuPerReqUs?: number | null;
  rssMaxMB: number | null;
  gatewayTimeUs: (Pcts & { count?: number }) | null;
  /** microgate: telemetry records dropped so far in its process (cumulative over the run). */
  telemetryDropped: number | null;
  /** The mock fleet's CPU over the run, % of one core. */
  mocksCpuPct?: number | null;
  /** The whole machine's CPU over the run, % of one core (everything: a high figure means contention). */
  machineCpuPct?: number | null;
}

export interface TargetSummary {
  rounds: number;
  latencyUs: Pcts | null;
  serviceUs: Pcts | null;
  /** Streams: intended start → first whole SSE event with data (the stream figure). */
  firstEventUs: Pcts | null;
  /** Streams: intended start → response head. */
  headUs: Pcts | null;
  /** Streams: intended start → first body byte. */
  firstByteUs: Pcts | null;
  /** Streams: per request, first event − head. */
  headLeadUs: Pcts | null;
  gapUs: Pcts | null;
  /** How late the load generator sent (intended start → send), µs; null in results written before it was kept. */
  sendLagUs?: Pcts | null;
  achievedRps: number | null;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  saturationP99Us: number | null;
  gatewayTimeUs: Pcts | null;
  retried: number;
  retriedUs: Pcts | null;
  /** Answered by a later target or after a failed attempt (loadtest/pacer.ts `failedOver`). */
  failedOver: number;
  telemetryDropped: number | null;
  cpuPct: number | null;
  cpuPerReqUs: number | null;
  mocksCpuPerReqUs: number | null;
  rssMaxMB: number | null;
  pacerCpuPct: number | null;
  mocksCpuPct?: number | null;
  machineCpuPct?: number | null;
  raw: TargetRun[];
}

export interface ScenarioResult {
  name: string;
  description: string;
  kind: 'latency' | 'saturation' | 'faults';
  rate: number | null;
  stream: boolean;
  targets: Record<string, TargetSummary>;
}

export interface Environment {
  date: string;
  commit: string;
  dirty: boolean;
  node: string;
  cpu: string;
  cores: number;
  memGiB: number;
  quick: boolean;
  configDigest: string;
  features: Record<string, boolean | string>;
  placement: string;
  /** `--baseline`: the other build run as microgate-base in this run, and the config it ran with. */
  baseline: { ref: string; commit: string; config: string } | null;
  /** How each microgate instance ran (server.workers), and the targets left out of this run, with why. */
  microgate?: { threads: Record<string, string> };
}

const PCTS: Array<keyof Pcts> = ['p50', 'p90', 'p99', 'p999'];
const PCT_LABEL: Record<keyof Pcts, string> = { p50: 'p50', p90: 'p90', p99: 'p99', p999: 'p99.9' };

function git(cmd: string): string {
  try {
    return execSync(`git ${cmd}`, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
}

/** The commit and whether the tree differs from it, read when the code to measure is built: a tree edited during a long run measured what was built, not what it ends as. */
export function sourceState(): { commit: string; dirty: boolean } {
  return { commit: git('rev-parse --short HEAD') || 'unknown', dirty: git('status --porcelain -- src bench loadtest mock-providers') !== '' };
}

export function environment(quick: boolean, placement: string, features: Record<string, boolean | string>, baseline: Environment['baseline'] = null, microgate: Environment['microgate'] = { threads: {} }, source = sourceState()): Environment {
  const config = readFileSync(join(import.meta.dirname, '../microgate.bench.yaml'));
  return {
    date: new Date().toISOString(),
    commit: source.commit,
    dirty: source.dirty,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    quick,
    configDigest: createHash('sha256').update(config).digest('hex').slice(0, 12),
    features,
    placement,
    baseline,
    microgate,
  };
}

type PctField = 'latencyUs' | 'serviceUs' | 'firstEventUs' | 'headUs' | 'firstByteUs' | 'gapUs';

export function added(sc: ScenarioResult, target: string, field: PctField = 'latencyUs'): Pcts | null {
  const t = sc.targets[target]?.[field];
  const d = sc.targets.direct?.[field];
  if (!t || !d) return null;
  return { p50: t.p50 - d.p50, p90: t.p90 - d.p90, p99: t.p99 - d.p99, p999: t.p999 - d.p999 };
}

const us = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)} ms` : `${n} µs`);

function latencyTable(sc: ScenarioResult): string[] {
  const rows = [
    '| target | achieved req/s | p50 | p90 | p99 | p99.9 | added p50 | added p99 | send lag p99 | added service p50 / p99 | in-gateway p50 / p99 | target CPU | CPU per request (× floor) | RSS | errors | CPU: mocks / load / machine |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, t] of Object.entries(sc.targets)) {
    const l = t.latencyUs;
    const a = added(sc, name);
    const sv = added(sc, name, 'serviceUs');
    const gw = t.gatewayTimeUs ? `${us(t.gatewayTimeUs.p50)} / ${us(t.gatewayTimeUs.p99)}` : '–';
    rows.push(
      `| ${name} | ${t.achievedRps ?? '–'} | ${us(l?.p50)} | ${us(l?.p90)} | ${us(l?.p99)} | ${us(l?.p999)} | ${name === 'direct' ? '–' : us(a?.p50)} | ${name === 'direct' ? '–' : us(a?.p99)} | ${us(t.sendLagUs?.p99)} | ${name === 'direct' ? '–' : `${us(sv?.p50)} / ${us(sv?.p99)}`} | ${gw} | ${t.cpuPct ?? '–'}% | ${perRequest(sc, name)} | ${t.rssMaxMB ?? '–'} MB | ${t.errors} | ${contention(t)} |`,
    );
  }
  return rows;
}

/** The mocks', the load generator's and the whole machine's CPU (% of one core): shows a run that competed with something else. */
const contention = (t: TargetSummary): string => `${t.mocksCpuPct ?? '–'}% / ${t.pacerCpuPct ?? '–'}% / ${t.machineCpuPct ?? '–'}%`;

/** CPU time per request, µs, and its ratio to the floor's in the same scenario. */
function perRequest(sc: ScenarioResult, name: string): string {
  const v = sc.targets[name]?.cpuPerReqUs;
  if (v === null || v === undefined) return '–';
  const f = sc.targets.floor?.cpuPerReqUs;
  return `${v.toFixed(1)} µs${f && name !== 'floor' ? ` (${(v / f).toFixed(2)} ×)` : ''}`;
}

function streamTable(sc: ScenarioResult): string[] {
  const rows = [
    '| target | first event p50 | p90 | p99 | added first event p50 | added p90 | added p99 | send lag p99 | head p50 / first byte p50 | event − head p50 / p99 | event gap p99 (added) | in-gateway p50 / p99 (to first byte) | target CPU | CPU per request (× floor) | errors | CPU: mocks / load / machine |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, t] of Object.entries(sc.targets)) {
    const a = added(sc, name, 'firstEventUs');
    const g = added(sc, name, 'gapUs');
    const d = name === 'direct';
    const gw = t.gatewayTimeUs ? `${us(t.gatewayTimeUs.p50)} / ${us(t.gatewayTimeUs.p99)}` : '–';
    const e = t.firstEventUs;
    rows.push(
      `| ${name} | ${us(e?.p50)} | ${us(e?.p90)} | ${us(e?.p99)} | ${d ? '–' : us(a?.p50)} | ${d ? '–' : us(a?.p90)} | ${d ? '–' : us(a?.p99)} | ${us(t.sendLagUs?.p99)} | ${us(t.headUs?.p50)} / ${us(t.firstByteUs?.p50)} | ${us(t.headLeadUs?.p50)} / ${us(t.headLeadUs?.p99)} | ${us(t.gapUs?.p99)}${d ? '' : ` (${us(g?.p99)})`} | ${gw} | ${t.cpuPct ?? '–'}% | ${perRequest(sc, name)} | ${t.errors} | ${contention(t)} |`,
    );
  }
  return rows;
}

/** Whether any target sent its response head before its first event (then head-based timing would flatter it). */
function streamNote(sc: ScenarioResult): string[] {
  const leads = Object.entries(sc.targets).filter(([, t]) => t.headLeadUs !== null) as Array<[string, TargetSummary & { headLeadUs: Pcts }]>;
  if (leads.length === 0) return [];
  const early = leads.filter(([, t]) => t.headLeadUs.p50 > 100);
  const worst = Math.max(...leads.map(([, t]) => t.headLeadUs.p99));
  return early.length === 0
    ? [`Every target's response head reached the client with its first event (event − head p99 ≤ ${us(worst)}): the added time to the first event is not a matter of which target sends its head first.`, '']
    : [`Sent their head ahead of the first event (event − head p50 > 100 µs): ${early.map(([n, t]) => `${n} (${us(t.headLeadUs.p50)})`).join(', ')}; their head time flatters them, the first-event columns do not.`, ''];
}

function saturationTable(sc: ScenarioResult): string[] {
  const floor = sc.targets.floor?.achievedRps ?? null;
  const portkey = sc.targets.portkey?.achievedRps ?? null;
  const rows = ['| target | req/s | × floor | × Portkey | p99 at that load | errors | target CPU | RSS |', '|---|---|---|---|---|---|---|---|'];
  for (const [name, t] of Object.entries(sc.targets)) {
    const r = t.achievedRps ?? 0;
    rows.push(`| ${name} | ${r} | ${floor ? (r / floor).toFixed(2) : '–'} | ${portkey ? (r / portkey).toFixed(1) : '–'} | ${us(t.saturationP99Us)} | ${t.errors} | ${t.cpuPct ?? '–'}% | ${t.rssMaxMB ?? '–'} MB |`);
  }
  return rows;
}

function faultsTable(sc: ScenarioResult): string[] {
  const rows = [
    '| target | sent | client successes | success rate | statuses seen by the client | p50 / p99, all | answered past a failed or resting target | answered after more than one attempt | their p50 / p99 | in-gateway p50 / p99 |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, t] of Object.entries(sc.targets)) {
    const sent = t.ok + t.errors;
    const gw = t.gatewayTimeUs ? `${us(t.gatewayTimeUs.p50)} / ${us(t.gatewayTimeUs.p99)}` : '–';
    rows.push(
      `| ${name} | ${sent} | ${t.ok} | ${sent ? ((t.ok / sent) * 100).toFixed(2) : '–'}% | ${Object.entries(t.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${us(t.latencyUs?.p50)} / ${us(t.latencyUs?.p99)} | ${t.failedOver ?? '–'} | ${t.retried} | ${us(t.retriedUs?.p50)} / ${us(t.retriedUs?.p99)} | ${gw} |`,
    );
  }
  return rows;
}

/** Percentile curves of added latency (target − direct), one line per target, log-scale µs. */
export function addedLatencySvg(sc: ScenarioResult, field: 'latencyUs' | 'firstEventUs' = 'latencyUs'): string {
  const series = Object.keys(sc.targets)
    .filter((t) => t !== 'direct')
    .map((t) => ({ name: t, v: added(sc, t, field) }))
    .filter((s): s is { name: string; v: Pcts } => s.v !== null);
  const W = 640, H = 360, L = 70, R = 150, T = 40, B = 50;
  const vals = series.flatMap((s) => PCTS.map((p) => Math.max(1, s.v[p])));
  const lo = 1, hi = Math.max(10, ...vals);
  const y = (v: number) => T + (H - T - B) * (1 - Math.log10(Math.max(lo, v)) / Math.log10(hi * 1.2));
  const x = (i: number) => L + ((W - L - R) * i) / (PCTS.length - 1);
  const colors = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${L}" y="22" font-size="14">${sc.name}: added ${field === 'firstEventUs' ? 'time to the first event' : 'latency'} over direct (µs, log scale)</text>`);
  for (let e = 0; 10 ** e <= hi * 1.2; e++) {
    const yy = y(10 ** e).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#ddd"/><text x="${L - 8}" y="${yy}" text-anchor="end" dy="4">${10 ** e >= 1000 ? `${10 ** e / 1000} ms` : `${10 ** e}`}</text>`);
  }
  PCTS.forEach((p, i) => out.push(`<text x="${x(i)}" y="${H - B + 20}" text-anchor="middle">${PCT_LABEL[p]}</text>`));
  series.forEach((s, k) => {
    const c = colors[k % colors.length];
    const pts = PCTS.map((p, i) => `${x(i).toFixed(1)},${y(s.v[p]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    PCTS.forEach((p, i) => out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(s.v[p]).toFixed(1)}" r="3" fill="${c}"/>`));
    out.push(`<text x="${W - R + 10}" y="${T + 18 * k + 10}" fill="${c}">${s.name}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export function saturationSvg(sc: ScenarioResult): string {
  const entries = Object.entries(sc.targets).map(([n, t]) => ({ n, v: t.achievedRps ?? 0 }));
  const W = 640, H = 60 + entries.length * 36, L = 110, R = 90;
  const max = Math.max(1, ...entries.map((e) => e.v));
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="10" y="22" font-size="14">${sc.name}: requests per second (closed loop, ${Object.values(sc.targets)[0]?.raw[0]?.saturation ? '64 connections' : ''})</text>`];
  entries.forEach((e, i) => {
    const yy = 40 + i * 36;
    const w = ((W - L - R) * e.v) / max;
    out.push(`<text x="${L - 8}" y="${yy + 16}" text-anchor="end">${e.n}</text><rect x="${L}" y="${yy}" width="${w.toFixed(1)}" height="24" fill="${e.n.startsWith('microgate') ? '#d62728' : '#1f77b4'}"/><text x="${L + w + 6}" y="${yy + 16}">${e.v}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** How the microgate instances ran (server.workers). */
function threadsNote(env: Environment): string[] {
  const m = env.microgate;
  if (!m || Object.keys(m.threads).length === 0) return [];
  return [`Request threads: ${Object.entries(m.threads).map(([k, v]) => `\`${k}\`: ${v}`).join('; ')}.`, ''];
}

function goals(results: ScenarioResult[]): string[] {
  const chat = results.find((r) => r.name === 'chat-5k');
  const sat = results.find((r) => r.name === 'saturation');
  const mg = chat?.targets.microgate;
  const mgAdded = chat ? added(chat, 'microgate') : null;
  const floorAdded = chat ? added(chat, 'floor') : null;
  const satMg = sat?.targets.microgate?.achievedRps ?? null;
  const satFloor = sat?.targets.floor?.achievedRps ?? null;
  const satPk = sat?.targets.portkey?.achievedRps ?? null;
  const sat2t = sat?.targets['microgate-2t']?.achievedRps ?? null;
  const cpuMg = chat?.targets.microgate?.cpuPerReqUs ?? null;
  const cpuFloor = chat?.targets.floor?.cpuPerReqUs ?? null;
  const rss = Math.max(...results.map((r) => r.targets.microgate?.rssMaxMB ?? 0));
  const fmt = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : 'missed');
  const rows = ['| goal (issue 3) | measured | |', '|---|---|---|'];
  const ratio = mgAdded && floorAdded && floorAdded.p50 > 0 ? mgAdded.p50 / floorAdded.p50 : null;
  rows.push(`| added p50 ≤ 1.2 × the floor's added p50 | ${ratio === null ? '–' : `${ratio.toFixed(2)} × (${us(mgAdded!.p50)} vs ${us(floorAdded!.p50)})`} | ${fmt(ratio === null ? null : ratio <= 1.2)} |`);
  rows.push(`| in-gateway p50 ≤ 10 µs | ${us(mg?.gatewayTimeUs?.p50)} | ${fmt(mg?.gatewayTimeUs ? mg.gatewayTimeUs.p50 <= 10 : null)} |`);
  rows.push(`| in-gateway p99 ≤ 50 µs | ${us(mg?.gatewayTimeUs?.p99)} | ${fmt(mg?.gatewayTimeUs ? mg.gatewayTimeUs.p99 <= 50 : null)} |`);
  rows.push(`| CPU per request ≤ 1.2 × the floor's (chat-5k) | ${cpuMg !== null && cpuFloor ? `${(cpuMg / cpuFloor).toFixed(2)} × (${cpuMg.toFixed(1)} µs vs ${cpuFloor.toFixed(1)} µs)` : '–'} | ${fmt(cpuMg !== null && cpuFloor ? cpuMg / cpuFloor <= 1.2 : null)} |`);
  rows.push(`| saturation ≥ 0.9 × the floor | ${satMg && satFloor ? `${(satMg / satFloor).toFixed(2)} ×` : '–'}${sat2t && satFloor ? ` (2 request threads: ${(sat2t / satFloor).toFixed(2)} ×)` : ''} | ${fmt(satMg && satFloor ? satMg / satFloor >= 0.9 : null)} |`);
  rows.push(`| saturation ≥ 20 × Portkey | ${satMg && satPk ? `${(satMg / satPk).toFixed(1)} ×` : '–'} | ${fmt(satMg && satPk ? satMg / satPk >= 20 : null)} |`);
  rows.push(`| RSS ≤ 150 MB | ${rss > 0 ? `${rss} MB` : '–'} | ${fmt(rss > 0 ? rss <= 150 : null)} |`);
  return rows;
}

export function renderReadme(env: Environment, results: ScenarioResult[], jsonFiles: string[]): string {
  const lines: string[] = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (method: `shared/BENCHMARKING.md`, harness: `bench/run.ts`). Numbers on a shared 2-core VM drift between runs: compare ratios within one run, and never treat a timing as pass/fail.',
    '',
    `Latest run: ${env.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${env.commit}\`${env.dirty ? ' (with uncommitted changes)' : ''}, Node ${env.node}, ${env.cpu}, ${env.cores} cores, ${env.memGiB} GiB. ${env.placement}. Bench config digest \`${env.configDigest}\`.`,
    '',
    `Features on in microgate: ${Object.entries(env.features).filter(([k]) => k !== 'note').map(([k, v]) => `${k} ${v ? 'on' : 'off'}`).join(', ')}${env.features.note ? ` (${String(env.features.note)})` : ''}.`,
    '',
    ...(env.baseline
      ? [
          `Baseline A/B (\`--baseline ${env.baseline.ref}\`): \`microgate-base\` is microgate built from commit \`${env.baseline.commit.slice(0, 9)}\`, run with its own config (\`${env.baseline.config}\`) on the same models as \`microgate\`, and visited next to it in every round (A B, then B A), so both sides of the comparison come from this one run.`,
          '',
        ]
      : []),
    'Latency runs: open-loop constant arrival (`loadtest/pacer.ts`, undici dispatch on a 1 ms timer), each request timed from its intended start into a µs HDR histogram (p50…p99.9 columns; CO-safe, and they include the pacing timer\'s own lateness: about the same for every target at p50, not at p99, where a busy target on these 2 cores delays the load generator itself (each table\'s "send lag p99" column shows it; subtract it before reading a target\'s added p99) and, as "service", from its actual send; targets visited A B A B over rounds; medians over rounds. Saturation: autocannon closed loop (`loadtest/cannon.ts`), µs from its `response` event. "Added" = target − direct at the same percentile in the same run. In-gateway time is microgate\'s own histogram (`GET /admin/stats`): arrival to last byte written (first byte for streams) minus the wait on the provider, JSON work included.',
    '',
    'Streams: "first event" is the time from a request\'s intended start to the first SSE event the client holds whole (its blank line arrived) with a `data:` line, in the format the client reads (OpenAI chunks through microgate, the provider\'s own for direct: Anthropic\'s `message_start` in stream-5k-anthropic); it means the same for every target, whatever each sends first. The response head and the first body byte are timed as well; "event − head" is, per request, how long the head came before that event (a few µs: together). Event gap: time between body chunks after the first event.',
    '',
    'CPU per request: the target process\'s CPU time (user + system, all its threads, the telemetry worker included), read from /proc right before the first measured request is sent and right after the last one ended (no warm-up in the window), divided by the requests completed in it, at the scenario\'s fixed rate. Summed per-thread `schedstat` (ns) when every thread lived through the window, else `/proc/<pid>/stat` (10 ms ticks). The figure a shared machine disturbs least; "× floor" compares it with the floor\'s in the same run.',
    '',
    ...threadsNote(env),
  ];
  for (const sc of results) {
    lines.push(`## ${sc.name}`, '', sc.description, '');
    if (sc.kind === 'saturation') lines.push(...saturationTable(sc), '', `![${sc.name}](plots/${sc.name}.svg)`, '');
    else if (sc.kind === 'faults') lines.push(...faultsTable(sc), '');
    else if (sc.stream) lines.push(...streamTable(sc), '', ...streamNote(sc), `![${sc.name}](plots/${sc.name}-first-event.svg)`, '');
    else lines.push(...latencyTable(sc), '', `![${sc.name}](plots/${sc.name}-added.svg)`, '');
  }
  const dropped = Math.max(-1, ...results.map((r) => r.targets.microgate?.telemetryDropped ?? -1));
  if (dropped >= 0) lines.push(`Telemetry records microgate dropped over the whole run: ${dropped}.`, '');
  lines.push('## Goals', '', ...goals(results), '', '## Reproduce', '', '```sh', 'npm ci', 'npm run bench                 # ~7 minutes: every scenario in loadtest/scenarios/', 'npm run bench -- --quick      # ~40 s smoke run (writes to results/quick/)', 'npm run bench -- --only chat-5k,stream-5k --baseline <git-ref>   # A/B against another commit, in one run', `npm run bench -- --compare results/${jsonFiles[0] ?? '<file>.json'}`, 'npm run bench:micro           # tinybench micro-benchmarks of the hot functions', '```', '', `Raw files of this run: ${jsonFiles.map((f) => `\`${f}\``).join(', ')}.`, '');
  return lines.join('\n');
}

export function writeReports(dir: string, env: Environment, results: ScenarioResult[]): string[] {
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const stamp = env.date.slice(0, 10);
  const files: string[] = [];
  for (const sc of results) {
    const name = `${stamp}-${env.commit}-${sc.name}.json`;
    writeFileSync(join(dir, name), `${JSON.stringify({ environment: env, scenario: sc }, null, 1)}\n`);
    files.push(name);
    if (sc.kind === 'saturation') writeFileSync(join(dir, 'plots', `${sc.name}.svg`), saturationSvg(sc));
    else if (sc.kind === 'latency') writeFileSync(join(dir, 'plots', sc.stream ? `${sc.name}-first-event.svg` : `${sc.name}-added.svg`), addedLatencySvg(sc, sc.stream ? 'firstEventUs' : 'latencyUs'));
  }
  writeFileSync(join(dir, 'README.md'), renderReadme(env, results, files));
  return files.map((f) => join(dir, f));
}

/** Where two runs differ in what sets their absolute figures: machine, Node, mode, placement, config, a dirty tree. */
export function unlike(now: Environment, before: Environment): string[] {
  const out: string[] = [];
  for (const k of ['cpu', 'cores', 'node', 'quick', 'placement', 'configDigest'] as const) if (now[k] !== before[k]) out.push(`${k}: ${String(before[k])} → ${String(now[k])}`);
  if (now.dirty || before.dirty) out.push('a run from a tree with uncommitted changes');
  return out;
}

/** Prints each comparable figure of this run against an earlier results file (or a run's files). */
export function compareWith(file: string, results: ScenarioResult[], env: Environment): void {
  if (!existsSync(file)) {
    process.stdout.write(`compare: ${file} not found\n`);
    return;
  }
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as { scenario: ScenarioResult; environment?: Environment };
  // Absolute percentiles and req/s move with the machine more than with the code (direct saturation,
  // which no change touches, was 40k req/s on one host and 59–75k on another): say when they are unlike.
  const differ = earlier.environment === undefined ? ['the earlier file records no environment'] : unlike(env, earlier.environment);
  if (differ.length > 0) process.stdout.write(`compare: NOT like for like (${differ.join('; ')}): compare added latency and × floor within each run, not these ratios\n`);
  const now = results.find((r) => r.name === earlier.scenario.name);
  if (!now) {
    process.stdout.write(`compare: this run has no scenario ${earlier.scenario.name}\n`);
    return;
  }
  process.stdout.write(`\ncompare ${earlier.scenario.name}: now / before (below 1 is better for latency, above 1 for req/s)\n`);
  for (const [target, t] of Object.entries(now.targets)) {
    const b = earlier.scenario.targets[target];
    if (!b) continue;
    const parts: string[] = [];
    for (const field of ['latencyUs', 'firstEventUs', 'gatewayTimeUs'] as const) {
      const x = t[field];
      const y = b[field];
      if (x && y) parts.push(`${field} ${PCTS.map((p) => `${PCT_LABEL[p]} ${(x[p] / Math.max(1, y[p])).toFixed(2)}`).join(' ')}`);
    }
    if (t.cpuPerReqUs && b.cpuPerReqUs) parts.push(`cpu/req ${(t.cpuPerReqUs / b.cpuPerReqUs).toFixed(2)}`);
    if (t.achievedRps && b.achievedRps) parts.push(`req/s ${(t.achievedRps / b.achievedRps).toFixed(2)}`);
    process.stdout.write(`  ${target.padEnd(10)} ${parts.join(' | ')}\n`);
  }
}
