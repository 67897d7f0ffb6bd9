// The agent firmware of a streaming pipeline for a QEMU board: the classifier is the agent's model
// (HELLO, WRITE_INPUT, INVOKE as usual), the front end and <prefix>_stream.c are linked beside it,
// FEED runs <prefix>_feed (tf_agent_stream.c) and RESET resets the whole pipeline.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Board } from '../boards/board_schema.ts';
import { TinyforgeError } from '../errors.ts';
import { agentModelSpec, AGENT_C_SOURCES, generateAgentModelSource } from '../targets/agent_model_source.ts';
import { buildAgentFirmware, firmwareFamilyOf, type FirmwareBuild } from '../targets/firmware.ts';
import { defaultWorkDir, RUNTIME_TEMPLATES_DIR } from '../targets/target.ts';
import { streamModules, writeStreamModules, type CompiledStream } from './compile_stream.ts';
import { generateStreamAgentSource, streamResetStatement } from './stream_agent_source.ts';

export async function buildStreamFirmware(s: CompiledStream, board: Board, opts: { workDir?: string } = {}): Promise<FirmwareBuild> {
  if (!firmwareFamilyOf(board)) throw new TinyforgeError(`${board.id}: tinyforge builds streaming firmware itself only for the QEMU serial boards (qemu-mps2-*, qemu-mps3-an547, qemu-riscv32-virt)`);
  const workDir = opts.workDir ?? defaultWorkDir();
  const key = createHash('sha256').update(JSON.stringify(s.config)).update(s.frontend.model.sha256).update(s.classifier.model.sha256).update(s.classifier.isa).digest('hex').slice(0, 16);
  const dir = path.join(workDir, 'firmware-src', `${board.id}-${s.prefix}-stream-${key}`);
  mkdirSync(dir, { recursive: true });
  const files = writeStreamModules(s, dir);
  const agentModel = path.join(dir, 'tf_agent_model.c');
  writeFileSync(agentModel, generateAgentModelSource({ ...agentModelSpec(s.classifier, board.id), resetStatement: streamResetStatement(s.prefix), includes: [`${s.prefix}_stream.h`] }));
  const agentStream = path.join(dir, 'tf_agent_stream.c');
  writeFileSync(agentStream, generateStreamAgentSource(streamModules(s)));
  const companions = files.filter((f) => f.endsWith('.c') && path.basename(f) !== `${s.classifier.prefix}.c`);
  return buildAgentFirmware(board, { dir, prefix: s.classifier.prefix }, [...AGENT_C_SOURCES.map((f) => path.join(RUNTIME_TEMPLATES_DIR, f)), agentModel, agentStream, ...companions], {
    workDir,
    cflags: ['-DTF_AGENT_STREAM'],
    name: 'tf_agent_stream',
  });
}
