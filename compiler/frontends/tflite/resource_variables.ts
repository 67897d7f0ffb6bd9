// Resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE, initialised by CALL_ONCE):
// streaming models keep past frames in them between invokes. tinyforge turns each variable into
// a state tensor: READ_VARIABLE copies it out, ASSIGN_VARIABLE copies a value in, and CALL_ONCE's
// init subgraph is evaluated here, at compile time, into the variable's initial bytes.

import type { Fail } from './checked_reader.ts';
import type { RawModel, RawOperator, RawSubgraph } from './read_model.ts';
import { builtinOperatorName } from './schema.ts';

export const RESOURCE_TYPE = 13;
export const STATE_OPS = new Set(['VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'CALL_ONCE']);

export interface ResourceVariables {
  /** Handle tensor (main subgraph) -> variable name ("container/shared_name"). */
  handleOf: Map<number, string>;
  /** Variable name -> bytes its init subgraph assigns. */
  initial: Map<string, Uint8Array>;
  /** Variable names in order of first appearance. */
  names: string[];
}

function opName(raw: RawModel, op: RawOperator): string {
  const code = raw.operatorCodes[op.opcodeIndex];
  return code ? builtinOperatorName(code.builtinCode) : '';
}

/** VarHandleOptions: container (field 0), shared_name (field 1). */
function variableName(op: RawOperator): string {
  const t = op.builtinOptions;
  const container = t?.string(0, 'container') ?? '';
  const shared = t?.string(1, 'shared_name') ?? '';
  return `${container}/${shared}`;
}

/** Handles bound by the VAR_HANDLE ops of one subgraph. */
function handles(raw: RawModel, sg: RawSubgraph, names: string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const op of sg.operators) {
    if (opName(raw, op) !== 'VAR_HANDLE') continue;
    const name = variableName(op);
    if (!names.includes(name)) names.push(name);
    const id = op.outputs[0];
    if (id !== undefined) out.set(id, name);
  }
  return out;
}

export function resolveResourceVariables(raw: RawModel, fail: Fail): ResourceVariables {
  const names: string[] = [];
  const handleOf = handles(raw, raw.subgraph, names);
  const initial = new Map<string, Uint8Array>();
  for (const op of raw.subgraph.operators) {
    if (opName(raw, op) !== 'CALL_ONCE') continue;
    // CallOnceOptions: init_subgraph_index (field 0).
    const index = op.builtinOptions?.i32(0, 0, 'init_subgraph_index') ?? 0;
    const sg = raw.subgraphs[index];
    if (index <= 0 || !sg) fail(`operator ${op.index} (CALL_ONCE) names init subgraph ${index}, which the model does not have`);
    const initHandles = handles(raw, sg, names);
    for (const initOp of sg.operators) {
      const name = opName(raw, initOp);
      if (name === 'VAR_HANDLE') continue;
      if (name !== 'ASSIGN_VARIABLE') fail(`CALL_ONCE init subgraph ${index} runs ${name}; tinyforge evaluates init subgraphs that only assign constants`);
      const variable = initHandles.get(initOp.inputs[0] ?? -1);
      const value = sg.tensors[initOp.inputs[1] ?? -1];
      const data = value ? raw.buffers[value.buffer]?.data : undefined;
      if (variable === undefined || !value || !data) fail(`CALL_ONCE init subgraph ${index} assigns a value that is not a constant`);
      initial.set(variable, new Uint8Array(data));
    }
  }
  return { handleOf, initial, names };
}
