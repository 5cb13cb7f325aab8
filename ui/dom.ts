// The dashboard's one DOM helper: elements from tag, attributes and children. Text always goes in as
// text nodes (never innerHTML), so nothing the log or the config holds can become markup.

type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | null | undefined | ((ev: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, Attr> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A table from a header row and rows of cells. */
export function table(head: string[], rows: Child[][], testid?: string): HTMLTableElement {
  return h(
    'table',
    { 'data-testid': testid },
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...(rows.length === 0 ? [h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, 'none'))] : rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))))),
  );
}

export const fmt = {
  num: (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–'),
  pct: (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–'),
  usd: (x: number): string => (Number.isFinite(x) ? `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}` : '–'),
  ms: (us: number): string => (Number.isFinite(us) ? `${(us / 1000).toFixed(1)} ms` : '–'),
  time: (iso: string): string => new Date(iso).toLocaleString(),
};

/** A notice at the top of a page: errors from the gateway, in its own words. */
export function notice(text: string, kind: 'error' | 'info' = 'error'): HTMLElement {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
