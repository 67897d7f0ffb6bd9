// Loads the C kernel templates and stitches the ones a model uses into one translation unit,
// so the C compiler sees every call site with its constant parameters.

import { readFileSync } from 'node:fs';
import type { KernelName } from '../ir/layers.ts';
import type { KernelCall } from '../passes/select_kernels.ts';
import { packagePath } from '../package_root.ts';

/** A generic layer kernel, one of the optimized kernels, or a generic kernel's Helium variant. */
export type KernelSourceName = Exclude<KernelName, 'module'> | Exclude<KernelCall['kind'], 'generic'> | 'add_s8_mve';

export const TEMPLATE_ROOT = packagePath('runtime-c-templates/');

const KERNEL_FILES: Readonly<Record<KernelSourceName, { file: string; needs: string[] }>> = {
  conv_s8: { file: 'portable/conv_s8.c', needs: [] },
  depthwise_conv_s8: { file: 'portable/depthwise_conv_s8.c', needs: [] },
  fully_connected_s8: { file: 'portable/fully_connected_s8.c', needs: [] },
  avg_pool_s8: { file: 'portable/avg_pool_s8.c', needs: ['portable/pool_s8.h', 'portable/tf_simd.h'] },
  max_pool_s8: { file: 'portable/max_pool_s8.c', needs: ['portable/pool_s8.h', 'portable/tf_simd.h', 'portable/tf_mve.h'] },
  add_s8: { file: 'portable/add_s8.c', needs: ['portable/tf_simd.h'] },
  mul_s8: { file: 'portable/mul_s8.c', needs: [] },
  softmax_s8: { file: 'portable/softmax_s8.c', needs: ['portable/tf_fixedpoint.h', 'portable/softmax_s8.h'] },
  reshape: { file: '', needs: [] },
  pad_s8: { file: 'portable/pad_s8.c', needs: [] },
  concatenation_s8: { file: 'portable/concatenation_s8.c', needs: [] },
  requantize_s8: { file: 'portable/requantize_s8.c', needs: [] },
  quantize_f32_s8: { file: 'portable/quantize_f32_s8.c', needs: ['portable/affine.h'] },
  dequantize_s8_f32: { file: 'portable/dequantize_s8_f32.c', needs: ['portable/affine.h'] },
  conv_gemm_s8: { file: 'portable/conv_gemm_s8.c', needs: ['portable/tf_simd.h', 'portable/conv_gemm_s8.h'] },
  conv_gemm_s8_sparse: { file: 'portable/conv_gemm_s8_sparse.c', needs: ['portable/tf_simd.h', 'portable/conv_gemm_s8.h'] },
  depthwise_conv_s8_fast: { file: 'portable/depthwise_conv_s8_fast.c', needs: ['portable/tf_simd.h'] },
  fully_connected_s8_fast: { file: 'portable/fully_connected_s8_fast.c', needs: ['portable/tf_simd.h', 'portable/mac_4rows_s8.h'] },
  fully_connected_s8_s4w: { file: 'portable/fully_connected_s8_s4w.c', needs: ['portable/tf_simd.h', 'portable/s4w.h'] },
  conv_s8_s4w: { file: 'portable/conv_s8_s4w.c', needs: ['portable/tf_simd.h', 'portable/s4w.h'] },
  fully_connected_s8_sparse: { file: 'portable/fully_connected_s8_sparse.c', needs: ['portable/tf_simd.h'] },
  fully_connected_s8_csr_sparse: { file: 'portable/fully_connected_s8_csr_sparse.c', needs: ['portable/tf_simd.h'] },
  conv_gemm_s8_mve: { file: 'portable/conv_gemm_s8_mve.c', needs: ['portable/tf_mve.h'] },
  conv_gemm_s8_mve_sparse: { file: 'portable/conv_gemm_s8_mve_sparse.c', needs: ['portable/tf_mve.h', 'portable/conv_gemm_s8_mve.c'] },
  depthwise_conv_s8_mve: { file: 'portable/depthwise_conv_s8_mve.c', needs: ['portable/tf_mve.h'] },
  fully_connected_s8_mve: { file: 'portable/fully_connected_s8_mve.c', needs: ['portable/tf_mve.h'] },
  fully_connected_s8_mve_sparse: { file: 'portable/fully_connected_s8_mve_sparse.c', needs: ['portable/tf_mve.h'] },
  add_s8_mve: { file: 'portable/add_s8_mve.c', needs: ['portable/tf_simd.h', 'portable/add_s8.c', 'portable/tf_mve.h'] },
};

function readTemplate(relativePath: string): string {
  const text = readFileSync(TEMPLATE_ROOT + relativePath, 'utf8');
  // Local includes are satisfied by the concatenation order.
  return text.replace(/^#include "[^"]+"\s*$/gm, '').trim();
}

/** The C source of every kernel in `used` and of the op modules' `moduleFiles`, each file once, helpers first. */
export function kernelSources(used: Iterable<KernelSourceName>, moduleFiles: Iterable<string> = []): string {
  const files: string[] = ['portable/tf_quant.h'];
  for (const kernel of used) {
    const entry = KERNEL_FILES[kernel];
    for (const f of [...entry.needs, entry.file]) if (f && !files.includes(f)) files.push(f);
  }
  for (const f of moduleFiles) if (!files.includes(f)) files.push(f);
  return files.map((f) => `/* ---- ${f} ---- */\n${readTemplate(f)}\n`).join('\n');
}
