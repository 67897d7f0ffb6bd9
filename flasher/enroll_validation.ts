// `validate --board <b> --enroll <spec>`: enrollment on the device, step by step against the TS
// reference (compiler/adapt/enroll_plan.ts). Each ENROLL reply's example count and saved-head
// CRC-32 must match the reference head after the same examples, each classification every score
// byte, and at the end the whole saved head is read back (READ_HEAD) and compared.

import type { Board } from '../compiler/boards/board_schema.ts';
import { countFromTicks, countingOf, millisecondsOf } from '../compiler/boards/counting.ts';
import type { CompiledModel } from '../compiler/compile.ts';
import { enrollSummaryBytes, type ExpectedEnrollment } from '../compiler/adapt/enroll_plan.ts';
import { compareOutputs } from '../compiler/validate/compare.ts';
import { AgentSession } from './agent_session.ts';
import { isEmulated, type DeviceCaseResult, type DeviceValidationReport, type OpenDevice } from './device_validation.ts';

export async function validateEnrollmentOnDevice(
  compiled: CompiledModel,
  board: Board,
  device: OpenDevice,
  plan: ExpectedEnrollment,
  onStep?: (done: number, total: number) => void,
): Promise<DeviceValidationReport> {
  const session = new AgentSession(device.transport, {
    expectModelSha256: compiled.model.sha256,
    baudRate: isEmulated(board) ? undefined : board.uart.baud,
    connectTimeoutMs: isEmulated(board) ? 10_000 : 5_000,
  });
  const hello = await session.connect();
  const counting = countingOf(board, hello.counterName, hello.cyclesPerTick);
  const results: DeviceCaseResult[] = [];
  const total = plan.steps.length + 1;
  const timed = (ticks: number): Pick<DeviceCaseResult, 'ticks' | 'instructions' | 'cycles' | 'milliseconds'> => {
    const count = countFromTicks(counting, ticks);
    return {
      ticks,
      instructions: counting.unit === 'instructions' ? count : null,
      cycles: counting.unit === 'cycles' ? count : null,
      milliseconds: millisecondsOf(counting, count),
    };
  };
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
  const stats = await session.stats();
  const passed = results.filter((r) => r.pass).length;
  return { board: board.id, transport: device.description, hello, counting, cases: results, passed, failed: results.length - passed, stats };
}
