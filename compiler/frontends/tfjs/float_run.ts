// A plain float32 interpreter for FloatGraph: calibration statistics and the float side of SQNR.

import { TinyforgeError } from '../../errors.ts';
import { elementCount, type Activation, type Padding } from '../../ir/graph.ts';
import type { BinaryKind, FloatGraph, FloatTensor } from './float_graph.ts';

function act(a: Activation, x: number): number {
  switch (a) {
    case 'none':
      return x;
    case 'relu':
      return x < 0 ? 0 : x;
    case 'relu6':
      return x < 0 ? 0 : x > 6 ? 6 : x;
    case 'relu_n1_to_1':
      return x < -1 ? -1 : x > 1 ? 1 : x;
  }
}

function leadingPad(padding: Padding, inSize: number, filter: number, stride: number, dilation: number, out: number): number {
  if (padding === 'valid') return 0;
  const effective = (filter - 1) * dilation + 1;
  return Math.floor(Math.max(0, (out - 1) * stride + effective - inSize) / 2);
}

const BINARY: Readonly<Record<BinaryKind, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  sub: (a, b) => a - b,
  squared_difference: (a, b) => (a - b) * (a - b),
};

/** out = f(a, b) elementwise with numpy broadcasting (shapes aligned at the last dimension). */
function broadcast(a: Float32Array, sa: readonly number[], b: Float32Array, sb: readonly number[], out: Float32Array, so: readonly number[], f: (a: number, b: number) => number): void {
  const strides = (s: readonly number[]): number[] => {
    const full = [...new Array<number>(so.length - s.length).fill(1), ...s];
    return full.map((d, i) => (d === 1 ? 0 : elementCount(full.slice(i + 1))));
  };
  const ta = strides(sa);
  const tb = strides(sb);
  const idx = new Array<number>(so.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < so.length; d++) {
      ia += (idx[d] as number) * (ta[d] as number);
      ib += (idx[d] as number) * (tb[d] as number);
    }
    out[i] = f(a[ia] as number, b[ib] as number);
    for (let d = so.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (so[d] as number)) break;
      idx[d] = 0;
    }
  }
}

/** Runs the graph on one case; returns every activation tensor's values by tensor id. */
export function runFloat(graph: FloatGraph, inputs: readonly Float32Array[]): Map<number, Float32Array> {
  const values = new Map<number, Float32Array>();
  graph.inputs.forEach((id, i) => {
    const t = graph.tensors[id] as FloatTensor;
    const v = inputs[i];
    if (!v || v.length !== elementCount(t.shape)) throw new TinyforgeError(`${graph.name}: input ${i} '${t.name}' needs ${elementCount(t.shape)} values, got ${v?.length ?? 0}`);
    values.set(id, v);
  });
  const get = (id: number): Float32Array => {
    const t = graph.tensors[id] as FloatTensor;
    const v = t.data ?? values.get(id);
    if (!v) throw new TinyforgeError(`${graph.name}: internal: tensor '${t.name}' used before it is computed`);
    return v;
  };
  const shape = (id: number): number[] => (graph.tensors[id] as FloatTensor).shape;
  for (const op of graph.ops) {
    const outId = op.outputs[0] as number;
    const out = new Float32Array(elementCount(shape(outId)));
    const x = get(op.inputs[0] as number);
    switch (op.kind) {
      case 'conv2d':
      case 'depthwise_conv2d': {
        const [, inH, inW, inC] = shape(op.inputs[0] as number) as [number, number, number, number];
        const [, outH, outW, outC] = shape(outId) as [number, number, number, number];
        const fShape = shape(op.inputs[1] as number);
        const kH = fShape[1] as number;
        const kW = fShape[2] as number;
        const w = get(op.inputs[1] as number);
        const b = (op.inputs[2] as number) >= 0 ? get(op.inputs[2] as number) : null;
        const a = op.attrs;
        const padT = leadingPad(a.padding, inH, kH, a.strideH, a.dilationH, outH);
        const padL = leadingPad(a.padding, inW, kW, a.strideW, a.dilationW, outW);
        const dw = op.kind === 'depthwise_conv2d';
        const mult = dw ? outC / inC : 1;
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            for (let oc = 0; oc < outC; oc++) {
              let s = b ? (b[oc] as number) : 0;
              for (let ky = 0; ky < kH; ky++) {
                const iy = oy * a.strideH - padT + ky * a.dilationH;
                if (iy < 0 || iy >= inH) continue;
                for (let kx = 0; kx < kW; kx++) {
                  const ix = ox * a.strideW - padL + kx * a.dilationW;
                  if (ix < 0 || ix >= inW) continue;
                  const base = (iy * inW + ix) * inC;
                  if (dw) {
                    s += (x[base + Math.floor(oc / mult)] as number) * (w[(ky * kW + kx) * outC + oc] as number);
                  } else {
                    const wb = ((oc * kH + ky) * kW + kx) * inC;
                    for (let ic = 0; ic < inC; ic++) s += (x[base + ic] as number) * (w[wb + ic] as number);
                  }
                }
              }
              out[(oy * outW + ox) * outC + oc] = act(a.activation, s);
            }
          }
        }
        break;
      }
      case 'fully_connected': {
        const [o, n] = shape(op.inputs[1] as number) as [number, number];
        const w = get(op.inputs[1] as number);
        const b = (op.inputs[2] as number) >= 0 ? get(op.inputs[2] as number) : null;
        // One row of n inputs, or (keepNumDims) every row of the [1, T, n] input.
        for (let r = 0; r < out.length / o; r++) {
          for (let j = 0; j < o; j++) {
            let s = b ? (b[j] as number) : 0;
            for (let i = 0; i < n; i++) s += (x[r * n + i] as number) * (w[j * n + i] as number);
            out[r * o + j] = act(op.attrs.activation, s);
          }
        }
        break;
      }
      case 'average_pool2d':
      case 'max_pool2d': {
        const [, inH, inW, c] = shape(op.inputs[0] as number) as [number, number, number, number];
        const [, outH, outW] = shape(outId) as [number, number, number, number];
        const a = op.attrs;
        const padT = leadingPad(a.padding, inH, a.filterH, a.strideH, 1, outH);
        const padL = leadingPad(a.padding, inW, a.filterW, a.strideW, 1, outW);
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            for (let ch = 0; ch < c; ch++) {
              let s = op.kind === 'max_pool2d' ? -Infinity : 0;
              let n = 0;
              for (let ky = 0; ky < a.filterH; ky++) {
                const iy = oy * a.strideH - padT + ky;
                if (iy < 0 || iy >= inH) continue;
                for (let kx = 0; kx < a.filterW; kx++) {
                  const ix = ox * a.strideW - padL + kx;
                  if (ix < 0 || ix >= inW) continue;
                  const v = x[(iy * inW + ix) * c + ch] as number;
                  s = op.kind === 'max_pool2d' ? Math.max(s, v) : s + v;
                  n++;
                }
              }
              out[(oy * outW + ox) * c + ch] = act(a.activation, op.kind === 'max_pool2d' ? s : s / n);
            }
          }
        }
        break;
      }
      case 'add':
      case 'mul':
      case 'sub':
      case 'squared_difference': {
        const f = BINARY[op.kind];
        const a = op.attrs.activation;
        broadcast(x, shape(op.inputs[0] as number), get(op.inputs[1] as number), shape(op.inputs[1] as number), out, shape(outId), (p, q) => act(a, f(p, q)));
        break;
      }
      case 'gather': {
        const ids = get(op.inputs[1] as number);
        const [rows, depth] = shape(op.inputs[0] as number) as [number, number];
        ids.forEach((v, t) => {
          if (!Number.isInteger(v) || v < 0 || v >= rows) throw new TinyforgeError(`${graph.name}: '${op.source}': id ${v} is outside the table of ${rows} rows`);
          out.set(x.subarray(v * depth, (v + 1) * depth), t * depth);
        });
        break;
      }
      case 'batch_matmul': {
        const y = get(op.inputs[1] as number);
        const [, m, n] = shape(outId) as [number, number, number];
        const sa = shape(op.inputs[0] as number);
        const k = (op.attrs.adjX ? sa[1] : sa[2]) as number;
        const { adjX, adjY } = op.attrs;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let d = 0; d < k; d++) s += (x[adjX ? d * m + i : i * k + d] as number) * (y[adjY ? j * k + d : d * n + j] as number);
            out[i * n + j] = s;
          }
        }
        break;
      }
      case 'mean': {
        const inShape = shape(op.inputs[0] as number);
        const axes = new Set(Array.from(get(op.inputs[1] as number)));
        const kept = inShape.map((d, i) => (axes.has(i) ? 1 : d));
        const count = x.length / out.length;
        const idx = new Array<number>(inShape.length).fill(0);
        for (let i = 0; i < x.length; i++) {
          let o = 0;
          for (let d = 0; d < inShape.length; d++) o = o * (kept[d] as number) + (axes.has(d) ? 0 : (idx[d] as number));
          out[o] = (out[o] as number) + (x[i] as number) / count;
          for (let d = inShape.length - 1; d >= 0; d--) {
            idx[d] = (idx[d] as number) + 1;
            if ((idx[d] as number) < (inShape[d] as number)) break;
            idx[d] = 0;
          }
        }
        break;
      }
      case 'rsqrt':
        for (let i = 0; i < out.length; i++) out[i] = 1 / Math.sqrt(x[i] as number);
        break;
      case 'softmax': {
        const shp = shape(outId);
        const depth = shp[shp.length - 1] as number;
        for (let r = 0; r < out.length / depth; r++) {
          let m = -Infinity;
          for (let i = 0; i < depth; i++) m = Math.max(m, x[r * depth + i] as number);
          let sum = 0;
          for (let i = 0; i < depth; i++) sum += Math.exp(op.attrs.beta * ((x[r * depth + i] as number) - m));
          for (let i = 0; i < depth; i++) out[r * depth + i] = Math.exp(op.attrs.beta * ((x[r * depth + i] as number) - m)) / sum;
        }
        break;
      }
      case 'reshape':
        out.set(x);
        break;
      case 'pad': {
        const inShape = shape(op.inputs[0] as number);
        const outShape = shape(outId);
        const p = get(op.inputs[1] as number);
        const valueId = op.inputs[2] ?? -1;
        out.fill(valueId >= 0 ? (get(valueId)[0] as number) : 0);
        // Every input element goes to its index shifted by the leading pads.
        const idx = new Array<number>(inShape.length).fill(0);
        for (let i = 0; i < x.length; i++) {
          let o = 0;
          for (let d = 0; d < inShape.length; d++) o = o * (outShape[d] as number) + (idx[d] as number) + (p[2 * d] as number);
          out[o] = x[i] as number;
          for (let d = inShape.length - 1; d >= 0; d--) {
            idx[d] = (idx[d] as number) + 1;
            if ((idx[d] as number) < (inShape[d] as number)) break;
            idx[d] = 0;
          }
        }
        break;
      }
      case 'concatenation': {
        const outShape = shape(outId);
        const axis = op.attrs.axis;
        const outer = elementCount(outShape.slice(0, axis));
        let at = 0;
        for (let k = 0; k < outer; k++) {
          for (const id of op.inputs) {
            const size = elementCount(shape(id).slice(axis));
            out.set(get(id).subarray(k * size, (k + 1) * size), at);
            at += size;
          }
        }
        break;
      }
    }
    values.set(outId, out);
  }
  return values;
}
