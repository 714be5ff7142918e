/**
 * Inline-SVG heatmaps for the interpretability views (no scripts, no external resources; works in a browser too).
 *   heatmapSvg(h: Heatmap): string — rows top to bottom, columns left to right, a <title> tooltip per cell,
 *     optional text per cell, a colour bar. Colours: 'diverging' (blue–white–red, centred on `center`, default 0)
 *     or 'sequential' (white–blue). NaN cells are grey.
 *   displayToken(s): a token made visible (newline ↵, space ·, tab ⇥), at most 12 characters.
 */
export interface Heatmap {
  rows: string[];
  cols: string[];
  values: number[][];
  title?: string;
  scale?: 'diverging' | 'sequential';
  /** Colour domain; default: the data's range (diverging: symmetric about center). */
  domain?: [number, number];
  center?: number;
  /** Text drawn in each cell (e.g. the lens' top token). */
  cellText?: string[][];
  /** Extra tooltip text per cell. */
  cellTip?: string[][];
  cellWidth?: number;
  cellHeight?: number;
  digits?: number;
}

export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function displayToken(s: string): string {
  const v = s.replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/ /g, '·');
  return v.length > 12 ? `${v.slice(0, 11)}…` : v;
}

function lerp(a: number[], b: number[], t: number): string {
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const BLUE = [33, 102, 172];
const WHITE = [247, 247, 247];
const RED = [178, 24, 43];

export function colorOf(v: number, lo: number, hi: number, scale: 'diverging' | 'sequential', center: number): string {
  if (!Number.isFinite(v)) return '#bbb';
  if (scale === 'sequential') {
    const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0;
    return lerp(WHITE, BLUE, t);
  }
  if (v >= center) return lerp(WHITE, RED, hi > center ? Math.min(1, (v - center) / (hi - center)) : 0);
  return lerp(WHITE, BLUE, center > lo ? Math.min(1, (center - v) / (center - lo)) : 0);
}

function dataDomain(h: Heatmap, scale: 'diverging' | 'sequential', center: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of h.values) for (const v of r) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return [0, 1];
  if (scale === 'diverging') {
    const m = Math.max(Math.abs(hi - center), Math.abs(center - lo)) || 1;
    return [center - m, center + m];
  }
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

export function heatmapSvg(h: Heatmap): string {
  const scale = h.scale ?? 'diverging';
  const center = h.center ?? 0;
  const [lo, hi] = h.domain ?? dataDomain(h, scale, center);
  const cw = h.cellWidth ?? 30;
  const ch = h.cellHeight ?? 18;
  const digits = h.digits ?? 3;
  const rowLabelW = Math.max(30, ...h.rows.map((r) => r.length * 6.5)) + 6;
  const colLabelH = Math.max(30, ...h.cols.map((c) => Math.min(c.length, 14) * 5.5)) + 8;
  const top = (h.title ? 18 : 0) + colLabelH;
  const width = Math.max(rowLabelW + h.cols.length * cw + 70, (h.title?.length ?? 0) * 7.5);
  const height = top + h.rows.length * ch + 6;
  const parts: string[] = [];
  if (h.title) parts.push(`<text x="0" y="13" font-size="13" font-weight="bold">${esc(h.title)}</text>`);
  h.cols.forEach((c, j) => {
    const x = rowLabelW + j * cw + cw / 2;
    parts.push(`<text transform="translate(${x},${top - 4}) rotate(-60)" font-size="10">${esc(c)}</text>`);
  });
  h.rows.forEach((r, i) => {
    const y = top + i * ch;
    parts.push(`<text x="${rowLabelW - 4}" y="${y + ch * 0.7}" font-size="10" text-anchor="end">${esc(r)}</text>`);
    h.cols.forEach((c, j) => {
      const v = h.values[i]?.[j] ?? NaN;
      const x = rowLabelW + j * cw;
      const tip = `${r} · ${c}: ${Number.isFinite(v) ? v.toFixed(digits) : 'n/a'}${h.cellTip ? ` — ${h.cellTip[i][j]}` : ''}`;
      const fill = colorOf(v, lo, hi, scale, center);
      parts.push(`<rect x="${x}" y="${y}" width="${cw}" height="${ch}" fill="${fill}"><title>${esc(tip)}</title></rect>`);
      const txt = h.cellText?.[i]?.[j];
      const at = `x="${x + cw / 2}" y="${y + ch * 0.68}"`;
      if (txt) parts.push(`<text ${at} font-size="8" text-anchor="middle" pointer-events="none">${esc(txt)}</text>`);
    });
  });
  // Colour bar: 5 stops with their values.
  const bx = rowLabelW + h.cols.length * cw + 12;
  for (let k = 0; k < 5; k++) {
    const v = hi - ((hi - lo) * k) / 4;
    const y = top + k * 14;
    parts.push(`<rect x="${bx}" y="${y}" width="12" height="14" fill="${colorOf(v, lo, hi, scale, center)}"/>`);
    parts.push(`<text x="${bx + 15}" y="${y + 10}" font-size="9">${esc(fmtNum(v, digits))}</text>`);
  }
  const size = `width="${width}" height="${Math.max(height, top + 76)}"`;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" ${size} font-family="sans-serif">${parts.join('')}</svg>`;
}

export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '–';
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}
