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

/**
 * A progress callback that rewrites one stderr line, only when the whole percentage changes (an
 * import reports every chunk of every tensor; a line per chunk would flood the terminal).
 */
export function progressLine(label: string, write: (text: string) => void): (done: number, total: number, suffix?: string) => void {
  let lastPercent = -1;
  return (done, total, suffix = '') => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    write(`\r${label}${formatProgress(done, total)}${suffix}`);
  };
}
