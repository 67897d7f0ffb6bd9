// Renders a ReportData object as one self-contained HTML page: inline CSS, inline SVG and a little
// inline JavaScript (table sorting, linking table rows and arena buffers on hover). Nothing is
// loaded from the network and only the system's fonts are used, so the file can be mailed,
// attached to a CI run or opened offline.

import type { ReportArenaBuffer, ReportBudget, ReportData, ReportIo, ReportLayer } from './report_data.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function bytesText(n: number): string {
  if (n < 1024) return `${int(n)} B`;
  if (n < 1024 * 1024) return `${int(n)} B (${(n / 1024).toFixed(1)} KiB)`;
  return `${int(n)} B (${(n / 1024 / 1024).toFixed(2)} MiB)`;
}

function shortBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Number((n / 1024).toFixed(1))} KiB`;
  return `${Number((n / 1024 / 1024).toFixed(2))} MiB`;
}

function percent(f: number, digits = 1): string {
  if (!Number.isFinite(f)) return '∞';
  return `${(f * 100).toFixed(digits)}%`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join('×')}]`;
}

/** Shortest decimal that reads back as the same float32. */
function scaleText(scale: number | null): string {
  return scale === null ? '—' : String(Number(scale.toPrecision(9)));
}

/** A power-of-two axis step near range / ticks, so byte ticks read as round KiB. */
function byteStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  return 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(raw, 1))));
}

function bufferColor(i: number): string {
  const hue = Math.round((i * 137.508 + 200) % 360);
  return `hsl(${hue} 62% 58%)`;
}

function bufferTitle(b: ReportArenaBuffer, layers: readonly ReportLayer[]): string {
  const what =
    b.kind === 'scratch'
      ? b.label
      : b.tensors.map((t) => `t${t.id} '${t.name}' ${t.dtype}${shapeText(t.shape)}`).join(' = ');
  const first = Math.max(0, b.firstUse);
  const last = Math.min(layers.length - 1, b.lastUse);
  const span = first === last ? `layer ${first}` : `layers ${first}–${last}`;
  const ops = [...new Set(layers.slice(first, last + 1).map((l) => l.op))].join(', ');
  const role = [b.graphInput ? 'graph input (written before layer 0)' : '', b.graphOutput ? 'graph output (read after the last layer)' : ''].filter(Boolean).join(', ');
  return `${what}\n${int(b.bytes)} bytes at offset ${int(b.offset)}–${int(b.offset + b.bytes)}${b.region === null ? '' : ` of the ${b.region} arena`}\nlive during ${span} (${ops})${role ? `\n${role}` : ''}`;
}

/** Where the arena went when it is split across RAM regions (hottest buffers in the fastest region). */
function regionTable(data: ReportData): string {
  if (data.regions.length === 0) return '';
  const rows = data.regions
    .map((r) => `<tr><td>${escapeHtml(r.region)}</td><td>${escapeHtml(r.kind)}</td><td class="num">${r.speed}</td><td class="num">${r.buffers}</td><td class="num">${int(r.bytes)}</td><td class="num">${int(r.capacity)}</td><td class="num">${int(r.accessedBytes)}</td></tr>`)
    .join('\n');
  return `  <h3>Arena placement across RAM regions</h3>
  <div class="scroll"><table id="region-table"><thead><tr><th>region</th><th>kind</th><th class="num">speed rank</th><th class="num">buffers</th><th class="num">arena bytes</th><th class="num">usable bytes</th><th class="num">bytes accessed / inference</th></tr></thead>
  <tbody>
${rows}
  </tbody></table></div>
  <div class="note">The planner puts the buffers with the most bytes read and written per inference in the fastest region (speed rank 0) that still fits; each region has its own arena, and the arena plan below shows offsets within each buffer’s region.</div>`;
}

export function renderArenaSvg(data: ReportData): string {
  const { arena, layers } = data;
  const W = 1100;
  const H = 440;
  const m = { left: 78, right: 150, top: 18, bottom: 46 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const steps = Math.max(1, arena.steps);
  const top = Math.max(arena.bytes, arena.lowerBound, arena.highWater, 1);
  const yStep = byteStep(top, 5);
  const yMax = Math.ceil((top * 1.06) / yStep) * yStep;
  const x = (step: number): number => m.left + (step / steps) * pw;
  const y = (offset: number): number => m.top + ph - (offset / yMax) * ph;
  const f = (n: number): string => String(Math.round(n * 100) / 100);
  const parts: string[] = [];

  parts.push(
    `<svg id="arena-svg" class="arena" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="arena-svg-title" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="arena-svg-title">Arena of ${escapeHtml(data.model.file)}: ${int(arena.bytes)} bytes, ${arena.buffers.length} buffers over ${arena.steps} layers</title>`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" class="scratch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="scratch-line"/></pattern></defs>',
  );

  // Grid, axes and step columns.
  parts.push('<g class="grid">');
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${f(y(v))}" y2="${f(y(v))}"/>`);
    parts.push(`<text class="ytick" x="${m.left - 8}" y="${f(y(v) + 4)}" text-anchor="end">${escapeHtml(shortBytes(v))}</text>`);
  }
  const labelEvery = Math.max(1, Math.ceil(steps / 40));
  for (let s = 0; s < arena.steps; s++) {
    const l = layers[s];
    parts.push(
      `<rect class="step${s === arena.peak.step ? ' peak-step' : ''}" data-step="${s}" x="${f(x(s))}" y="${m.top}" width="${f(x(s + 1) - x(s))}" height="${ph}">` +
        `<title>layer ${s}: ${escapeHtml(l ? `${l.op} (${l.kernel})` : '')}, ${int(arena.liveBytes[s] ?? 0)} bytes live</title></rect>`,
    );
    if (s % labelEvery === 0) parts.push(`<text class="xtick" x="${f((x(s) + x(s + 1)) / 2)}" y="${m.top + ph + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push('</g>');
  parts.push(`<text class="axis-label" x="${f(m.left + pw / 2)}" y="${H - 6}" text-anchor="middle">layer step</text>`);
  parts.push(`<text class="axis-label" transform="translate(14 ${f(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">arena offset</text>`);

  // One rectangle per arena buffer, from its first to its last layer, at its offset and size.
  parts.push('<g class="buffers">');
  arena.buffers.forEach((b, i) => {
    const x0 = x(Math.max(0, b.firstUse)) + 1.5;
    const x1 = x(Math.min(arena.steps - 1, b.lastUse) + 1) - 1.5;
    const y0 = y(b.offset + b.bytes);
    const h = Math.max(1.5, y(b.offset) - y0);
    const fill = b.kind === 'scratch' ? 'url(#hatch)' : bufferColor(i);
    parts.push(
      `<rect class="buf buf-${b.kind}" data-buffer="${i}" data-first="${b.firstUse}" data-last="${b.lastUse}" ` +
        `x="${f(x0)}" y="${f(y0)}" width="${f(Math.max(1, x1 - x0))}" height="${f(h)}" fill="${fill}">` +
        `<title>${escapeHtml(bufferTitle(b, layers))}</title></rect>`,
    );
  });
  parts.push('</g>');

  // Live bytes per step, the lower bound it implies, the planned arena and the peak.
  const live = arena.liveBytes;
  if (live.length > 0) {
    let d = `M${f(x(0))} ${f(y(live[0] ?? 0))}`;
    live.forEach((v, s) => {
      d += ` H${f(x(s))} V${f(y(v))} H${f(x(s + 1))}`;
    });
    parts.push(`<path class="live-line" d="${d}"><title>arena bytes live at each layer</title></path>`);
  }
  const label = (cls: string, value: number, text: string, dy: number): void => {
    parts.push(`<line class="${cls}" x1="${m.left}" x2="${m.left + pw}" y1="${f(y(value))}" y2="${f(y(value))}"><title>${escapeHtml(text)}</title></line>`);
    parts.push(`<text class="${cls}-label" x="${m.left + pw + 6}" y="${f(y(value) + dy)}">${escapeHtml(text)}</text>`);
  };
  const close = Math.abs(y(arena.bytes) - y(arena.lowerBound)) < 14;
  const lbAbove = arena.lowerBound >= arena.bytes;
  label('lower-bound', arena.lowerBound, `lower bound ${shortBytes(arena.lowerBound)}`, close ? (lbAbove ? -3 : 12) : 4);
  label('arena-top', arena.bytes, `arena ${shortBytes(arena.bytes)}`, close ? (lbAbove ? 12 : -3) : 4);
  const px = (x(arena.peak.step) + x(arena.peak.step + 1)) / 2;
  const py = y(arena.peak.bytes);
  const peakLayer = layers[arena.peak.step];
  parts.push(
    `<g id="peak-marker" class="peak"><circle cx="${f(px)}" cy="${f(py)}" r="5"/>` +
      `<text x="${f(px)}" y="${f(Math.max(m.top + 10, py - 9))}" text-anchor="middle">peak</text>` +
      `<title>peak: ${int(arena.peak.bytes)} bytes live at layer ${arena.peak.step}${peakLayer ? ` (${escapeHtml(peakLayer.op)})` : ''}</title></g>`,
  );
  parts.push(`<rect class="frame" x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function budgetBar(id: string, title: string, b: ReportBudget, what: string): string {
  const scale = Math.max(b.used, b.budget, 1);
  const segs = b.parts
    .map((p, i) =>
      p.bytes > 0
        ? `<div class="seg seg-${i % 4}" style="width:${((p.bytes / scale) * 100).toFixed(3)}%" title="${escapeHtml(`${p.name}: ${int(p.bytes)} bytes`)}"></div>`
        : '',
    )
    .join('');
  const legend = b.parts.map((p, i) => `<span class="key"><i class="swatch seg-${i % 4}"></i>${escapeHtml(p.name)} ${escapeHtml(int(p.bytes))} B</span>`).join('');
  return `<div class="budget ${b.fits ? 'ok' : 'over'}" id="${id}">
  <div class="budget-head"><strong>${escapeHtml(title)}</strong> <span class="muted">${escapeHtml(what)}</span>
    <span class="budget-num">${int(b.used)} of ${int(b.budget)} bytes · ${percent(b.fraction, b.fraction < 0.1 ? 2 : 1)}${b.fits ? '' : ` · ${int(b.used - b.budget)} bytes over`}</span></div>
  <div class="track" role="img" aria-label="${escapeHtml(`${title}: ${int(b.used)} of ${int(b.budget)} bytes`)}">${segs}<div class="limit" style="left:${((b.budget / scale) * 100).toFixed(3)}%" title="budget ${int(b.budget)} bytes"></div></div>
  <div class="legend">${legend}</div>
</div>`;
}

function ioRows(list: readonly ReportIo[]): string {
  return list
    .map(
      (t) =>
        `<tr><td>${t.direction} ${t.index}</td><td class="name">${escapeHtml(t.name)}</td><td>${escapeHtml(t.dtype)}</td><td>${shapeText(t.shape)}</td>` +
        `<td class="num">${int(t.bytes)}</td><td class="num">${scaleText(t.scale)}</td><td class="num">${t.zeroPoint ?? '—'}</td></tr>`,
    )
    .join('\n');
}

function layerRows(data: ReportData): string {
  const maxMacs = Math.max(1, ...data.layers.map((l) => l.macs));
  const maxCount = Math.max(1, ...data.layers.map((l) => l.count ?? 0));
  const withCycles = data.profile !== null;
  return data.layers
    .map((l) => {
      const bar = (v: number, max: number, cls: string): string => `<span class="bar ${cls}" style="width:${((v / max) * 100).toFixed(1)}%"></span>`;
      const cells = [
        `<td class="num" data-sort="${l.index}">${l.index}</td>`,
        `<td data-sort="${escapeHtml(l.op)}">${escapeHtml(l.op)}${l.inPlace ? ' <span class="tag" title="output written over its dying input">in place</span>' : ''}</td>`,
        `<td data-sort="${escapeHtml(l.kernel)}"><code>${escapeHtml(l.kernel)}</code></td>`,
        `<td data-sort="${escapeHtml(l.filter)}">${escapeHtml(l.filter)}</td>`,
        `<td data-sort="${l.outputShape.reduce((a, b) => a * b, 1)}">${shapeText(l.outputShape)}</td>`,
        `<td class="num barcell" data-sort="${l.macs}">${bar(l.macs, maxMacs, 'macs')}<span>${int(l.macs)}</span></td>`,
        `<td class="num" data-sort="${l.weightBytes}">${int(l.weightBytes)}</td>`,
        `<td class="num" data-sort="${l.flashBytes}">${int(l.flashBytes)}</td>`,
        `<td class="num" data-sort="${l.sparsity ?? -1}" title="${l.sparsity === null ? 'no weights' : `${int(l.zeroWeights)} of ${int(l.weightCount)} weights are zero`}">${l.sparsity === null ? '—' : percent(l.sparsity)}</td>`,
        `<td class="num" data-sort="${l.liveArenaBytes}">${int(l.liveArenaBytes)}</td>`,
      ];
      if (withCycles) {
        cells.push(
          `<td class="num barcell" data-sort="${l.count ?? -1}">${l.count === null ? '—' : `${bar(l.count, maxCount, 'cycles')}<span>${int(l.count)}</span>`}</td>`,
          `<td class="num" data-sort="${l.count !== null && l.macs > 0 ? l.count / l.macs : -1}">${l.count !== null && l.macs > 0 ? (l.count / l.macs).toFixed(2) : '—'}</td>`,
        );
      }
      return `<tr data-step="${l.index}">${cells.join('')}</tr>`;
    })
    .join('\n');
}

const CSS = `
:root{--bg:#f7f8fa;--card:#fff;--fg:#1d2330;--muted:#667085;--line:#e3e6ec;--accent:#3461d6;--ok:#1f9d55;--bad:#d64545;--seg0:#3461d6;--seg1:#8fb0ff;--seg2:#f0a73a;--grid:#eceff4;--hatch:#9aa3b2}
@media (prefers-color-scheme: dark){:root{--bg:#14171d;--card:#1c2029;--fg:#e6e9ef;--muted:#98a2b3;--line:#2c3340;--accent:#7aa2ff;--grid:#262c37;--hatch:#6b7385}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}
.muted{color:var(--muted)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:16px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}.card .k{color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:2px 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff;vertical-align:middle}
.badge.ok{background:var(--ok)}.badge.over{background:var(--bad)}
.chips{margin-top:10px}.chip{display:inline-block;border:1px solid var(--line);border-radius:999px;padding:1px 9px;margin:2px 4px 2px 0;font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{font-size:12px;color:var(--muted);font-weight:600;user-select:none}
#layers th{cursor:pointer}#layers th[aria-sort=ascending]::after{content:" ▲"}#layers th[aria-sort=descending]::after{content:" ▼"}
td.num,th.num{text-align:right}td.name{max-width:340px;overflow:hidden;text-overflow:ellipsis}
tfoot td{font-weight:600;border-bottom:none}
tr.hl td{background:color-mix(in srgb,var(--accent) 12%,transparent)}
.scroll{overflow-x:auto}.barcell{position:relative;min-width:90px}.barcell span:last-child{position:relative}
.bar{position:absolute;left:0;top:4px;bottom:4px;border-radius:3px;opacity:.22}.bar.macs{background:var(--accent)}.bar.cycles{background:var(--seg2)}
.tag{font-size:11px;border:1px solid var(--accent);color:var(--accent);border-radius:4px;padding:0 4px}
.budget{margin:10px 0 18px}.budget-head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}.budget-num{margin-left:auto;font-variant-numeric:tabular-nums}
.budget.over .budget-num{color:var(--bad);font-weight:600}
.track{position:relative;height:22px;border-radius:6px;background:var(--grid);margin-top:6px;display:flex;overflow:visible}
.seg{height:100%;min-width:2px}.seg:first-child{border-radius:6px 0 0 6px}
.seg-0{background:var(--seg0)}.seg-1{background:var(--seg1)}.seg-2{background:var(--seg2)}.seg-3{background:var(--muted)}
.limit{position:absolute;top:-4px;bottom:-4px;width:2px;margin-left:-1px;background:var(--fg)}
.legend{margin-top:6px;font-size:12px;color:var(--muted)}.key{margin-right:14px}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
svg.arena{display:block;font-size:11px;fill:var(--fg)}
svg .grid line{stroke:var(--grid)}svg .step{fill:transparent}svg .step:hover{fill:var(--grid)}svg .peak-step{fill:color-mix(in srgb,var(--bad) 6%,transparent)}
svg .ytick,svg .xtick{fill:var(--muted)}svg .axis-label{fill:var(--muted);font-size:12px}
svg .buf{stroke:rgba(0,0,0,.35);stroke-width:.8;fill-opacity:.85;transition:opacity .12s}svg .buf:hover{stroke:var(--fg);stroke-width:2}
svg.dim .buf:not(.on){opacity:.18}
svg .scratch-bg{fill:var(--card)}svg .scratch-line{stroke:var(--hatch);stroke-width:3}
svg .live-line{fill:none;stroke:var(--fg);stroke-width:1.2;stroke-opacity:.55}
svg .lower-bound{stroke:var(--bad);stroke-width:1.6;stroke-dasharray:6 4}svg .lower-bound-label{fill:var(--bad);font-weight:600}
svg .arena-top{stroke:var(--accent);stroke-width:1.6}svg .arena-top-label{fill:var(--accent);font-weight:600}
svg .peak circle{fill:var(--bad);stroke:var(--card);stroke-width:2}svg .peak text{fill:var(--bad);font-weight:600}
svg .frame{fill:none;stroke:var(--line)}
.arena-legend{margin:0 0 6px}.swatch.act{background:hsl(200 62% 58%)}.swatch.hatched{background:repeating-linear-gradient(45deg,var(--hatch) 0 2px,transparent 2px 5px);border:1px solid var(--hatch)}
.line{display:inline-block;width:18px;height:0;margin-right:5px;vertical-align:3px;border-top:2px solid}.line.live{border-color:var(--fg);opacity:.55}.line.lb{border-top-style:dashed;border-color:var(--bad)}.line.top{border-color:var(--accent)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:var(--bad);margin-right:5px}
.note{font-size:12px;color:var(--muted);margin-top:8px}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
`;

const SCRIPT = `
(function(){
  var table=document.getElementById('layers');var svg=document.getElementById('arena-svg');
  if(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      th.addEventListener('click',function(){
        var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',dir>0?'ascending':'descending');
        var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].getAttribute('data-sort'),y=b.cells[col].getAttribute('data-sort');
          var nx=Number(x),ny=Number(y);
          if(x!==''&&y!==''&&!isNaN(nx)&&!isNaN(ny))return (nx-ny)*dir;
          return String(x).localeCompare(String(y))*dir;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  }
  if(!svg||!table)return;
  var bufs=svg.querySelectorAll('rect.buf');
  function clear(){svg.classList.remove('dim');Array.prototype.forEach.call(bufs,function(b){b.classList.remove('on');});
    Array.prototype.forEach.call(table.tBodies[0].rows,function(r){r.classList.remove('hl');});}
  function showStep(s){clear();svg.classList.add('dim');
    Array.prototype.forEach.call(bufs,function(b){if(+b.getAttribute('data-first')<=s&&s<=+b.getAttribute('data-last'))b.classList.add('on');});
    Array.prototype.forEach.call(table.tBodies[0].rows,function(r){if(+r.getAttribute('data-step')===s)r.classList.add('hl');});}
  function showBuffer(b){clear();svg.classList.add('dim');b.classList.add('on');
    var f=+b.getAttribute('data-first'),l=+b.getAttribute('data-last');
    Array.prototype.forEach.call(table.tBodies[0].rows,function(r){var s=+r.getAttribute('data-step');if(f<=s&&s<=l)r.classList.add('hl');});}
  Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
    r.addEventListener('mouseenter',function(){showStep(+r.getAttribute('data-step'));});
    r.addEventListener('mouseleave',clear);});
  Array.prototype.forEach.call(bufs,function(b){
    b.addEventListener('mouseenter',function(){showBuffer(b);});
    b.addEventListener('mouseleave',clear);});
  Array.prototype.forEach.call(svg.querySelectorAll('rect.step'),function(r){
    r.addEventListener('mouseenter',function(){showStep(+r.getAttribute('data-step'));});
    r.addEventListener('mouseleave',clear);});
})();
`;

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderReportHtml(data: ReportData): string {
  const s = data.summary;
  const a = data.arena;
  const p = data.profile;
  const card = (k: string, v: string, title = ''): string =>
    `<div class="card"${title ? ` title="${escapeHtml(title)}"` : ''}><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`;
  const cards = [
    card('ops', int(s.ops)),
    card('MACs', int(s.macs), 'multiply-accumulates of convolutions and fully connected layers'),
    card('weight bytes', int(s.weightBytes), 'weights and biases of all layers'),
    card('flash bytes', int(s.flashBytes), 'the constants as the generated C lays them out: widened, sparse, with requantization tables'),
    card('zero weights', percent(s.sparsity), 'fraction of weight elements that are zero'),
    card('arena bytes', int(s.arenaBytes), 'the static activation arena'),
    card('arena lower bound', int(s.arenaLowerBound), 'most arena bytes live at one step; only in-place reuse goes below it'),
    card('flash (constants)', int(data.memory.flash.used)),
    card('RAM (arena + I/O)', int(data.memory.ram.used)),
  ];
  if (p) {
    cards.push(card(`${p.unit} (profile)`, int(p.total), p.source));
    // Instructions (QEMU) have no duration; cycles become time at the clock the firmware runs.
    if (p.unit === 'cycles') cards.push(card(`ms at ${int(data.board.clockHz / 1e6)} MHz`, ((p.total / data.board.clockHz) * 1000).toFixed(2)));
  }
  const chips = Object.entries(s.opCounts)
    .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .map(([op, n]) => `<span class="chip">${escapeHtml(op)} × ${n}</span>`)
    .join('');
  const cycleHeads = p
    ? p.unit === 'cycles'
      ? '<th class="num">cycles</th><th class="num" title="cycles per MAC">cyc/MAC</th>'
      : '<th class="num">instructions</th><th class="num" title="instructions per MAC">instr/MAC</th>'
    : '';
  const totalCycles = p ? `<td class="num">${int(p.total)}</td><td class="num">${p.perMac === null ? '' : p.perMac.toFixed(2)}</td>` : '';
  const inPlaceCount = data.layers.filter((l) => l.inPlace).length;
  const arenaNote =
    `${a.buffers.length} arena buffers (${a.buffers.filter((b) => b.kind === 'scratch').length} kernel scratch, hatched). ` +
    `Peak: ${int(a.peak.bytes)} bytes live at layer ${a.peak.step}. ` +
    (a.bytes < a.lowerBound
      ? `The arena is ${int(a.lowerBound - a.bytes)} bytes below the lower bound because ${inPlaceCount} layer${inPlaceCount === 1 ? ' writes its output' : 's write their outputs'} over dying inputs.`
      : `The arena is ${int(a.bytes - a.lowerBound)} bytes (${percent(a.lowerBound > 0 ? (a.bytes - a.lowerBound) / a.lowerBound : 0)}) above the lower bound.`) +
    (a.buffers.some((b) => b.graphInput)
      ? ' Graph inputs live in the arena (written before layer 0) and their bytes are reused once read; outputs are the caller’s buffers.'
      : ' Inputs and outputs are the caller’s buffers and are not part of the arena.');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="tinyforge ${escapeHtml(data.tool.version)}">
<title>${escapeHtml(data.model.file)} on ${escapeHtml(data.board.id)} · tinyforge report</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
  <h1>${escapeHtml(data.model.file)} <span class="badge ${data.memory.fits ? 'ok' : 'over'}" id="fit-badge">${data.memory.fits ? 'fits' : 'does not fit'} ${escapeHtml(data.board.id)}</span></h1>
  <div class="muted">${escapeHtml(data.board.name)} · ${escapeHtml(data.board.core)} at ${int(data.board.clockHz / 1e6)} MHz · C prefix <code>${escapeHtml(data.model.prefix)}</code> · ${int(data.model.fileBytes)} bytes · sha256 <span class="mono">${escapeHtml(data.model.sha256.slice(0, 16))}…</span></div>
</header>

<section id="summary">
  <h2>Model summary</h2>
  <div class="cards">${cards.join('')}</div>
  <div class="chips">${chips}</div>
</section>

<section id="io">
  <h2>Inputs and outputs</h2>
  <div class="scroll"><table id="io-table"><thead><tr><th>tensor</th><th>name</th><th>type</th><th>shape</th><th class="num">bytes</th><th class="num">scale</th><th class="num">zero point</th></tr></thead>
  <tbody>
${ioRows([...data.inputs, ...data.outputs])}
  </tbody></table></div>
</section>

<section id="memory">
  <h2>Memory budget on ${escapeHtml(data.board.name)}</h2>
  ${budgetBar('flash-budget', 'Flash', data.memory.flash, 'model constants (code not included)')}
  ${budgetBar('ram-budget', 'RAM', data.memory.ram, 'arena and the caller’s I/O buffers (stack not included)')}
${regionTable(data)}
</section>

<section id="arena">
  <h2>Arena plan · ${escapeHtml(bytesText(a.bytes))}</h2>
  <div class="legend arena-legend"><span class="key"><i class="swatch act"></i>activation buffer</span><span class="key"><i class="swatch hatched"></i>kernel scratch</span><span class="key"><i class="line live"></i>bytes live per layer</span><span class="key"><i class="line lb"></i>lower bound</span><span class="key"><i class="line top"></i>arena size</span><span class="key"><i class="dot"></i>peak</span></div>
  ${renderArenaSvg(data)}
  <div class="note">${escapeHtml(arenaNote)} Hover a buffer for its tensor, a layer row or column for what is live there.</div>
</section>

<section id="layer-section">
  <h2>Layers</h2>
  <div class="scroll"><table id="layers">
  <thead><tr><th class="num">#</th><th>op</th><th>kernel</th><th>filter</th><th>output</th><th class="num">MACs</th><th class="num">weight bytes</th><th class="num">flash bytes</th><th class="num">sparsity</th><th class="num">live arena</th>${cycleHeads}</tr></thead>
  <tbody>
${layerRows(data)}
  </tbody>
  <tfoot><tr><td></td><td>total</td><td></td><td></td><td></td><td class="num">${int(s.macs)}</td><td class="num">${int(s.weightBytes)}</td><td class="num">${int(s.flashBytes)}</td><td class="num">${percent(s.sparsity)}</td><td class="num">${int(a.peak.bytes)} max</td>${totalCycles}</tr></tfoot>
  </table></div>
  ${p ? `<div class="note">${p.unit === 'cycles' ? 'Cycles' : 'Instructions (QEMU models no cycles)'} from ${escapeHtml(p.source)} (${p.layersCounted} of ${data.layers.length} layers).</div>` : '<div class="note">No profile given; pass <code>--profile profile.json</code> (written by <code>tinyforge validate --board … --profile-out profile.json</code>) to add per-layer cycles or instructions.</div>'}
</section>

<footer>Generated by tinyforge ${escapeHtml(data.tool.version)}. Self-contained: no network, no external fonts.</footer>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
