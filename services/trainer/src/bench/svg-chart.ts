export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const WIDTH = 520;
const HEIGHT = 340;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

/** Panels side by side as one standalone SVG document (no scripts, no external fonts). */
export function renderLineCharts(panels: Panel[]): string {
  const width = WIDTH * panels.length;
  const body = panels.map((panel, index) => renderPanel(panel, index * WIDTH)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${HEIGHT}" fill="white"/>`,
    body,
    '</svg>',
  ].join('\n');
}

function renderPanel(panel: Panel, offsetX: number): string {
  const points = panel.series.flatMap((series) => series.points);
  const xMax = niceMax(Math.max(...points.map((point) => point.x), 1e-9));
  const yValues = points.map((point) => point.y);
  const yMin = Math.min(0, ...yValues);
  const yMax = niceMax(Math.max(...yValues, 1e-9));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => offsetX + MARGIN.left + (x / xMax) * plotWidth;
  const sy = (y: number) => MARGIN.top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;

  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const grid = ticks.map((t) => {
    const y = yMin + t * (yMax - yMin);
    const x = t * xMax;
    return [
      `<line x1="${sx(0)}" y1="${sy(y)}" x2="${sx(xMax)}" y2="${sy(y)}" stroke="#ddd"/>`,
      `<text x="${sx(0) - 6}" y="${sy(y) + 4}" text-anchor="end">${format(y)}</text>`,
      `<text x="${sx(x)}" y="${sy(yMin) + 16}" text-anchor="middle">${format(x)}</text>`,
    ].join('');
  });
  const lines = panel.series.map((series) => {
    const path = series.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${path}"/>`;
  });
  const legend = panel.series.map(
    (series, index) =>
      `<rect x="${sx(0) + 8}" y="${MARGIN.top + 8 + index * 16}" width="12" height="3" fill="${series.color}"/>` +
      `<text x="${sx(0) + 24}" y="${MARGIN.top + 13 + index * 16}">${escape(series.name)}</text>`,
  );
  return [
    `<text x="${offsetX + WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(panel.title)}</text>`,
    ...grid,
    `<line x1="${sx(0)}" y1="${sy(yMin)}" x2="${sx(xMax)}" y2="${sy(yMin)}" stroke="black"/>`,
    `<line x1="${sx(0)}" y1="${sy(yMin)}" x2="${sx(0)}" y2="${sy(yMax)}" stroke="black"/>`,
    `<text x="${offsetX + MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(panel.xLabel)}</text>`,
    `<text transform="translate(${offsetX + 16},${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(panel.yLabel)}</text>`,
    ...lines,
    ...legend,
  ].join('\n');
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / magnitude) * magnitude;
}

function format(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
