import { runDoctor, type CheckStatus, type DoctorOptions, type DoctorReport } from '../../doctor/doctor.ts';
import { stdoutColors, type Colors } from '../color.ts';
import { table } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

function statusText(status: CheckStatus, c: Colors): string {
  if (status === 'ok') return c.green('ok');
  if (status === 'missing') return c.red('missing');
  return c.yellow('warning');
}

/** The doctor report as text: a table, the fixes, and the verdict. */
export function formatDoctorReport(report: DoctorReport, c: Colors = stdoutColors): string {
  // The table is laid out plain and the status words coloured afterwards, so widths stay right.
  const plain = table(
    ['status', 'check', 'needed for', 'detail'],
    report.checks.map((x) => [x.status, x.name, x.neededFor, x.detail]),
  ).split('\n');
  const lines: string[] = [
    plain.map((line, i) => (i < 2 ? line : line.replace(/^(ok|missing|warning)\b/, (m) => statusText(m as CheckStatus, c)))).join('\n'),
  ];
  const fixes = report.checks.filter((x) => x.status !== 'ok' && x.fix !== undefined);
  if (fixes.length > 0) {
    // Items with the same fix (one apt command, or ESP-IDF) are listed together.
    const byFix = new Map<string, { names: string[]; required: boolean }>();
    for (const x of fixes) {
      const entry = byFix.get(x.fix as string) ?? { names: [], required: false };
      entry.names.push(x.name);
      entry.required ||= x.required;
      byFix.set(x.fix as string, entry);
    }
    lines.push('', 'To fix:');
    for (const [fix, { names, required }] of byFix) lines.push(`  ${names.join(', ')}${required ? '' : ' (optional)'}: ${fix}`);
  }
  const missing = report.checks.filter((x) => x.required && x.status === 'missing').map((x) => x.name);
  lines.push(
    '',
    report.ok
      ? c.green('Everything the QEMU boards need is present.')
      : c.red(`Missing for the QEMU boards: ${missing.join(', ')} (exit code ${report.exitCode}).`),
  );
  return lines.join('\n');
}

/** Returns the exit code: 0 when the QEMU boards have everything, 2 otherwise. */
export async function doctorCommand(opts: { json?: boolean }, doctorOptions: DoctorOptions = {}): Promise<number> {
  const report = await runDoctor(doctorOptions);
  const missing = report.checks.filter((x) => x.required && x.status === 'missing').map((x) => x.name);
  if (opts.json) setJsonResult(report, report.ok ? undefined : `missing for the QEMU boards: ${missing.join(', ')}`);
  else console.log(formatDoctorReport(report));
  return report.exitCode;
}
