// The layer picture (README "Layout", STYLE.md) as a test: no import circle
// anywhere in lib/ (static or dynamic imports; `import type` is erased and does
// not count), and the layers below ops never reach up into it.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { repoRoot } from './helpers/env.js';

const lib = join(repoRoot, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Runtime imports of a file (relative specifiers only), as paths relative to lib/. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;
  for (const match of text.matchAll(statement)) if (!match[1]) found.push(match[2]!);
  for (const match of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found.map((spec) => relative(lib, normalize(join(dirname(file), spec.replace(/\.js$/, '.ts')))));
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('layers: imports point down, no circles', () => {
  const graph = new Map(sources(lib).map((file) => [relative(lib, file), importsOf(file)]));

  it('the import graph of lib/ was read (every file, and the imports resolve to files)', () => {
    expect(graph.size).to.be.greaterThan(70);
    for (const [file, imports] of graph) for (const target of imports) expect(graph.has(target), `${file} imports ${target}`).to.equal(true);
  });

  it('finds a circle when there is one (the detector itself)', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])).map((cycle) => cycle.join(' -> '))).to.deep.equal(['a -> b -> c -> a']);
  });

  it('lib/ has no import circle', () => {
    expect(cycles(graph).map((cycle) => cycle.join(' -> '))).to.deep.equal([]);
  });

  it('pki, config, catalogue and host never import ops, render, wizard or cli', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      /^(pki|config|catalogue|host)\//.test(file) ? imports.filter((target) => /^(ops|render|wizard|cli)\//.test(target)).map((target) => `${file} -> ${target}`) : [],
    );
    expect(upward).to.deep.equal([]);
  });

  it('the wizard only asks and prints: it imports nothing from pki, config or node:fs (all of that is in ops)', () => {
    const wizardFiles = [...graph.keys()].filter((file) => file.startsWith('wizard/'));
    expect(wizardFiles.length).to.be.greaterThan(2);
    const reaching = wizardFiles.flatMap((file) => [
      ...graph.get(file)!.filter((target) => /^(pki|config|cli)\//.test(target)).map((target) => `${file} -> ${target}`),
      ...(/from ['"]node:fs(\/promises)?['"]/.test(readFileSync(join(lib, file), 'utf8')) ? [`${file} -> node:fs`] : []),
    ]);
    expect(reaching).to.deep.equal([]);
  });

  it('where kubeadm keeps things is said once, by the catalogue: no other module types a kubeadm host path', () => {
    // The sandbox writes a whole tree (its paths are the test data); everything else asks the catalogue.
    const typed = [...graph.keys()]
      .filter((file) => !file.startsWith('catalogue/') && !file.startsWith('ops/sandbox/') && !file.startsWith('cli/commands/demo'))
      .flatMap((file) =>
        readFileSync(join(lib, file), 'utf8')
          .split('\n')
          .map((line, index) => ({ line, index }))
          .filter(({ line }) => !/^\s*(\/\/|\*|\/\*\*)/.test(line) && /['"`]\/(etc\/kubernetes|var\/lib\/kubelet)\b/.test(line))
          .map(({ index }) => `${file}:${index + 1}`),
      );
    expect(typed).to.deep.equal([]);
  });
});
