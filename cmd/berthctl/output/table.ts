/**
 * The table shape etcdctl prints with `-w table` (olekukonko/tablewriter as etcdctl configures it:
 * upper-case headers centred, cells aligned right, `+---+` rules, one space of padding).
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h) => h.toUpperCase());
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const centred = head.map((h, i) => {
    const gap = (widths[i] as number) - h.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + h + ' '.repeat(gap - left);
  });
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |\n`;
  let out = rule + line(centred) + rule;
  for (const r of rows) out += line(widths.map((w, i) => (r[i] ?? '').padStart(w)));
  if (rows.length > 0) out += rule;
  return out;
}

/** go-humanize's Bytes (SI units): "512 B", "1.5 kB", "25 MB". */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${sizes[e] ?? '?'}`;
}
