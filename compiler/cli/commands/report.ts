import path from 'node:path';
import { findBoard } from '../../boards/load_boards.ts';
import { arenaRegionsFor } from '../../boards/regions.ts';
import { compileModel, loadModel } from '../../compile.ts';
import { writeOutputFile } from '../../output_paths.ts';
import { renderReportHtml } from '../../report/render_html.ts';
import { buildReportData, loadProfile } from '../../report/report_data.ts';
import { formatInt } from '../format.ts';
import { setJsonResult } from '../json_output.ts';

export interface ReportCommandOptions {
  board: string;
  out: string;
  profile?: string;
  json?: boolean;
}

export function reportCommand(modelPath: string, opts: ReportCommandOptions): void {
  const board = findBoard(opts.board);
  const profile = opts.profile !== undefined ? loadProfile(opts.profile) : undefined;
  // Planned across the board's RAM regions, as compile and build plan it.
  const regions = arenaRegionsFor(board);
  const compiled = compileModel(loadModel(modelPath), regions === undefined ? {} : { regions });
  const data = buildReportData(compiled, board, { profile, profileSource: opts.profile && path.basename(opts.profile) });
  const html = renderReportHtml(data);
  writeOutputFile(opts.out, html, '--out');
  if (opts.json) {
    setJsonResult({ file: opts.out, ...data });
    return;
  }
  const m = data.memory;
  console.log(
    `wrote ${opts.out} (${formatInt(Buffer.byteLength(html))} bytes): ${data.model.file} on ${board.id}, ` +
      `${data.summary.ops} ops, ${formatInt(data.summary.macs)} MACs, arena ${formatInt(data.arena.bytes)} bytes, ` +
      `flash ${formatInt(m.flash.used)}/${formatInt(m.flash.budget)} bytes, RAM ${formatInt(m.ram.used)}/${formatInt(m.ram.budget)} bytes` +
      (m.fits ? '' : ' (does not fit)'),
  );
}
