/** Small DOM helpers for the views (no framework: the app's whole UI is a few forms and plots). */

type Attrs = Record<string, string | number | boolean | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Node | string | null>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (typeof v === 'boolean') {
      if (v) el.setAttribute(k, '');
    } else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export const num = (el: HTMLInputElement, fallback: number): number => {
  const v = Number(el.value);
  return Number.isFinite(v) ? v : fallback;
};

export function errorBox(e: unknown): HTMLElement {
  return h('p', { class: 'error' }, (e as Error)?.message ?? String(e));
}

/** Runs `work` with the button disabled, showing errors in `out`. */
export async function busy(button: HTMLButtonElement, out: HTMLElement, work: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    await work();
  } catch (e) {
    out.append(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

/** A token as shown in plots: whitespace made visible. */
export const showToken = (t: string): string => t.replace(/\n/g, '⏎').replace(/ /g, '·') || '∅';
