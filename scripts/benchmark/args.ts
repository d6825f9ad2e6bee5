// The bench's command line.
export type Only = 'reuse' | 'newkeys' | 'ecdsa' | 'ecdsa1000' | 'backup' | 'renewal' | 'cluster' | 'ca-rotation';
const ONLY: Only[] = ['reuse', 'newkeys', 'ecdsa', 'ecdsa1000', 'backup', 'renewal', 'cluster', 'ca-rotation'];

export interface Args {
  quick: boolean;
  json: boolean;
  /** A scenario of the comparison, or 'ecdsa1000': the child (our 1000 ECDSA certs measured in this process). */
  only?: Only;
  /** Child mode only: sign with this CA (ca.crt/ca.key), write under --out, print one JSON line. */
  caDir?: string;
  out?: string;
  jsonLine: boolean;
  count: number;
  /** Scenario 4: the etcd db's size in MiB (default 1024; --quick 128). */
  backupMb?: number;
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, json: false, jsonLine: false, count: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next!;
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--json') args.json = true;
    else if (arg === '--json-line') args.jsonLine = true;
    else if (arg === '--ca-dir') args.caDir = value();
    else if (arg === '--out') args.out = value();
    else if (arg === '--count') args.count = Number(value());
    else if (arg === '--backup-size') {
      const mb = Number(value());
      if (!Number.isInteger(mb) || mb < 1) usage(`--backup-size takes a whole number of MB (got "${argv[i]}")`);
      args.backupMb = mb;
    } else if (arg === '--only') {
      const only = value();
      if (!ONLY.includes(only as Only)) usage(`--only takes ${ONLY.slice(0, -1).join(', ')} or ${ONLY.at(-1)} (got "${only}")`);
      args.only = only as Only;
    } else if (arg === '-h' || arg === '--help') usage();
    else usage(`unknown argument "${arg}"`);
  }
  return args;
}

export function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}`);
  console.error(`usage: scripts/bench [--quick] [--json] [--only ${ONLY.join('|')}] [--backup-size MB]`);
  console.error('  --quick          one repetition per contender (smoke run); scenario 4 with a 128 MB db');
  console.error('  --json           also print the results as JSON');
  console.error('  --only reuse     scenario 1 only (kubeadm set, reused keys)');
  console.error('  --only newkeys   scenario 2 only (kubeadm set, new RSA-2048 keys)');
  console.error('  --only ecdsa     scenario 3 only (1000 ECDSA kubelet certs vs openssl/cfssl)');
  console.error('  --only ecdsa1000 no comparison: our 1000 ECDSA certs in this process, with its VmHWM');
  console.error('                   (what scenario 3 runs as a child; --count N, --ca-dir DIR, --out DIR, --json-line)');
  console.error('  --only backup    scenario 4 only (backup throughput vs tar czf, peak RSS)');
  console.error('  --only renewal   scenario 5 only (whole kubeadm renewal vs openssl/cfssl loops)');
  console.error('  --only cluster   scenario 6 only (rolling renewal of 3 control planes behind haproxy: failed requests, wall time)');
  console.error('  --only ca-rotation scenario 7 only (every CA rotated on 3 control planes, three phases: failed requests, time per node and phase)');
  console.error('  --backup-size MB scenario 4: size of the etcd db (default 1024, 128 with --quick)');
  process.exit(problem ? 2 : 0);
}
