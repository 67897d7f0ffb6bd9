// bench/stats.ts: the paired t-test the distillation bench reports its p-values with, checked against
// Student t critical values from the tables (two-sided 5% and 1%).

import { describe, expect, it } from 'vitest';
import { incompleteBeta, pairedTTest, summarize, tTwoSidedP } from '../bench/stats.ts';

describe('bench statistics', () => {
  it('two-sided p of tabulated t critical values', () => {
    expect(tTwoSidedP(2.776, 4)).toBeCloseTo(0.05, 3);
    expect(tTwoSidedP(2.262, 9)).toBeCloseTo(0.05, 3);
    expect(tTwoSidedP(3.25, 9)).toBeCloseTo(0.01, 3);
    expect(tTwoSidedP(12.706, 1)).toBeCloseTo(0.05, 3);
    expect(tTwoSidedP(0, 7)).toBeCloseTo(1, 6);
  });

  it('incomplete beta: symmetric cases and bounds', () => {
    expect(incompleteBeta(0.5, 3, 3)).toBeCloseTo(0.5, 8);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 8);
    expect(incompleteBeta(0, 2, 5)).toBe(0);
    expect(incompleteBeta(1, 2, 5)).toBe(1);
  });

  it('paired t-test and summary of per-seed differences', () => {
    const d = [0.025, -0.013, 0.028, 0.028, 0.017];
    const s = summarize(d);
    expect(s.mean).toBeCloseTo(0.017, 6);
    expect(s.stderr).toBeCloseTo(Math.sqrt(d.reduce((a, v) => a + (v - 0.017) ** 2, 0) / 4) / Math.sqrt(5), 9);
    const t = pairedTTest(d);
    expect(t.t).toBeCloseTo(s.mean / s.stderr, 9);
    expect(t.p).toBeGreaterThan(0.05);
    expect(t.p).toBeLessThan(0.1);
    expect(pairedTTest([0.01, 0.02, 0.015, 0.012, 0.018, 0.011]).p).toBeLessThan(0.001);
  });
});
