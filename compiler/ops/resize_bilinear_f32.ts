// RESIZE_BILINEAR on float32 (TFLite Micro's reference_ops::ResizeBilinear<float>). The scale is
// float(in) / out (align_corners: float(in - 1) / (out - 1)); a source coordinate is
// (v + 0.5f) * scale - 0.5f with half_pixel_centers, else v * scale; its floor (at least 0) and
// ceil (at most in - 1) are the rows / columns read; then
//   ((((in00 * (1 - dy)) * (1 - dx) + (in10 * dy) * (1 - dx)) + (in01 * (1 - dy)) * dx) + (in11 * dy) * dx) + 0.0f
// with dy = coordinate - lower row, every operation rounded to float32 (the final + 0.0f, TFLite's
// rounding offset for float, turns a -0 sum into +0). The coordinates and weights are computed here
// once per output row and column, with the same float operations; the kernel does the per-pixel
// products and sums.

import { FLOAT_HELPERS, requireF32 } from './float32.ts';
import { defineOp, type ModuleLowering } from './op_module.ts';
import { resizeShape, shapeFields, type ResizeAttrs, type ResizeShape } from './resize.ts';

export interface ResizeBilinearF32Params extends ResizeShape {
  /** Per output row / column: lower and upper source index. */
  ys: number[];
  xs: number[];
  /** Per output row / column: the weights (1 - d) of the lower and d of the upper source, float32. */
  wys: number[];
  wxs: number[];
}

const f = Math.fround;

/** ComputeInterpolationValues for every output index: [lower, upper] pairs and [1 - d, d] weights. */
export function bilinearF32Table(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): { index: number[]; weight: number[] } {
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const index: number[] = [];
  const weight: number[] = [];
  for (let v = 0; v < outSize; v++) {
    const scaled = halfPixel ? f(f(f(v + 0.5) * scale) - 0.5) : f(v * scale);
    const lower = Math.max(Math.floor(scaled), 0);
    const upper = Math.min(Math.ceil(scaled), inSize - 1);
    const d = f(scaled - lower);
    index.push(lower, upper);
    weight.push(f(1 - d), d);
  }
  return { index, weight };
}

export const resizeBilinearF32Kernel = defineOp({
  builtins: [],
  key: 'resize_bilinear_f32',
  float32For: ['RESIZE_BILINEAR'],
  read(r): ResizeAttrs {
    return r.fail('internal: resize_bilinear_f32 is chosen by the RESIZE_BILINEAR lowering');
  },
  lower(ctx, attrs): ModuleLowering<ResizeBilinearF32Params> {
    const { x, shape } = resizeShape(ctx);
    requireF32(ctx, x, 'input');
    const rows = bilinearF32Table(shape.inH, shape.outH, attrs.alignCorners, attrs.halfPixel);
    const cols = bilinearF32Table(shape.inW, shape.outW, attrs.alignCorners, attrs.halfPixel);
    // TFLite clamps only the upper source index; a float32 scale rounded up could push the lower one past the edge.
    const outside = (t: number[], size: number): boolean => t.some((v, i) => i % 2 === 0 && v > size - 1);
    if (outside(rows.index, shape.inH) || outside(cols.index, shape.inW)) ctx.fail(`resizing ${shape.inH}x${shape.inW} to ${shape.outH}x${shape.outW} makes TFLite's float32 source index leave the input`);
    const params: ResizeBilinearF32Params = { ...shape, ys: rows.index, xs: cols.index, wys: rows.weight, wxs: cols.weight };
    return { params, kernel: 'resize_bilinear_f32', cFiles: [...FLOAT_HELPERS, 'portable/resize_bilinear_f32.c'], inputs: [x.id], macs: 8 * shape.batches * shape.outH * shape.outW * shape.channels };
  },
  run(p: ResizeBilinearF32Params, io) {
    const x = io.input(0).f32();
    const y = io.output(0).f32();
    const at = (b: number, r: number, c: number, ch: number): number => x[((b * p.inH + r) * p.inW + c) * p.channels + ch] as number;
    let o = 0;
    for (let b = 0; b < p.batches; b++) {
      for (let i = 0; i < p.outH; i++) {
        const y0 = p.ys[2 * i] as number;
        const y1 = p.ys[2 * i + 1] as number;
        const wy0 = p.wys[2 * i] as number;
        const wy1 = p.wys[2 * i + 1] as number;
        for (let j = 0; j < p.outW; j++) {
          const x0 = p.xs[2 * j] as number;
          const x1 = p.xs[2 * j + 1] as number;
          const wx0 = p.wxs[2 * j] as number;
          const wx1 = p.wxs[2 * j + 1] as number;
          for (let ch = 0; ch < p.channels; ch++) {
            const t00 = f(f(at(b, y0, x0, ch) * wy0) * wx0);
            const t10 = f(f(at(b, y1, x0, ch) * wy1) * wx0);
            const t01 = f(f(at(b, y0, x1, ch) * wy0) * wx1);
            const t11 = f(f(at(b, y1, x1, ch) * wy1) * wx1);
            y[o++] = f(f(f(f(t00 + t10) + t01) + t11) + 0);
          }
        }
      }
    }
  },
  emitC(p: ResizeBilinearF32Params, e) {
    const ys = e.array('ys', 'int32_t', p.ys, 'per output row: lower and upper source rows');
    const xs = e.array('xs', 'int32_t', p.xs, 'per output column: lower and upper source columns');
    // The weights' float32 bits, exact (the kernel reads them back as floats).
    const bits = (ws: number[]): number[] => Array.from(new Uint32Array(Float32Array.from(ws).buffer));
    const wys = e.array('wys', 'uint32_t', bits(p.wys), 'per output row: float32 bits of the lower and upper weights (1 - dy, dy)');
    const wxs = e.array('wxs', 'uint32_t', bits(p.wxs), 'per output column: float32 bits of the lower and upper weights (1 - dx, dx)');
    const params = e.params('tf_resize_bilinear_f32_params', { ...shapeFields(p), ys, xs, wys, wxs });
    e.call(`tf_resize_bilinear_f32(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
