import { MetadataValueType, metadataTypeName, type MetadataArray, type MetadataValue } from '@smallmind/io-smq';

const ARRAY_PREVIEW = 8;

function formatArray(array: MetadataArray, all: boolean): string {
  const shown = all ? array.values : array.values.slice(0, ARRAY_PREVIEW);
  const items = shown.map((v) => (typeof v === 'object' ? formatArray(v, all) : typeof v === 'string' ? JSON.stringify(v) : String(v)));
  const more = shown.length < array.values.length ? `, ... (${array.values.length} items)` : '';
  return `${metadataTypeName(array.elementType)}[${items.join(', ')}${more}]`;
}

/** One metadata value as a short line: strings quoted, long arrays cut to their first items. */
export function formatMetadataValue(value: MetadataValue, all = false): string {
  if (value.type === MetadataValueType.ARRAY) return formatArray(value.value, all);
  if (value.type === MetadataValueType.STRING) return JSON.stringify(value.value.length > 200 && !all ? `${value.value.slice(0, 200)}...` : value.value);
  return `${String(value.value)} (${metadataTypeName(value.type)})`;
}

/** `12.5 MB / 100.0 MB (12%)`. */
export function formatProgress(done: number, total: number): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  return `${mb(done)} / ${mb(total)} (${percent}%)`;
}

export interface ProgressOptions {
  /** What is progressing, e.g. `importing model.gguf`. */
  readonly label: string;
  readonly write: (text: string) => void;
  /** A terminal: one bar redrawn in place. Otherwise (a pipe, a log file) a plain line every 10 %. */
  readonly tty: boolean;
  /** Terminal width, to keep the bar on one line (default 80). */
  readonly columns?: number;
  /** Show nothing until this long after the first report, so quick loads stay silent (default 500 ms). */
  readonly delayMs?: number;
  readonly now?: () => number;
}

export interface Progress {
  update(done: number, total: number, detail?: string): void;
  /** Ends the display (clearing the bar), then prints `message` on its own line if given. */
  finish(message?: string): void;
}

const BAR_WIDTH = 24;

/**
 * Progress of a long import or load. An import reports every chunk of every tensor; drawing is limited to
 * whole-percent changes (terminal) or 10 % steps (plain lines), so the output never floods.
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  // The clock starts at the first report: set-up before it (opening files, starting threads) is not the work.
  let started: number | undefined;
  const delayMs = options.delayMs ?? 500;
  const columns = options.columns !== undefined && options.columns > 0 ? Math.max(40, options.columns) : 80;
  let drawn = false;
  let last = -1;
  return {
    update(done, total, detail = '') {
      started ??= now();
      if (now() - started < delayMs) return;
      const percent = total <= 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
      if (options.tty) {
        if (percent === last) return;
        last = percent;
        const filled = Math.round((percent / 100) * BAR_WIDTH);
        const line = `${options.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${formatProgress(done, total)}${detail}`;
        options.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
        drawn = true;
        return;
      }
      const step = Math.floor(percent / 10) * 10;
      if (step === last) return;
      last = step;
      options.write(`${options.label}: ${formatProgress(done, total)}${detail}\n`);
    },
    finish(message) {
      if (drawn) options.write('\r\x1b[K');
      drawn = false;
      if (message !== undefined) options.write(`${message}\n`);
    },
  };
}

const DECIMAL_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12 };
const BINARY_UNITS: Record<string, number> = { kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** `20GB` (decimal), `512MiB` (binary), `1.5 G` or a plain byte count -> bytes; undefined if it is none of these. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (match === null) return undefined;
  const unit = match[2]!.toLowerCase();
  const scale = DECIMAL_UNITS[unit] ?? BINARY_UNITS[unit];
  if (scale === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * scale);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `1.1 GB`, `260.6 kB`, `12 B` (decimal units, as disk sizes are usually quoted). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
