// The one way a time goes into a file or directory name (backups, runs, in-cluster directories):
// ISO 8601 basic format in UTC, sortable, with no characters a shell or tar would quote.

/** 20261202T015449Z; with milliseconds (where names must stay unique within a second), 20261202T015449919Z. */
export function compactTime(date: Date, options: { milliseconds?: boolean } = {}): string {
  const basic = date.toISOString().replace(/[-:]/g, '');
  return options.milliseconds ? basic.replace(/\.(\d+)Z$/, '$1Z') : basic.replace(/\.\d+Z$/, 'Z');
}
