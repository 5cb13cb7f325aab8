// A time-series chart: uPlot (bundled), one y-axis, a few series. Sized to its container and resized
// with the window.
import uPlot from 'uplot';
import { h } from './dom.ts';

export interface ChartSeries {
  label: string;
  color: string;
}

export class Chart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly box: HTMLElement;
  private data: uPlot.AlignedData;

  constructor(
    readonly title: string,
    private readonly unit: string,
    private readonly series: ChartSeries[],
  ) {
    this.box = h('div', { class: 'chart-box' });
    this.el = h('section', { class: 'chart card', 'data-testid': 'chart' }, h('h3', {}, title), this.box);
    this.data = [[], ...series.map(() => [])];
  }

  /** Draws on first use (once the element is in the page, so it has a width); later calls update the data. */
  set(data: number[][]): void {
    // NaN is "no value in this interval": uPlot leaves a gap for null.
    this.data = data.map((col, i) => (i === 0 ? col : col.map((v) => (Number.isFinite(v) ? v : null)))) as uPlot.AlignedData;
    // How many points are drawn: for whoever looks at the page from outside (the browser test).
    this.el.setAttribute('data-points', String(data[0]?.length ?? 0));
    if (this.plot === null) {
      if (!this.el.isConnected) return;
      this.plot = new uPlot(this.options(), this.data, this.box);
      window.addEventListener('resize', this.resize);
    } else this.plot.setData(this.data);
  }

  private readonly resize = (): void => {
    if (this.plot !== null && this.el.isConnected) this.plot.setSize({ width: this.width(), height: 180 });
  };

  private width(): number {
    return Math.max(240, this.box.clientWidth || 400);
  }

  private options(): uPlot.Options {
    const unit = this.unit;
    return {
      width: this.width(),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // At least the last two minutes across, so the first few points do not stretch over years.
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 120), max] }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { size: 56 + 7 * unit.length, values: (_u, ticks) => ticks.map((v) => `${short(v)}${unit}`) }],
      // Points are drawn while there are few of them (a single sample has no line).
      series: [{}, ...this.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false, points: { show: (_u: uPlot, _i: number, i0: number, i1: number) => i1 - i0 < 40, size: 5 } }))],
    };
  }

  destroy(): void {
    window.removeEventListener('resize', this.resize);
    this.plot?.destroy();
    this.plot = null;
  }
}

/** 12500 → 12.5k, 0.000123 → 0.000123: tick labels that fit the axis. */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}
