// `validate --board <b> --enroll <spec>`: enrollment on the device, step by step against the TS
// reference (compiler/adapt/enroll_plan.ts). Each ENROLL reply's example count and saved-head
// CRC-32 must match the reference head after the same examples, each classification every score
// byte, and at the end the whole saved head is read back (READ_HEAD) and compared.

import type { Board } from '../compiler/boards/board_schema.ts';
import type { CompiledModel } from '../compiler/compile.ts';
import { enrollSummaryBytes, type ExpectedEnrollment } from '../compiler/adapt/enroll_plan.ts';
import { compareOutputs } from '../compiler/validate/compare.ts';
import { connectAgent, finishReport, timedTicks, type DeviceCaseResult, type DeviceValidationReport, type OpenDevice } from './device_validation.ts';

export async function validateEnrollmentOnDevice(
  compiled: CompiledModel,
  board: Board,
  device: OpenDevice,
  plan: ExpectedEnrollment,
  onStep?: (done: number, total: number) => void,
): Promise<DeviceValidationReport> {
  const agent = await connectAgent(compiled, board, device);
  const { session, counting } = agent;
  const results: DeviceCaseResult[] = [];
  const total = plan.steps.length + 1;
  const timed = (ticks: number) => timedTicks(counting, ticks);
  for (const [i, { step, expected }] of plan.steps.entries()) {
    if (step.kind === 'enroll') {
      const r = await session.enroll(step.cls, step.input);
      results.push({ ...compareOutputs(step.id, [expected], [enrollSummaryBytes(r.count, r.headBytes, r.headCrc32)]), ...timed(r.ticks) });
    } else {
      const r = await session.infer([step.input]);
      results.push({ ...compareOutputs(step.id, [expected], r.outputs), ...timed(r.ticks) });
    }
    onStep?.(i + 1, total);
  }
  const head = await session.readHead(plan.finalHead.byteLength);
  results.push({ ...compareOutputs('saved head', [plan.finalHead], [head]), ticks: 0, instructions: null, cycles: null, milliseconds: null });
  onStep?.(total, total);
  return finishReport(agent, board, device, results);
}
