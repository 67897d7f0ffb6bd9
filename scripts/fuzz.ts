// npm run fuzz -- [--count N] [--seed S] [--jobs J] [--sanitize K]
// The fuzz campaign of test/fuzz/campaign.ts at scale: N mutants of the shared models (default
// 100000) split over J child processes (default 2), K accepted mutants (default 100) built for
// the host under ASan + UBSan. Prints the rate and a summary of crashes, hangs and sanitizer
// findings with the mutations that caused them; exits 1 when there is any finding.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCampaign, type Finding } from '../test/fuzz/campaign.ts';

const USAGE = `usage: npm run fuzz -- [--count N] [--seed S] [--jobs J] [--sanitize K]
  --count N     mutants of the shared models (default 100000)
  --seed S      first seed of the mutation generator (default 1)
  --jobs J      child processes sharing the mutants (default 2)
  --sanitize K  accepted mutants built and run on the host under ASan + UBSan (default 100)
exit 0: no crash, hang or sanitizer finding; 1: findings (listed with their mutations); 2: bad arguments`;

const KNOWN_FLAGS = new Set(['--count', '--seed', '--jobs', '--sanitize', '--shard', '--start']);
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = process.argv.slice(2).find((a) => a.startsWith('-') && !KNOWN_FLAGS.has(a));
if (unknown !== undefined) {
  console.error(`unknown option ${unknown}\n${USAGE}`);
  process.exit(2);
}

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} wants a non-negative integer`);
    process.exit(2);
  }
  return v;
}

interface ShardResult {
  mutants: number;
  accepted: number;
  rejected: number;
  sanitized: number;
  seconds: number;
  slowestMs: number;
  findings: Finding[];
  rejectionKinds: [string, number][];
}

const count = flag('count', 100_000);
const seed = flag('seed', 1);
const jobs = Math.max(1, flag('jobs', 2));
const sanitize = flag('sanitize', 100);
const start = flag('start', 0);

if (process.argv.includes('--shard')) {
  // A child: one range, result as JSON on the last line of stdout.
  let last = performance.now();
  const r = await runCampaign({
    count,
    start,
    seed,
    sanitize,
    onProgress: (done, res) => {
      if (performance.now() - last > 30_000) {
        last = performance.now();
        process.stderr.write(`shard ${start}: ${done}/${count} mutants, ${res.findings.length} findings\n`);
      }
    },
  });
  const out: ShardResult = { ...r, rejectionKinds: [...r.rejectionKinds.entries()] };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const started = performance.now();
  const per = Math.ceil(count / jobs);
  const self = fileURLToPath(import.meta.url);
  const shards = await Promise.all(
    Array.from({ length: jobs }, (_, j) => {
      const n = Math.max(0, Math.min(per, count - j * per));
      const args = ['--import', 'tsx', self, '--shard', '--count', String(n), '--start', String(start + j * per), '--seed', String(seed), '--sanitize', String(Math.round((sanitize * n) / Math.max(1, count)))];
      return new Promise<ShardResult>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          const line = text.trim().split('\n').pop() ?? '';
          try {
            resolve(JSON.parse(line) as ShardResult);
          } catch {
            reject(new Error(`shard ${j} died (exit ${code}, signal ${signal}) without a result: a crash or hang outside the in-process checks`));
          }
        });
      });
    }),
  );
  const sum = (k: 'mutants' | 'accepted' | 'rejected' | 'sanitized'): number => shards.reduce((s, r) => s + r[k], 0);
  const findings = shards.flatMap((r) => r.findings);
  const wall = (performance.now() - started) / 1000;
  const cpu = shards.reduce((s, r) => s + r.seconds, 0);
  const kinds = new Map<string, number>();
  for (const r of shards) for (const [k, v] of r.rejectionKinds) kinds.set(k, (kinds.get(k) ?? 0) + v);
  console.log(`fuzz: ${sum('mutants')} mutants (seed ${seed}, ${jobs} processes) in ${wall.toFixed(0)} s wall, ${cpu.toFixed(0)} s summed over processes (${(sum('mutants') / cpu).toFixed(1)} mutants/s per process)`);
  console.log(`accepted ${sum('accepted')}, refused with a one-line error ${sum('rejected')}; slowest mutant ${Math.max(...shards.map((r) => r.slowestMs)).toFixed(0)} ms`);
  console.log(`host C of ${sum('sanitized')} accepted mutants built and run under ASan + UBSan`);
  const by = (k: Finding['kind']): number => findings.filter((f) => f.kind === k).length;
  console.log(`crashes ${by('crash')}, hangs ${by('hang')}, sanitizer/build findings ${by('sanitizer')}`);
  for (const f of findings.slice(0, 50)) console.log(`  ${f.kind} ${f.model} mutant ${f.mutant}: ${f.mutations.join('; ')} => ${f.message}`);
  console.log('most common refusals:');
  for (const [k, v] of [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${v}  ${k}`);
  process.exitCode = findings.length > 0 ? 1 : 0;
}
