// `rescue-kit report --html FILE`: one self-contained HTML page for one host
// (--root: timeline, problems, audit history) or a fleet (--from NODE.json ...).
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { RescueError } from '../../errors.js';
import { createHost } from '../../host/host.js';
import { readText, writeFilesAtomically } from '../../host/fs.js';
import { checkInventory } from '../../ops/inventory/check.js';
import { discover } from '../../ops/inventory/discover.js';
import { readAuditHistory } from '../../ops/report/audit-history.js';
import { buildReportModel, parseCheckJson } from '../../ops/report/report-model.js';
import { parseDuration } from '../../pki/validity.js';
import { renderHtmlReport } from '../../render/html-report.js';
import { say } from '../output.js';

export interface ReportOptions {
  html: string;
  root: string;
  path?: string;
  warn: string;
  from?: string[];
  node?: string;
}

/** A fleet node is named after its file: web-3.json -> web-3. */
const nodeName = (file: string) => basename(file).replace(/\.json$/i, '');

export async function report(options: ReportOptions, now = new Date()): Promise<void> {
  let model;
  if (options.from?.length) {
    if (options.root !== '/' || options.path) throw new RescueError('USAGE', '--from reads check --json files; it does not take --root or --path', { hint: 'on each node: rescue-kit check --json > NODE.json; then: rescue-kit report --html fleet.html --from *.json' });
    const names = new Set<string>();
    const nodes = options.from.map((file) => {
      let node = nodeName(file);
      // Two files with the same base name (a/web-1.json, b/web-1.json) stay two rows.
      for (let n = 2; names.has(node); n++) node = `${nodeName(file)} (${n})`;
      names.add(node);
      return { node, check: parseCheckJson(readText(file, 'check --json file'), file) };
    });
    model = buildReportModel(nodes, null, now, `rescue-kit fleet report: ${nodes.length} node${nodes.length === 1 ? '' : 's'}`, true);
  } else {
    const host = createHost({ root: options.root, now: () => now });
    const check = checkInventory(discover(host, { path: options.path }), { now, warnMs: parseDuration(options.warn, '--warn') });
    const node = options.node ?? (resolve(options.root) === '/' ? hostname() : resolve(options.root));
    model = buildReportModel([{ node, check }], readAuditHistory(host), now, `rescue-kit certificate report: ${node}`, false);
  }
  const out = resolve(options.html);
  writeFilesAtomically([{ path: out, data: renderHtmlReport(model), mode: 0o644 }], { overwrite: true });
  const certificates = model.nodes.reduce((sum, node) => sum + node.check.certificates.length + node.check.authorities.length, 0);
  say(`report written: ${out} (${model.nodes.length} node${model.nodes.length > 1 ? 's' : ''}, ${certificates} certificates, worst ${model.nodes[0]?.worst ?? 'OK'})`);
  process.stdout.write(`${out}\n`);
}
