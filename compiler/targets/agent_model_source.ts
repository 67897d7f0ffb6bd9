// Generates tf_agent_model.c: the binding between the on-device agent
// (runtime-c-templates/agent/tf_agent.c, protocol in docs/protocol.md) and one compiled model.
// It defines the static, 16-byte aligned input and output buffers, the tf_agent_model descriptor
// declared in runtime-c-templates/agent/tf_agent_model.h, and tf_agent_model_invoke(), which calls
// <prefix>_invoke on those buffers.
//
// Firmware = AGENT_C_SOURCES + tf_agent_model.c + <prefix>.c + one HAL implementing tf_hal.h,
// compiled with -I <runtime-c-templates>/agent -I <module dir>.

import type { CompiledModel } from '../compile.ts';
import { TinyforgeError } from '../errors.ts';

/** The portable agent sources, relative to runtime-c-templates/. */
export const AGENT_C_SOURCES: readonly string[] = ['agent/tf_agent.c', 'agent/tf_cobs.c', 'agent/tf_crc32.c'];
/** Include directory of tf_hal.h, tf_agent_model.h and tf_protocol.h, relative to runtime-c-templates/. */
export const AGENT_INCLUDE_DIR = 'agent';
/** Keep in step with TF_AGENT_MAX_IO in tf_agent_model.h. */
export const AGENT_MAX_IO = 8;
/** The smallest max payload an agent may be built with (TF_PROTO_MIN_PAYLOAD in tf_protocol.h). */
const AGENT_MIN_PAYLOAD = 256;
/** Longest board id HELLO carries (TF_HELLO_MAX_BOARD_ID in tf_protocol.h). */
export const AGENT_MAX_BOARD_ID = 63;

export interface AgentModelSpec {
  /** C prefix of the compiled model: `<prefix>.h` declares `<prefix>_invoke`. */
  prefix: string;
  /** Board id reported in HELLO, e.g. "qemu-mps2-an386". */
  boardId: string;
  /** SHA-256 of the .tflite file, 64 hex digits. */
  modelSha256: string;
  arenaBytes: number;
  /** Byte size of each input, in invoke's parameter order. */
  inputBytes: readonly number[];
  /** Byte size of each output, in invoke's parameter order. */
  outputBytes: readonly number[];
  /** C statement of tf_agent_model_reset() (default `<prefix>_reset();`); a stream resets the whole pipeline. */
  resetStatement?: string;
  /** Extra headers the reset statement needs. */
  includes?: readonly string[];
  /** Classes of the learnable head (compile --adapt last); absent or 0 without one. */
  headClasses?: number;
  /**
   * A text model linked with its tokenizer (<prefix>_tokenizer.c from compile --vocab): the
   * sequence length of its int32 token-id input, for the TEXT command. Absent: no TEXT.
   */
  textSeqLen?: number;
}

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const U32_MAX = 0xffff_ffff;

function checkSize(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > U32_MAX) {
    throw new TinyforgeError(`tf_agent_model: ${what} has an invalid byte size ${n}`);
  }
}

function checkSpec(spec: AgentModelSpec): void {
  if (!C_IDENTIFIER.test(spec.prefix)) {
    throw new TinyforgeError(`tf_agent_model: model prefix ${JSON.stringify(spec.prefix)} is not a C identifier`);
  }
  if (!/^[\x21-\x7e]+$/.test(spec.boardId) || spec.boardId.length > AGENT_MAX_BOARD_ID) {
    throw new TinyforgeError(
      `tf_agent_model: board id ${JSON.stringify(spec.boardId)} must be 1..${AGENT_MAX_BOARD_ID} printable ASCII characters without spaces`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(spec.modelSha256)) {
    throw new TinyforgeError(`tf_agent_model: model sha256 must be 64 lowercase hex digits, got ${JSON.stringify(spec.modelSha256)}`);
  }
  checkSize('the arena', spec.arenaBytes);
  if (spec.headClasses !== undefined && (!Number.isInteger(spec.headClasses) || spec.headClasses < 0 || spec.headClasses > 255)) {
    throw new TinyforgeError(`tf_agent_model: head classes must be 0..255, got ${spec.headClasses}`);
  }
  if (spec.headClasses && spec.inputBytes.length !== 1) throw new TinyforgeError('tf_agent_model: a learnable head needs a model with exactly one input');
  if (spec.textSeqLen !== undefined && (!Number.isInteger(spec.textSeqLen) || spec.textSeqLen < 1 || spec.inputBytes[0] !== 4 * spec.textSeqLen)) {
    throw new TinyforgeError(`tf_agent_model: a text model needs input 0 of ${spec.textSeqLen} int32 token ids, but input 0 has ${spec.inputBytes[0]} bytes`);
  }
  // TEXT's reply carries the ids: it must fit the smallest payload an agent may be built with.
  if (spec.textSeqLen !== undefined && 12 + 4 * spec.textSeqLen > AGENT_MIN_PAYLOAD) {
    throw new TinyforgeError(`tf_agent_model: sequence length ${spec.textSeqLen} is too long for the TEXT reply (at most ${(AGENT_MIN_PAYLOAD - 12) / 4} tokens)`);
  }
  for (const [kind, sizes] of [['input', spec.inputBytes], ['output', spec.outputBytes]] as const) {
    if (sizes.length > AGENT_MAX_IO) {
      throw new TinyforgeError(`tf_agent_model: the model has ${sizes.length} ${kind}s; the agent supports at most ${AGENT_MAX_IO}`);
    }
    sizes.forEach((n, i) => checkSize(`${kind} ${i}`, n));
  }
}

/** C string literal of printable ASCII (checked by checkSpec). */
function cString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Initializer list of a uint32_t[TF_AGENT_MAX_IO] array. */
function cU32List(values: readonly number[]): string {
  return values.length === 0 ? '{0}' : `{${values.map((v) => `${v}u`).join(', ')}}`;
}

/** The agent binding of a compiled model, for `boardId`. */
export function agentModelSpec(compiled: CompiledModel, boardId: string, text?: { seqLen: number }): AgentModelSpec {
  return {
    ...(text ? { textSeqLen: text.seqLen } : {}),
    prefix: compiled.prefix,
    boardId,
    modelSha256: compiled.model.sha256,
    arenaBytes: compiled.summary.arenaBytes,
    inputBytes: compiled.summary.inputs.map((t) => t.bytes),
    outputBytes: compiled.summary.outputs.map((t) => t.bytes),
    ...(compiled.head ? { headClasses: compiled.head.classes } : {}),
  };
}

/** Source text of tf_agent_model.c. */
export function generateAgentModelSource(spec: AgentModelSpec): string {
  checkSpec(spec);
  const { prefix, inputBytes, outputBytes } = spec;
  const P = prefix.toUpperCase();
  const lines: string[] = [];
  const L = (s = ''): void => {
    lines.push(s);
  };
  L('/* Generated by tinyforge (compiler/targets/agent_model_source.ts). Do not edit. */');
  L('#include <stdint.h>');
  L();
  L('#include "tf_agent_model.h"');
  L(`#include "${prefix}.h"`);
  for (const h of spec.includes ?? []) L(`#include "${h}"`);
  if (spec.textSeqLen !== undefined) L(`#include "${prefix}_tokenizer.h"`);
  L();
  // Compile-time checks that this binding and the compiled header agree (a negative array size
  // is an error in every C compiler).
  L(`typedef char tf_agent_check_inputs[(${P}_NUM_INPUTS == ${inputBytes.length}) ? 1 : -1];`);
  L(`typedef char tf_agent_check_outputs[(${P}_NUM_OUTPUTS == ${outputBytes.length}) ? 1 : -1];`);
  inputBytes.forEach((n, i) => L(`typedef char tf_agent_check_in${i}[(${P}_INPUT${i}_BYTES == ${n}) ? 1 : -1];`));
  outputBytes.forEach((n, i) => L(`typedef char tf_agent_check_out${i}[(${P}_OUTPUT${i}_BYTES == ${n}) ? 1 : -1];`));
  if (spec.textSeqLen !== undefined) L(`typedef char tf_agent_check_text[(${P}_SEQ_LEN == ${spec.textSeqLen}) ? 1 : -1];`);
  L();
  // One buffer per tensor so each starts 16-byte aligned; zero-sized tensors still get one byte.
  inputBytes.forEach((n, i) => L(`static uint8_t tf_agent_in${i}[${Math.max(n, 1)}] __attribute__((aligned(16)));`));
  outputBytes.forEach((n, i) => L(`static uint8_t tf_agent_out${i}[${Math.max(n, 1)}] __attribute__((aligned(16)));`));
  L();
  L('const tf_agent_model_t tf_agent_model = {');
  L(`    .board_id = ${cString(spec.boardId)},`);
  L(`    .model_sha256 = ${cString(spec.modelSha256)},`);
  L(`    .arena_bytes = ${spec.arenaBytes}u,`);
  L(`    .num_inputs = ${inputBytes.length}u,`);
  L(`    .num_outputs = ${outputBytes.length}u,`);
  L(`    .input_bytes = ${cU32List(inputBytes)},`);
  L(`    .output_bytes = ${cU32List(outputBytes)},`);
  L(`    .inputs = {${inputBytes.map((_, i) => `tf_agent_in${i}`).join(', ') || '0'}},`);
  L(`    .outputs = {${outputBytes.map((_, i) => `tf_agent_out${i}`).join(', ') || '0'}},`);
  L(`    .head_classes = ${spec.headClasses ?? 0}u,`);
  L(`    .text_seq_len = ${spec.textSeqLen ?? 0}u,`);
  L('};');
  L();
  // `void *` converts to whatever pointer type the header declares for each parameter.
  const args = [...inputBytes.map((_, i) => `(void *)tf_agent_in${i}`), ...outputBytes.map((_, i) => `(void *)tf_agent_out${i}`)];
  L('void tf_agent_model_reset(void) {');
  L(`  ${spec.resetStatement ?? `${prefix}_reset();`}`);
  L('}');
  L();
  L('int tf_agent_model_invoke(void) {');
  L(`  return ${prefix}_invoke(${args.join(', ')});`);
  L('}');
  L();
  if (spec.headClasses) {
    // ENROLL reads input 0; READ_HEAD and ENROLL's CRC read the saved image, rebuilt each time.
    L(`typedef char tf_agent_check_head[(${P}_HEAD_CLASSES == ${spec.headClasses}) ? 1 : -1];`);
    L(`static uint8_t tf_agent_head_image[${P}_HEAD_SAVE_BYTES] __attribute__((aligned(4)));`);
    L('int tf_agent_model_enroll(uint32_t cls) {');
    L(`  return ${prefix}_enroll((int)cls, (const void *)tf_agent_in0);`);
    L('}');
    L('uint32_t tf_agent_model_class_count(uint32_t cls) {');
    L(`  return ${prefix}_class_count((int)cls);`);
    L('}');
    L('const uint8_t *tf_agent_model_head(uint32_t *n) {');
    L(`  *n = ${prefix}_save(tf_agent_head_image);`);
    L('  return tf_agent_head_image;');
    L('}');
  } else {
    L('int tf_agent_model_enroll(uint32_t cls) {');
    L('  (void)cls;');
    L('  return TF_AGENT_NO_HEAD;');
    L('}');
    L('uint32_t tf_agent_model_class_count(uint32_t cls) {');
    L('  (void)cls;');
    L('  return 0u;');
    L('}');
    L('const uint8_t *tf_agent_model_head(uint32_t *n) {');
    L('  *n = 0u;');
    L('  return 0;');
    L('}');
  }
  L('int tf_agent_model_text(const uint8_t *text, uint32_t length, uint32_t *count) {');
  if (spec.textSeqLen !== undefined) {
    L(`  *count = (uint32_t)${prefix}_tokenize_bytes(text, length, (int32_t *)(void *)tf_agent_in0);`);
    L(`  return ${prefix}_invoke(${args.join(', ')});`);
  } else {
    L('  (void)text;');
    L('  (void)length;');
    L('  *count = 0u;');
    L('  return -1;');
  }
  L('}');
  return lines.join('\n') + '\n';
}
