// A batched convolution or pooling layer (batch > 1) run as its batch-1 portable kernel once per
// image, with the input and output pointers advanced by one image each time. TFLite's kernels treat
// the images independently, so this is exact; the batch-1 layers, their fast kernels and their
// in-place planning stay as they are. A batched layer is never planned in place (it declares no
// in-place input): image b's output would overwrite the start of image b + 1's input.

import type { AvgPoolS8Layer, ConvS8Layer, DepthwiseConvS8Layer, MaxPoolS8Layer, ModuleLayer } from '../ir/layers.ts';
import type { Tensor } from '../ir/graph.ts';
import { convFields, poolFields } from '../emit-c/emit_module.ts';
import { avgPoolS8 } from '../kernels/avg_pool_s8.ts';
import { convS8 } from '../kernels/conv_s8.ts';
import { depthwiseConvS8 } from '../kernels/depthwise_conv_s8.ts';
import { maxPoolS8 } from '../kernels/max_pool_s8.ts';
import { int32Constant, int8Constant, tensorData } from '../reference/run_reference.ts';
import { defineOp, type CEmitter, type KernelIo } from './op_module.ts';
import { requireModule } from './registry.ts';

/** The batch-1 layers that can run per image: the portable int8 kernels, or a module layer (int16 convolution / pooling). */
export type PerImageInner = ConvS8Layer | DepthwiseConvS8Layer | AvgPoolS8Layer | MaxPoolS8Layer | ModuleLayer;

export interface PerImageParams {
  batches: number;
  /** Bytes of one image of the input and of the output. */
  inImageBytes: number;
  outImageBytes: number;
  inner: PerImageInner;
}

/** C files of the inner layer's kernel. */
export function perImageCFiles(inner: PerImageInner): readonly string[] {
  switch (inner.kernel) {
    case 'conv_s8':
      return ['portable/conv_s8.c'];
    case 'depthwise_conv_s8':
      return ['portable/depthwise_conv_s8.c'];
    case 'avg_pool_s8':
      return ['portable/pool_s8.h', 'portable/avg_pool_s8.c'];
    case 'max_pool_s8':
      return ['portable/pool_s8.h', 'portable/max_pool_s8.c'];
    case 'module':
      return inner.cFiles;
  }
}

/** The name summaries show: the inner kernel's. */
export function perImageKernelName(inner: PerImageInner): string {
  return inner.kernel === 'module' ? inner.displayKernel : inner.kernel;
}

function runImage(inner: PerImageInner, graph: KernelIo['graph'], input: Uint8Array, output: Uint8Array): void {
  const s8 = (b: Uint8Array): Int8Array => new Int8Array(b.buffer, b.byteOffset, b.byteLength);
  switch (inner.kernel) {
    case 'conv_s8':
    case 'depthwise_conv_s8': {
      const filter = int8Constant(graph.tensors[inner.weights] as Tensor);
      const bias = inner.bias < 0 ? null : int32Constant(graph.tensors[inner.bias] as Tensor);
      if (inner.kernel === 'conv_s8') convS8(inner, s8(input), filter, bias, s8(output));
      else depthwiseConvS8(inner, s8(input), filter, bias, s8(output));
      return;
    }
    case 'avg_pool_s8':
      avgPoolS8(inner, s8(input), s8(output));
      return;
    case 'max_pool_s8':
      maxPoolS8(inner, s8(input), s8(output));
      return;
    case 'module': {
      const inT = graph.tensors[inner.inputs[0] as number] as Tensor;
      const outT = graph.tensors[inner.outputs[0] as number] as Tensor;
      const io: KernelIo = { graph, input: () => tensorData(inT, input), output: () => tensorData(outT, output), inputCount: 1, outputCount: 1 };
      requireModule(inner.module).run(inner.params, io);
      return;
    }
  }
}

/** Writes the inner kernel's parameter block and returns its call for image pointers `input`, `output`. */
function emitInner(inner: PerImageInner, e: CEmitter, loop: (call: string) => void, input: string, output: string): void {
  switch (inner.kernel) {
    case 'conv_s8':
    case 'depthwise_conv_s8': {
      const fields: Record<string, string | number> = {
        ...convFields(inner),
        input_offset: inner.inputOffset,
        output_offset: inner.outputOffset,
        act_min: inner.actMin,
        act_max: inner.actMax,
        filter: e.constant(inner.weights),
        bias: inner.bias >= 0 ? e.constant(inner.bias) : 'NULL',
        multiplier: e.array('multiplier', 'int32_t', inner.multipliers, 'per-channel requantization multipliers'),
        shift: e.array('shift', 'int8_t', inner.shifts, 'per-channel requantization shifts'),
      };
      if (inner.kernel === 'depthwise_conv_s8') {
        const params = e.params('tf_depthwise_conv_s8_params', { ...fields, depth_multiplier: inner.depthMultiplier });
        loop(`tf_depthwise_conv_s8(${params}, ${input}, ${output});`);
      } else {
        loop(`tf_conv_s8(${e.params('tf_conv_s8_params', fields)}, ${input}, ${output});`);
      }
      return;
    }
    case 'avg_pool_s8':
    case 'max_pool_s8':
      loop(`tf_${inner.kernel}(${e.params('tf_pool_s8_params', poolFields(inner))}, ${input}, ${output});`);
      return;
    case 'module':
      // The module writes its own block and call; only its pointers and its call statement change.
      requireModule(inner.module).emitC(inner.params, { ...e, layer: inner, input: () => input, output: () => output, call: loop });
      return;
  }
}

export const perImageKernel = defineOp({
  builtins: [],
  key: 'per_image',
  read(r) {
    return r.fail('internal: per_image is chosen by the convolution and pooling lowerings for batches above 1');
  },
  lower(ctx) {
    return ctx.fail('internal: per_image is chosen by the convolution and pooling lowerings for batches above 1');
  },
  run(p: PerImageParams, io) {
    const input = io.input(0).bytes;
    const output = io.output(0).bytes;
    for (let b = 0; b < p.batches; b++) {
      runImage(p.inner, io.graph, input.subarray(b * p.inImageBytes, (b + 1) * p.inImageBytes), output.subarray(b * p.outImageBytes, (b + 1) * p.outImageBytes));
    }
  },
  emitC(p: PerImageParams, e) {
    const t = (i: 'input' | 'output'): Tensor => e.graph.tensors[(i === 'input' ? e.layer.inputs[0] : e.layer.outputs[0]) as number] as Tensor;
    // Pointer steps are in elements of the pointer's type.
    const step = (which: 'input' | 'output', bytes: number): number => bytes / (t(which).dtype === 'int16' ? 2 : 1);
    const input = `(${e.input(0)} + tf_image * ${step('input', p.inImageBytes)})`;
    const output = `(${e.output(0)} + tf_image * ${step('output', p.outImageBytes)})`;
    emitInner(p.inner, e, (call) => e.call(`for (int32_t tf_image = 0; tf_image < ${p.batches}; ++tf_image) ${call}`), input, output);
  },
});
