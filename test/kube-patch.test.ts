// The rig's PATCH algorithms (test/fakes/kube-patch.mjs) against the examples of
// their specifications: RFC 7386's appendix, RFC 6902's, and the strategic merge
// patch directives kubectl sends (sig-api-machinery strategic-merge-patch.md).
import { expect } from 'chai';
import { join } from 'node:path';
import { repoRoot } from './helpers/env.js';

type Json = any;
interface Patches {
  mergePatch(target: Json, patch: Json): Json;
  jsonPatch(target: Json, operations: Json[]): Json;
  strategicMerge(original: Json, patch: Json): Json;
  PatchError: new (message: string) => Error;
}

describe('kube-patch.mjs: merge patch, JSON patch, strategic merge patch', () => {
  let patches: Patches;
  before(async () => {
    patches = (await import(join(repoRoot, 'test', 'fakes', 'kube-patch.mjs'))) as Patches;
  });

  it('RFC 7386 appendix A: every example', () => {
    const cases: [Json, Json, Json][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(patches.mergePatch(target, patch), JSON.stringify([target, patch])).to.deep.equal(result);
  });

  it('RFC 6902 appendix A: add, remove, replace, move, copy, test; a failed test or a missing path throws and leaves the input alone', () => {
    const { jsonPatch } = patches;
    expect(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }])).to.deep.equal({ baz: 'qux', foo: 'bar' });
    expect(jsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }])).to.deep.equal({ foo: ['bar', 'qux', 'baz'] });
    expect(jsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }])).to.deep.equal({ foo: 'bar' });
    expect(jsonPatch({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }])).to.deep.equal({ foo: ['bar', 'baz'] });
    expect(jsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }])).to.deep.equal({ baz: 'boo', foo: 'bar' });
    expect(jsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }])).to.deep.equal({ foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
    expect(jsonPatch({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }])).to.deep.equal({ foo: ['all', 'cows', 'eat', 'grass'] });
    expect(jsonPatch({ baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }])).to.deep.equal({ baz: 'qux', foo: ['a', 2, 'c'] });
    expect(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }])).to.deep.equal({ foo: 'bar', child: { grandchild: {} } });
    expect(jsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }])).to.deep.equal({ foo: ['bar', ['abc', 'def']] });
    expect(jsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }, { op: 'copy', from: '/~1', path: '/x' }])).to.deep.equal({ '/': 9, '~1': 10, x: 9 });
    const input = { baz: 'qux' };
    expect(() => jsonPatch(input, [{ op: 'add', path: '/a', value: 1 }, { op: 'test', path: '/baz', value: 'bar' }])).to.throw(patches.PatchError, /testing value \/baz failed/);
    expect(() => jsonPatch(input, [{ op: 'add', path: '/baz/bat', value: 'qux' }])).to.throw(patches.PatchError);
    expect(() => jsonPatch(input, [{ op: 'remove', path: '/nope' }])).to.throw(patches.PatchError, /does not exist/);
    expect(() => jsonPatch({ '1e0': 'x' }, [{ op: 'test', path: '/1e0', value: 'x' }, { op: 'test', path: '/foo/1e0', value: 'x' }])).to.throw(patches.PatchError);
    expect(input).to.deep.equal({ baz: 'qux' });
  });

  it('strategic merge: webhooks and containers merge by name, other lists are replaced; $patch, $setElementOrder, $retainKeys, $deleteFromPrimitiveList', () => {
    const { strategicMerge } = patches;
    const original = {
      metadata: { finalizers: ['a'], labels: { keep: '1', drop: '2' } },
      webhooks: [
        { name: 'a', clientConfig: { caBundle: 'OLD', service: { path: '/a' } }, timeoutSeconds: 5 },
        { name: 'b', clientConfig: { caBundle: 'OLD' }, rules: [{ operations: ['CREATE'] }] },
      ],
    };
    expect(
      strategicMerge(original, {
        metadata: { finalizers: ['b'], labels: { drop: null } },
        '$setElementOrder/webhooks': [{ name: 'b' }, { name: 'a' }],
        webhooks: [{ name: 'a', clientConfig: { caBundle: 'NEW' } }, { name: 'b', clientConfig: { caBundle: 'NEW' }, rules: [{ operations: ['UPDATE'] }] }],
      }),
    ).to.deep.equal({
      metadata: { finalizers: ['a', 'b'], labels: { keep: '1' } },
      webhooks: [
        { name: 'b', clientConfig: { caBundle: 'NEW' }, rules: [{ operations: ['UPDATE'] }] },
        { name: 'a', clientConfig: { caBundle: 'NEW', service: { path: '/a' } }, timeoutSeconds: 5 },
      ],
    });
    expect(strategicMerge(original, { webhooks: [{ name: 'a', $patch: 'delete' }] }).webhooks.map((hook: Json) => hook.name)).to.deep.equal(['b']);
    expect(strategicMerge(original, { webhooks: [{ $patch: 'replace' }, { name: 'c' }] }).webhooks).to.deep.equal([{ name: 'c' }]);
    expect(strategicMerge(original, { metadata: { $patch: 'replace', name: 'x' } }).metadata).to.deep.equal({ name: 'x' });
    expect(strategicMerge(original, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }).metadata.finalizers).to.deep.equal([]);
    const strategy = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    expect(strategicMerge(strategy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } })).to.deep.equal({ spec: { strategy: { type: 'Recreate' } } });
    const pod = { containers: [{ name: 'server', image: 'v1', env: [{ name: 'A', value: '1' }] }], tolerations: [{ key: 'x' }] };
    expect(strategicMerge(pod, { containers: [{ name: 'server', env: [{ name: 'B', value: '2' }] }], tolerations: [{ key: 'y' }] })).to.deep.equal({
      containers: [{ name: 'server', image: 'v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
      tolerations: [{ key: 'y' }],
    });
    expect(() => strategicMerge(original, { webhooks: [{ clientConfig: {} }] })).to.throw(patches.PatchError, /merge key name/);
  });
});
