// `tinyforge report`: the numbers of the report data object, and the rendered HTML as a browser
// sees it (headless Chromium): one layer row per op, one SVG rectangle per arena buffer, nothing
// fetched from the network, and a screenshot.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateFootprint } from '../compiler/boards/fit.ts';
import { findBoard } from '../compiler/boards/load_boards.ts';
import { TinyforgeError } from '../compiler/errors.ts';
import { DTYPE_BYTES, type Tensor } from '../compiler/ir/graph.ts';
import { renderReportHtml } from '../compiler/report/render_html.ts';
import { buildReportData, parseProfile, type ReportData } from '../compiler/report/report_data.ts';
import { launchChromium, pngSize } from './helpers/chromium.ts';
import { goldenDir, modelPath, sharedModel, type SharedModel } from './helpers/shared.ts';

const BIN = fileURLToPath(new URL('../bin/tinyforge.mjs', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../docs/report-screenshot.png', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyforge-report-'));

interface ManifestIo {
  name: string;
  shape: number[];
  dtype: string;
  scale: number;
  zero_point: number;
}

function manifestIo(name: SharedModel): { inputs: ManifestIo[]; outputs: ManifestIo[] } {
  return JSON.parse(readFileSync(path.join(goldenDir(name), 'manifest.json'), 'utf8')) as { inputs: ManifestIo[]; outputs: ManifestIo[] };
}

function reportFor(name: SharedModel, boardId: string, cycles?: { layers: Array<{ index: number; cycles: number }> }): ReportData {
  const profile = cycles && parseProfile({ unit: 'cycles', ...cycles });
  return buildReportData(sharedModel(name).compiled, findBoard(boardId), { profile, profileSource: profile && 'test profile' });
}

describe('report data', () => {
  const { compiled } = sharedModel('kws_dscnn');
  const board = findBoard('nucleo-f446re');
  const data = buildReportData(compiled, board);
  const graph = compiled.model.graph;

  it('summarises kws_dscnn: ops, MACs, weights, arena and I/O quantization', () => {
    expect(data.model.file).toBe('kws_dscnn.tflite');
    expect(data.summary.ops).toBe(13);
    expect(data.summary.macs).toBe(2_656_768);
    expect(data.summary.weightBytes).toBe(24_368);
    expect(data.summary.opCounts).toEqual({ CONV_2D: 5, DEPTHWISE_CONV_2D: 4, AVERAGE_POOL_2D: 1, RESHAPE: 1, FULLY_CONNECTED: 1, SOFTMAX: 1 });
    expect(data.summary.arenaBytes).toBe(compiled.plan.arenaBytes);
    expect(data.summary.arenaLowerBound).toBe(compiled.plan.lowerBound);

    const m = manifestIo('kws_dscnn');
    const io = [...data.inputs, ...data.outputs];
    const expected = [...m.inputs, ...m.outputs];
    expect(io).toHaveLength(2);
    io.forEach((t, i) => {
      const e = expected[i] as ManifestIo;
      expect(t.name).toBe(e.name);
      expect(t.shape).toEqual(e.shape);
      expect(t.dtype).toBe(e.dtype);
      expect(t.scale).toBeCloseTo(e.scale, 8);
      expect(t.zeroPoint).toBe(e.zero_point);
    });
    expect(data.inputs[0]?.bytes).toBe(490);
    expect(data.outputs[0]?.bytes).toBe(12);
  });

  it('has one row per layer whose MACs and weight bytes add up, with filter geometry', () => {
    expect(data.layers).toHaveLength(13);
    expect(data.layers.map((l) => l.index)).toEqual([...Array(13).keys()]);
    expect(data.layers.reduce((s, l) => s + l.macs, 0)).toBe(data.summary.macs);
    expect(data.layers.reduce((s, l) => s + l.weightBytes, 0)).toBe(data.summary.weightBytes);
    // Flash holds the laid-out constants: kws_dscnn's convolutions are widened to int16 on the M4.
    expect(data.layers.reduce((s, l) => s + l.flashBytes, 0)).toBe(data.summary.flashBytes);
    expect(data.summary.flashBytes).toBeGreaterThan(data.summary.weightBytes);
    const first = data.layers[0];
    expect(first).toMatchObject({ op: 'CONV_2D', filter: '10x4 s2,2', outputShape: [1, 25, 5, 64], macs: 320_000, weightBytes: 2816, weightCount: 2560 });
    expect(data.layers[1]).toMatchObject({ op: 'DEPTHWISE_CONV_2D', filter: '3x3 s1,1', macs: 72_000, weightCount: 576 });
    expect(data.layers[11]).toMatchObject({ op: 'FULLY_CONNECTED', filter: '64→12', macs: 768, weightCount: 768 });
    expect(data.layers[12]).toMatchObject({ op: 'SOFTMAX', weightCount: 0, sparsity: null, count: null });
  });

  it('counts zero weights per layer (sparsity), checked against the raw weight tensors', () => {
    let zeros = 0;
    let count = 0;
    graph.ops.forEach((op, i) => {
      const layer = data.layers[i];
      const hasWeights = op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected';
      if (!hasWeights) {
        expect(layer?.sparsity, `layer ${i}`).toBeNull();
        return;
      }
      const w = graph.tensors[op.inputs[1] as number] as Tensor;
      expect(DTYPE_BYTES[w.dtype]).toBe(1);
      const bytes = w.data as Uint8Array;
      const z = bytes.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
      expect(layer?.weightCount, `layer ${i}`).toBe(bytes.byteLength);
      expect(layer?.zeroWeights, `layer ${i}`).toBe(z);
      expect(layer?.sparsity, `layer ${i}`).toBeCloseTo(z / bytes.byteLength, 12);
      expect(layer?.sparsity).toBeGreaterThanOrEqual(0);
      expect(layer?.sparsity).toBeLessThan(0.05);
      zeros += z;
      count += bytes.byteLength;
    });
    expect(data.summary.sparsity).toBeCloseTo(zeros / count, 12);
  });

  it('lists every arena buffer of the memory plan with its lifetime, and finds the peak', () => {
    const planArena = compiled.plan.buffers.filter((b) => b.storage.kind === 'arena');
    expect(data.arena.buffers).toHaveLength(planArena.length);
    expect(data.arena.buffers.filter((b) => b.kind === 'scratch')).toHaveLength(planArena.filter((b) => b.scratchFor !== undefined).length);
    expect(data.arena.steps).toBe(13);
    for (const b of data.arena.buffers) {
      const p = compiled.plan.buffers[b.planIndex];
      expect(p?.storage).toEqual({ kind: 'arena', offset: b.offset });
      expect([b.bytes, b.firstUse, b.lastUse]).toEqual([p?.bytes, p?.firstUse, p?.lastUse]);
      expect(b.offset + b.bytes).toBeLessThanOrEqual(data.arena.bytes);
      // Graph inputs planned in the arena are live from before the first layer.
      expect(b.firstUse).toBeGreaterThanOrEqual(b.graphInput ? -1 : 0);
      expect(b.lastUse).toBeLessThan(data.arena.steps + (b.graphOutput ? 1 : 0));
      if (b.kind === 'activation') expect(b.label).toBe(b.tensors.map((t) => t.name).join(' = '));
      else expect(b.label).toMatch(/^scratch of layer \d+ \(/);
    }
    // The 8,000-byte activations between the conv/depthwise blocks are all there.
    expect(data.arena.buffers.filter((b) => b.bytes === 8000)).toHaveLength(9);
    expect(data.arena.liveBytes).toHaveLength(13);
    expect(Math.max(...data.arena.liveBytes)).toBe(data.arena.lowerBound);
    expect(data.arena.peak.bytes).toBe(data.arena.lowerBound);
    expect(data.arena.liveBytes[data.arena.peak.step]).toBe(data.arena.lowerBound);
    expect(data.arena.liveBytes.indexOf(data.arena.lowerBound)).toBe(data.arena.peak.step);
    data.layers.forEach((l, i) => expect(l.liveArenaBytes).toBe(data.arena.liveBytes[i]));
  });

  it('puts flash and RAM use against the board budget', () => {
    const fit = estimateFootprint(compiled);
    expect(data.board).toMatchObject({ id: 'nucleo-f446re', core: 'cortex-m4', clockHz: 16_000_000 });
    expect(data.memory.flash).toMatchObject({ used: fit.flashBytes, budget: 524_288, fits: true });
    expect(data.memory.ram).toMatchObject({ used: fit.ramBytes, budget: 131_072, fits: true });
    // The input counts separately only when it is the caller's buffer rather than part of the arena.
    const inputInArena = compiled.plan.storageOf.get(graph.inputs[0] as number)?.kind === 'arena';
    const inputBytes = inputInArena ? 0 : 490;
    expect(data.memory.ram.used).toBe(data.arena.bytes + inputBytes + 12);
    expect(data.memory.ram.parts).toEqual([
      { name: 'arena', bytes: data.arena.bytes },
      { name: inputInArena ? 'inputs outside the arena' : 'inputs', bytes: inputBytes },
      { name: 'outputs', bytes: 12 },
    ]);
    expect(data.memory.flash.parts.map((p) => p.name)).toEqual(['weights and biases', 'requantization tables']);
    expect(data.memory.flash.parts.reduce((s, p) => s + p.bytes, 0)).toBe(data.memory.flash.used);
    // Weights and biases may be packed (padded rows) but never shrink.
    expect(data.memory.flash.parts[0]?.bytes).toBeGreaterThanOrEqual(data.summary.weightBytes);
    expect(data.memory.flash.parts[1]?.bytes).toBeGreaterThan(0);
    expect(data.memory.flash.fraction).toBeCloseTo(fit.flashBytes / 524_288, 12);
    expect(data.memory.fits).toBe(true);
    // A board too small for the model: the report still renders, marking both budgets exceeded.
    const tiny = { ...board, memory: { flash: { base: 0, size: 20_000 }, ram: { base: 0, size: 8_000 } } };
    const over = buildReportData(compiled, tiny);
    expect(over.memory).toMatchObject({ fits: false, flash: { fits: false }, ram: { fits: false } });
  });

  it('adds per-layer cycles from a profile and rejects bad profiles', () => {
    const layers = data.layers.map((l) => ({ index: l.index, cycles: 1000 + l.macs * 2 }));
    const withProfile = reportFor('kws_dscnn', 'nucleo-f446re', { layers });
    expect(withProfile.layers.map((l) => l.count)).toEqual(layers.map((l) => l.cycles));
    const total = layers.reduce((s, l) => s + l.cycles, 0);
    expect(withProfile.profile).toEqual({ source: 'test profile', unit: 'cycles', total, layersCounted: 13, perMac: total / 2_656_768 });
    const partial = reportFor('kws_dscnn', 'nucleo-f446re', { layers: layers.slice(0, 3) });
    expect(partial.layers[5]?.count).toBeNull();
    expect(partial.profile?.perMac).toBeNull();

    expect(() => reportFor('kws_dscnn', 'nucleo-f446re', { layers: [{ index: 13, cycles: 1 }] })).toThrow(/layer 13 does not exist \(kws_dscnn.tflite has 13 layers/);
    expect(() => reportFor('kws_dscnn', 'nucleo-f446re', { layers: [{ index: 2, cycles: 1 }, { index: 2, cycles: 5 }] })).toThrow(/listed twice/);
    expect(() => parseProfile({ layers: [{ index: 0 }] }, 'p.json')).toThrow(TinyforgeError);
    expect(() => parseProfile({ layer: [] }, 'p.json')).toThrow(/p.json: field 'layers'/);
    expect(parseProfile({ layers: [{ index: 1, cycles: 7, name: 'dw' }] })).toEqual({ unit: 'cycles', layers: [{ index: 1, count: 7 }] });
    expect(parseProfile({ unit: 'instructions', counter: 'apb-timer', layers: [{ index: 0, instructions: 80 }] })).toEqual({ unit: 'instructions', layers: [{ index: 0, count: 80 }] });
    expect(() => parseProfile({ unit: 'instructions', layers: [{ index: 0, cycles: 80 }] })).toThrow(/layers\.0\.instructions/);
  });

  it('is plain data: survives a JSON round trip', () => {
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });
});

describe('report HTML', () => {
  it('is one self-contained file: no external URLs, fonts or imports; names are escaped', () => {
    const data = reportFor('kws_dscnn', 'qemu-mps2-an386');
    const html = renderReportHtml(data);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    const urls = [...html.matchAll(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*/gi)].map((m) => m[0]);
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
    expect(html).not.toMatch(/@import|@font-face|<link\b|<img\b|<iframe\b|\bsrc=/i);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    // A hostile tensor name stays text.
    const evil = structuredClone(data);
    (evil.arena.buffers[0] as { label: string; tensors: Array<{ name: string }> }).tensors[0] = { ...(evil.arena.buffers[0]?.tensors[0] as { name: string }), name: '</script><script>alert(1)</script>' };
    evil.inputs[0] = { ...(evil.inputs[0] as ReportData['inputs'][number]), name: '<b>x</b>' };
    const evilHtml = renderReportHtml(evil);
    expect(evilHtml).not.toContain('<script>alert(1)');
    expect(evilHtml).not.toContain('<b>x</b>');
    expect(evilHtml.match(/<script\b/g)).toHaveLength(2);
  });

  describe('in headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    for (const name of ['micro_speech', 'kws_dscnn'] as const) {
      it(`${name}: layer rows, arena rectangles, budget bars, no network, screenshot`, async () => {
        const cycles = name === 'micro_speech' ? { layers: [0, 1, 2, 3].map((index) => ({ index, cycles: 1000 * (index + 1) })) } : undefined;
        const data = reportFor(name, name === 'kws_dscnn' ? 'nucleo-f446re' : 'qemu-mps2-an386', cycles);
        const file = path.join(tmp, `${name}.html`);
        writeFileSync(file, renderReportHtml(data));
        const url = pathToFileURL(file).href;

        const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme: 'light' });
        const requests: string[] = [];
        const failed: string[] = [];
        const problems: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
        });
        const response = await page.goto(url, { waitUntil: 'load' });
        expect(response?.ok()).toBe(true);

        expect(await page.title()).toContain(`${name}.tflite`);
        const rows = page.locator('#layers tbody tr');
        expect(await rows.count()).toBe(data.summary.ops);
        expect(await page.locator('#layers tbody tr:first-child td:nth-child(2)').innerText()).toContain(data.layers[0]?.op ?? '?');

        const rects = page.locator('#arena-svg rect.buf');
        const arenaBuffers = sharedModel(name).compiled.plan.buffers.filter((b) => b.storage.kind === 'arena').length;
        expect(await rects.count()).toBe(arenaBuffers);
        expect(await rects.count()).toBe(data.arena.buffers.length);
        const titles = await page.locator('#arena-svg rect.buf > title').allTextContents();
        expect(titles).toHaveLength(arenaBuffers);
        data.arena.buffers.forEach((b, i) => {
          for (const t of b.tensors) expect(titles[i]).toContain(t.name);
          expect(titles[i]).toContain(`${b.bytes.toLocaleString('en-US')} bytes at offset`);
        });
        // Rectangles are drawn where the plan puts them: wider for longer lifetimes, taller for bigger buffers.
        const boxes = await rects.evaluateAll((els) => els.map((e) => (e as SVGGraphicsElement).getBBox()).map((b) => ({ w: b.width, h: b.height })));
        const longest = data.arena.buffers.reduce((best, b, i) => (b.lastUse - b.firstUse > (data.arena.buffers[best]?.lastUse ?? 0) - (data.arena.buffers[best]?.firstUse ?? 0) ? i : best), 0);
        const shortest = data.arena.buffers.findIndex((b) => b.firstUse === b.lastUse);
        if (shortest >= 0 && longest !== shortest) expect(boxes[longest]?.w).toBeGreaterThan(boxes[shortest]?.w ?? 0);
        expect(await page.locator('#arena-svg line.lower-bound').count()).toBe(1);
        expect(await page.locator('#arena-svg line.arena-top').count()).toBe(1);
        expect(await page.locator('#peak-marker > title').textContent()).toContain(`${data.arena.peak.bytes.toLocaleString('en-US')} bytes live at layer ${data.arena.peak.step}`);
        expect(await page.locator('#arena-svg rect.step').count()).toBe(data.summary.ops);

        expect(await page.locator('#flash-budget .budget-num').innerText()).toContain(`of ${data.memory.flash.budget.toLocaleString('en-US')} bytes`);
        expect(await page.locator('#ram-budget .budget-num').innerText()).toContain(`${data.memory.ram.used.toLocaleString('en-US')} of`);
        expect(await page.locator('#io-table tbody tr').count()).toBe(data.inputs.length + data.outputs.length);
        const embedded = JSON.parse((await page.locator('#report-data').textContent()) ?? 'null') as ReportData;
        expect(embedded).toEqual(JSON.parse(JSON.stringify(data)));

        // Cycles column only with a profile.
        const headers = await page.locator('#layers thead th').allInnerTexts();
        expect(headers.some((h) => h.startsWith('cycles'))).toBe(cycles !== undefined);

        // The inline script works: hovering a layer row dims the buffers not live there; sorting by MACs.
        await rows.nth(1).hover();
        expect(await page.locator('#arena-svg.dim').count()).toBe(1);
        const liveAt1 = data.arena.buffers.filter((b) => b.firstUse <= 1 && 1 <= b.lastUse).length;
        expect(await page.locator('#arena-svg rect.buf.on').count()).toBe(liveAt1);
        await page.locator('#layers thead th', { hasText: 'MACs' }).click();
        await page.locator('#layers thead th', { hasText: 'MACs' }).click();
        const maxMacs = Math.max(...data.layers.map((l) => l.macs));
        expect(await page.locator('#layers tbody tr:first-child').getAttribute('data-step')).toBe(String(data.layers.findIndex((l) => l.macs === maxMacs)));

        expect(failed).toEqual([]);
        expect(requests).toEqual([url]);
        expect(problems).toEqual([]);

        await page.reload({ waitUntil: 'load' });
        await page.mouse.move(0, 0);
        const png = await page.screenshot({ fullPage: true, type: 'png' });
        const size = pngSize(png);
        expect(size.width).toBe(1200);
        expect(size.height).toBeGreaterThan(1200);
        expect(png.byteLength).toBeGreaterThan(60_000);
        writeFileSync(path.join(tmp, `${name}.png`), png);
        if (name === 'kws_dscnn' && process.env.TINYFORGE_UPDATE_SCREENSHOT === '1') {
          mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
          writeFileSync(DOCS_SCREENSHOT, png);
        }
        await page.close();
      });
    }
  });
});

describe('tinyforge report', () => {
  function tinyforge(...args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  it('writes the HTML file and says where', () => {
    const out = path.join(tmp, 'cli', 'kws.html');
    const profile = path.join(tmp, 'profile.json');
    writeFileSync(profile, JSON.stringify({ layers: [{ index: 0, cycles: 123456 }] }));
    const r = tinyforge('report', modelPath('kws_dscnn'), '--board', 'nucleo-f446re', '--out', out, '--profile', profile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*kws\.html .*kws_dscnn\.tflite on nucleo-f446re, 13 ops, 2,656,768 MACs/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('123,456');
    expect(html).toContain('Cycles from profile.json');
  });

  it('refuses a bad profile or board with a one-line error', () => {
    const profile = path.join(tmp, 'bad-profile.json');
    writeFileSync(profile, JSON.stringify({ layers: [{ index: 99, cycles: 1 }] }));
    const r = tinyforge('report', modelPath('micro_speech'), '--out', path.join(tmp, 'x.html'), '--profile', profile);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/error: bad-profile\.json: layer 99 does not exist/);
    const b = tinyforge('report', modelPath('micro_speech'), '--out', path.join(tmp, 'y.html'), '--board', 'nope');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/unknown board 'nope'/);
  });
});
