// RESIZE_NEAREST_NEIGHBOR (int8 / int16 / float32) and RESIZE_BILINEAR (int8, as TFLite Micro; float32 in resize_bilinear_f32.ts). The output
// size is a constant input, so TFLite's per-pixel source arithmetic (float32 for nearest
// neighbour, 10-bit fixed point for bilinear) runs here once per output row and column; the
// kernels only read the resulting tables. Both copy raw values: like TFLite Micro, they assume
// the output shares the input's quantization.

import { DTYPE_BYTES, type Tensor } from '../ir/graph.ts';
import { constantInts, showShape, tensorLabel, type OpReader } from '../frontends/tflite/op_reader.ts';
import { BuiltinOptionsType, F } from '../frontends/tflite/schema.ts';
import type { LoweringContext } from '../passes/lower.ts';
import { defineOp } from './op_module.ts';

export interface ResizeShape {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
}

export interface NearestParams extends ResizeShape {
  elementBytes: number;
  /** Source row of each output row, source column of each output column. */
  ys: number[];
  xs: number[];
}

export interface BilinearParams extends ResizeShape {
  /** Per output row: lower source row, upper source row, weight of the upper one in 1/1024. */
  ys: number[];
  xs: number[];
}

/** TFLite's GetNearestNeighbor, in float32 as the reference kernel computes it. */
export function nearestSource(out: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number {
  const f = Math.fround;
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const scaled = f(f(out + (halfPixel ? 0.5 : 0)) * scale);
  // std::round: half away from zero (scaled is never negative here).
  let v = Math.min(alignCorners ? Math.floor(scaled + 0.5) : Math.floor(scaled), inSize - 1);
  if (halfPixel) v = Math.max(0, v);
  return v;
}

/** TFLite's ResizeBilinearInteger scale in 1/1024 units (rounded integer division). */
function bilinearScale10(inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners && outSize > 1) return Math.trunc((1024 * (inSize - 1) + Math.trunc((outSize - 1) / 2)) / (outSize - 1));
  return Math.trunc((1024 * inSize + Math.trunc(outSize / 2)) / outSize);
}

/** ComputeInterpolationValuesInteger for every output index: [lower, upper, weight of upper] triples. */
export function bilinearTable(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number[] {
  const scale = bilinearScale10(inSize, outSize, alignCorners);
  const table: number[] = [];
  for (let v = 0; v < outSize; v++) {
    const scaled = halfPixel ? v * scale + Math.trunc(scale / 2) - 512 : v * scale;
    const lower = Math.max(Math.trunc(scaled / 1024), 0);
    const upper = Math.min(Math.trunc((scaled + 1023) / 1024), inSize - 1);
    table.push(lower, upper, scaled - 1024 * lower);
  }
  return table;
}

export interface ResizeAttrs {
  alignCorners: boolean;
  halfPixel: boolean;
  [k: string]: boolean;
}

function readResize(r: OpReader, builtin: string): ResizeAttrs {
  r.arity(2, 2, 1);
  const x = r.input(0, 'input');
  const size = r.input(1, 'size');
  const y = r.output(0);
  r.rank(x, 'input', 4);
  r.rank(y, 'output', 4);
  if (x.dtype !== y.dtype) r.fail(`${r.label} output is ${y.dtype} but its input is ${x.dtype}`);
  const hw = constantInts(size);
  if (size.dtype !== 'int32' || !hw || hw.length !== 2) r.fail(`${r.label} size ${tensorLabel(size)} must be a constant int32 [2] tensor`);
  const [n, , , c] = x.shape as [number, number, number, number];
  const expected = [n, hw[0] as number, hw[1] as number, c];
  if (expected.join() !== y.shape.join()) r.fail(`${r.label} output ${tensorLabel(y)} has shape ${showShape(y.shape)}, expected ${showShape(expected)}`);
  const bilinear = builtin === 'RESIZE_BILINEAR';
  const t = bilinear ? r.options(BuiltinOptionsType.ResizeBilinearOptions, 'ResizeBilinearOptions') : r.options(BuiltinOptionsType.ResizeNearestNeighborOptions, 'ResizeNearestNeighborOptions');
  const ids = bilinear ? F.ResizeBilinearOptions : F.ResizeNearestNeighborOptions;
  const alignCorners = t ? t.bool(ids.alignCorners, false, 'align_corners') : false;
  const halfPixel = t ? t.bool(ids.halfPixelCenters, false, 'half_pixel_centers') : false;
  if (bilinear && alignCorners && halfPixel) r.fail(`${r.label} sets both align_corners and half_pixel_centers, which TFLite Micro's RESIZE_BILINEAR rejects`);
  return { alignCorners, halfPixel };
}

export function resizeShape(ctx: LoweringContext): { x: Tensor; shape: ResizeShape } {
  const x = ctx.tensor(0);
  const y = ctx.tensor(0, 'output');
  const [batches, inH, inW, channels] = x.shape as [number, number, number, number];
  const [, outH, outW] = y.shape as [number, number, number, number];
  return { x, shape: { batches, inH, inW, channels, outH, outW } };
}

export function shapeFields(p: ResizeShape): Record<string, number> {
  return { batches: p.batches, in_h: p.inH, in_w: p.inW, channels: p.channels, out_h: p.outH, out_w: p.outW };
}

export const resizeNearestOp = defineOp({
  builtins: ['RESIZE_NEAREST_NEIGHBOR'],
  read: readResize,
  lower(ctx, attrs) {
    const { x, shape } = resizeShape(ctx);
    // float32 pixels are copied as bytes like the integer ones (TFLite Micro's float kernel copies them too).
    const dtype = x.dtype === 'float32' ? 'float32' : ctx.quantizedType(x, 'input', ['int8', 'int16']);
    const ys = Array.from({ length: shape.outH }, (_, i) => nearestSource(i, shape.inH, shape.outH, attrs.alignCorners, attrs.halfPixel));
    const xs = Array.from({ length: shape.outW }, (_, i) => nearestSource(i, shape.inW, shape.outW, attrs.alignCorners, attrs.halfPixel));
    const params: NearestParams = { ...shape, elementBytes: DTYPE_BYTES[dtype], ys, xs };
    return { params, kernel: 'resize_nearest_neighbor', cFiles: ['portable/resize.h', 'portable/resize_nearest_neighbor.c'] };
  },
  run(p: NearestParams, io) {
    const x = io.input(0).u8();
    const y = io.output(0).u8();
    const pixel = p.channels * p.elementBytes;
    let o = 0;
    for (let b = 0; b < p.batches; b++) {
      for (const sy of p.ys) {
        for (const sx of p.xs) {
          const i = ((b * p.inH + sy) * p.inW + sx) * pixel;
          y.set(x.subarray(i, i + pixel), o);
          o += pixel;
        }
      }
    }
  },
  emitC(p: NearestParams, e) {
    const ys = e.array('ys', 'int32_t', p.ys, 'source row of each output row');
    const xs = e.array('xs', 'int32_t', p.xs, 'source column of each output column');
    const params = e.params('tf_resize_params', { ...shapeFields(p), element_bytes: p.elementBytes, ys, xs });
    e.call(`tf_resize_nearest_neighbor(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});

export const resizeBilinearOp = defineOp({
  builtins: ['RESIZE_BILINEAR'],
  read: readResize,
  lower(ctx, attrs) {
    const { x, shape } = resizeShape(ctx);
    ctx.quantizedType(x, 'input', ['int8']);
    const ys = bilinearTable(shape.inH, shape.outH, attrs.alignCorners, attrs.halfPixel);
    const xs = bilinearTable(shape.inW, shape.outW, attrs.alignCorners, attrs.halfPixel);
    // TFLite clamps only the upper source index; an extreme ratio could push the lower one past the edge.
    const outside = (t: number[], size: number): boolean => t.some((v, i) => i % 3 === 0 && v > size - 1);
    if (outside(ys, shape.inH) || outside(xs, shape.inW)) ctx.fail(`resizing ${shape.inH}x${shape.inW} to ${shape.outH}x${shape.outW} makes TFLite's fixed-point source index leave the input`);
    const params: BilinearParams = { ...shape, ys, xs };
    return { params, kernel: 'resize_bilinear_s8', cFiles: ['portable/resize.h', 'portable/resize_bilinear_s8.c'], macs: 4 * shape.batches * shape.outH * shape.outW * shape.channels };
  },
  run(p: BilinearParams, io) {
    const x = io.input(0).s8();
    const y = io.output(0).s8();
    const at = (b: number, r: number, c: number, ch: number): number => x[((b * p.inH + r) * p.inW + c) * p.channels + ch] as number;
    let o = 0;
    for (let b = 0; b < p.batches; b++) {
      for (let i = 0; i < p.outH; i++) {
        const [y0, y1, wy] = p.ys.slice(3 * i, 3 * i + 3) as [number, number, number];
        for (let j = 0; j < p.outW; j++) {
          const [x0, x1, wx] = p.xs.slice(3 * j, 3 * j + 3) as [number, number, number];
          for (let ch = 0; ch < p.channels; ch++) {
            const v =
              at(b, y0, x0, ch) * (1024 - wy) * (1024 - wx) + at(b, y1, x0, ch) * wy * (1024 - wx) + at(b, y0, x1, ch) * (1024 - wy) * wx + at(b, y1, x1, ch) * wy * wx;
            y[o++] = Math.trunc((v + (v > 0 ? 1 << 19 : -(1 << 19))) / (1 << 20));
          }
        }
      }
    }
  },
  emitC(p: BilinearParams, e) {
    const ys = e.array('ys', 'int32_t', p.ys, 'per output row: lower and upper source rows, upper weight (1/1024)');
    const xs = e.array('xs', 'int32_t', p.xs, 'per output column: lower and upper source columns, upper weight (1/1024)');
    const params = e.params('tf_resize_params', { ...shapeFields(p), element_bytes: 1, ys, xs });
    e.call(`tf_resize_bilinear_s8(${params}, ${e.input(0)}, ${e.output(0)});`);
  },
});
