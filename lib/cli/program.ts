// The CLI's composition root: commander wiring only. Each command's module is
// imported when it runs, so `--help` and `--version` stay fast.
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, ioError, isIoError, isRescueError, RescueError } from '../errors.js';
import { version } from './version.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * A single-value option given twice is a usage error, on every command: commander's "last wins"
 * would quietly act on the second of two pasted namespaces or roots. Repeatable options (collect)
 * and flags without a value are left alone. Keyed on the value's source, so it holds per parse.
 */
function refuseRepeatedOptions(command: Command): void {
  for (const option of command.options) {
    if (!(option.required || option.optional) || option.variadic || option.parseArg === collect) continue;
    const parse = option.parseArg;
    option.argParser((value: string, previous: unknown) => {
      if (command.getOptionValueSource(option.attributeName()) === 'cli') {
        throw new RescueError('USAGE', `${option.long ?? option.short} given twice ('${String(previous)}', then '${value}'): it takes one value`, { hint: `give ${option.long ?? option.short} once` });
      }
      return parse ? parse(value, previous) : value;
    });
  }
  for (const sub of command.commands) refuseRepeatedOptions(sub);
}
/** ops/renewal/restart.ts's RESTART_MODES, spelled out so --help does not load ops/ (and yaml). */
const RESTART_CHOICES = ['none', 'static-pod', 'systemd', 'crictl', 'docker'];
const beyondCaOption = () => new Option('--beyond-ca <policy>', 'a cert that would outlive its CA: cap to its expiry (warning) or refuse').choices(['cap', 'refuse']).default('cap');

/** The options every plan-applying command shares (renew, ca renew, ca rotate). */
function applyOptions(command: Command, restartHelp = 'how to restart components'): Command {
  return command
    .option('--root <dir>', 'treat DIR as /', '/')
    .addOption(new Option('--restart <mode>', `${restartHelp} (auto: what fits this host, e.g. for the fleet playbook)`).choices([...RESTART_CHOICES, 'auto']).default('none'))
    .option('--timeout <duration>', 'per component: restart and health wait', '120s')
    .option('--apiserver-url <url>', 'health-check the apiserver here (default from the manifest)')
    .option('--no-etcd-backup', 'do not snapshot etcd in the automatic backup')
    .option('--allow-live-copy', 'etcd runs but cannot be snapshotted: copy its live data dir into the automatic backup anyway (may be inconsistent)')
    .option('--dry-run', 'print the plan and stop')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'JSON plan (with --dry-run) or report');
}

export function buildProgram(): Command {
  const program = new Command('rescue-kit')
    .description('Bring a Kubernetes control plane back when its certificates have expired, offline.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const ca = program.command('ca').description('certificate authorities');
  ca.command('init')
    .description('create a self-signed CA from a CSR JSON (like cfssl gencert -initca | cfssljson -bare)')
    .requiredOption('--csr <file>', 'CSR JSON (cfssl format), e.g. templates/kubeadm/ca-csr.json')
    .option('--out <prefix>', 'writes PREFIX.pem, PREFIX-key.pem (0600), PREFIX.csr')
    .option('--var <NAME=value>', 'fill ${NAME} in the template (repeatable)', collect)
    .option('--json', 'print {cert,key,csr} to stdout as cfssl does (pipe to cfssljson) instead of writing files')
    .option('--force', 'overwrite existing output files')
    .action(async (options) => (await import('./commands/ca-init.js')).caInit(options));

  applyOptions(
    ca
      .command('renew')
      .description('re-issue CA certificates with the same key (existing leaves keep verifying); kubeconfig CA data refreshed')
      .argument('[names...]', 'ca, front-proxy-ca, etcd-ca (with --path: CA files of the folder, e.g. ca.pem)')
      .option('--all', 'all three kubeadm CAs (with --path: every CA in the folder whose key is there)')
      .option('--path <dir>', 'a folder of PEMs (binary install, seed 004): its CAs, found by CA:TRUE, and its *.kubeconfig CA data')
      .option('--validity <duration>', 'new validity', '10y'),
    'how to restart the components that read the CA',
  ).action(async (names, options) => (await import('./commands/renew.js')).caRenew(names, options));

  applyOptions(
    ca
      .command('rotate')
      .description('replace a CA key (or the service-account key) with no outage, in phases run on every node before the next: trust (old+new trusted), reissue (leaves re-signed by the new key), distrust (old removed)')
      .argument('[authorities...]', 'ca, etcd-ca, front-proxy-ca, sa')
      .option('--all', 'all four: ca, etcd-ca, front-proxy-ca, sa')
      .addOption(new Option('--phase <phase>', 'which phase (start|finish: the legacy two-phase rotation of ca alone)').choices(['trust', 'reissue', 'distrust', 'start', 'finish']))
      .option('--new-ca <dir>', 'take the new CA (and sa key) another control plane exported, and share progress through DIR')
      .option('--export-new <dir>', 'write the new CA pairs, sa key and progress into DIR for the other control planes (alone: export this tree\'s rotation)')
      .option('--certificates-only', 'with --export-new: no private keys (a copy for workers)')
      .option('--force', 'reissue or distrust although a leaf, a known node or a legacy token Secret still depends on the old CA')
      .option('--validity <duration>', 'validity of the new CA (trust)', '10y')
      .option('--no-in-cluster', 'ca: leave the cluster\'s copies of the CA (cluster-info, caBundles) alone')
      .option('--in-cluster-from <path>', 'ca: read those objects from an export (file or dir) instead of the live cluster; writes apply.sh, applies nothing')
      .option('--in-cluster-out <dir>', 'ca: where the in-cluster directory goes (default var/lib/rescue-kit/ca-rotation/in-cluster-PHASE-TIME)')
      .option('--no-server-check', "ca distrust: remove the old CA from every caBundle without first asking its server (webhook, APIService) which CA its cert is from")
      .option('--token-grace <duration>', 'sa distrust: wait this long after the last reissue for pods to refresh their tokens (default 24h; 0 once they did)')
      .option('--token-secrets-from <file>', "sa distrust: the legacy token Secrets as exported (kubectl get secrets -A --field-selector type=kubernetes.io/service-account-token -o json), when the API does not answer here")
      .option('--export-kubeconfigs <dir>', 'ca: copy admin.conf/super-admin.conf as this phase left them into DIR (0700) to hand out again'),
  ).action(async (authorities, options) => (await import('./commands/ca-rotate.js')).caRotate(authorities, options));

  ca.command('in-cluster')
    .description('continue the in-cluster step of a cluster CA rotation phase from the directory it wrote: read (live, or --from an export), patch, replace, read back')
    .argument('<dir>', 'the in-cluster directory a `ca rotate ca --phase ...` run wrote (holds rotation.json)')
    .option('--root <dir>', 'host root (its admin.conf is the default kubeconfig)')
    .option('--from <path>', 'exported objects (export.sh writes DIR/objects): write apply.sh with the kubectl lines, apply nothing')
    .option('--kubeconfig <file>', 'kubeconfig for kubectl (default: the node\'s admin.conf)')
    .option('--no-apply', 'write the scripts only, even when the API answers')
    .option('--no-server-check', 'distrust: remove the old CA from every caBundle without first asking its server which CA its cert is from')
    .action(async (dir, options) => (await import('./commands/ca-rotate.js')).caInCluster(dir, options));

  program
    .command('issue')
    .description('issue a key + certificate from a CSR JSON and the CA (like cfssl gencert -ca ... | cfssljson -bare)')
    .argument('<csr-json>', 'CSR JSON (cfssl format), e.g. templates/kubeadm/apiserver-csr.json')
    .requiredOption('--ca <file>', 'CA certificate (PEM)')
    .requiredOption('--ca-key <file>', 'CA private key (PEM)')
    .option('--config <file>', 'cfssl ca-config.json (default: conf/ca-config.json)')
    .option('--profile <name>', 'signing profile in the config (unknown names are an error)')
    .option('--hostname <list>', 'comma-separated SANs; replaces the CSR hosts (spaces trimmed)')
    .option('--var <NAME=value>', 'fill ${NAME} in the template (repeatable)', collect)
    .option('--key <file>', 'reuse this existing private key instead of generating one')
    .option('--validity <duration>', 'override the profile expiry: 8760h, 365d, 1y')
    .option('--out <prefix>', 'writes PREFIX.pem, PREFIX-key.pem (0600), PREFIX.csr')
    .option('--json', 'print {cert,key,csr} to stdout as cfssl does (pipe to cfssljson)')
    .option('--force', 'overwrite existing output files')
    .addOption(beyondCaOption())
    .action(async (csrJson, options) => (await import('./commands/issue.js')).issue(csrJson, options));

  program
    .command('sign')
    .description('sign an existing CSR (PEM) under a profile (like cfssl sign)')
    .argument('<csr-pem>', 'certificate request (PEM)')
    .requiredOption('--ca <file>', 'CA certificate (PEM)')
    .requiredOption('--ca-key <file>', 'CA private key (PEM)')
    .option('--config <file>', 'cfssl ca-config.json (default: conf/ca-config.json)')
    .option('--profile <name>', 'signing profile')
    .option('--hostname <list>', 'comma-separated SANs; replaces the CSR SANs')
    .option('--validity <duration>', 'override the profile expiry')
    .requiredOption('--out <file>', 'certificate file to write')
    .option('--force', 'overwrite an existing file')
    .addOption(beyondCaOption())
    .action(async (csrPem, options) => (await import('./commands/sign.js')).sign(csrPem, options));

  program
    .command('inspect')
    .description('show subject, issuer, SANs, usages, serial, validity and key of certificates')
    .argument('<files...>', 'PEM certificates (chains and bundles too)')
    .option('--key <file>', 'also check that this private key matches the (first) certificate')
    .option('--ca <file>', 'also verify the chain against this CA bundle')
    .option('--json', 'stable JSON output')
    .action(async (files, options) => (await import('./commands/inspect.js')).inspect(files, options));

  program
    .command('check')
    .description('find every certificate on this host and report expiry, key and chain problems')
    .option('--root <dir>', 'treat DIR as / (a copied tree, a mounted disk)', '/')
    .option('--path <dir>', 'scan a folder of PEM files (host path under --root) instead of the kubeadm layout')
    .option('--warn <duration>', 'report WARN when less than this is left', '30d')
    .option('--json', 'stable JSON report (schemaVersion 1)')
    .option('--prometheus <file>', 'also write a node_exporter textfile (x509_cert_* metrics), atomically')
    .option('--timeline', 'draw the expiry timeline (80 columns) instead of the table')
    .addHelpText('after', '\nExit status: 0 all OK, 10 something expires within --warn, 11 something expired, missing or broken.')
    .action(async (options) => (await import('./commands/check.js')).check(options));

  program
    .command('report')
    .description('write one self-contained HTML page: expiry timeline of every certificate, problems, audit history (one host, or a fleet of check --json files)')
    .requiredOption('--html <file>', 'the page to write (no network needed to open it)')
    .option('--root <dir>', 'treat DIR as / (one host)', '/')
    .option('--path <dir>', 'scan a folder of PEM files instead of the kubeadm layout')
    .option('--warn <duration>', 'WARN when less than this is left', '30d')
    .option('--node <name>', 'the node name shown (default: the hostname, or --root)')
    .option('--from <files...>', 'a fleet: check --json files, one per node (named after the file)')
    .action(async (options) => (await import('./commands/report.js')).report(options));

  const backup = program.command('backup').description('back up pki, kubeconfigs, manifests, kubelet pki and etcd; verify a backup');
  backup
    .command('create', { isDefault: true })
    .description('write one .tar.gz (0600) with a manifest of every file\'s sha256 (default command)')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--out <file>', 'archive path (default /var/lib/rescue-kit/backups/<host>-<time>.tar.gz under --root; never overwritten)')
    .option('--force', 'replace the --out file if it exists')
    .option('--encrypt', 'encrypt with AES-256-GCM (scrypt key from a passphrase)')
    .option('--passphrase-file <file>', 'read the passphrase from FILE instead of asking')
    .option('--no-etcd', 'do not snapshot or copy etcd')
    .option('--allow-live-copy', 'etcd runs but cannot be snapshotted: copy its live data dir anyway (may be inconsistent; refused otherwise, exit 3)')
    .option('--json', 'print a JSON summary')
    .action(async (options) => (await import('./commands/backup.js')).backup(options));
  backup
    .command('verify')
    .description('re-read an archive: every sha256 against the manifest, and the etcd snapshot (etcdctl snapshot status)')
    .argument('<file>', 'backup archive')
    .option('--passphrase-file <file>', 'passphrase for an encrypted backup')
    .option('--json', 'print a JSON summary')
    .action(async (file, options) => (await import('./commands/backup.js')).backupVerify(file, options));

  program
    .command('restore')
    .description('restore a backup byte for byte (after backing up the current state); refuses unsafe archives')
    .argument('<file>', 'backup archive')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--dry-run', 'show what would change and stop')
    .option('--yes', 'do not ask for confirmation')
    .option('--include-etcd', 'also restore a copied etcd data dir')
    .option('--passphrase-file <file>', 'passphrase for an encrypted backup')
    .option('--json', 'print the plan as JSON')
    .action(async (file, options) => (await import('./commands/backup.js')).restore(file, options));

  applyOptions(
    program
      .command('renew')
      .description('renew kubeadm certificates from their CAs: plan, backup, journal, write, restart in order, health-check, roll back on failure')
      .argument('[names...]', 'apiserver, apiserver-kubelet-client, apiserver-etcd-client, front-proxy-client, etcd-server, etcd-peer, etcd-healthcheck-client, admin.conf, super-admin.conf, controller-manager.conf, scheduler.conf, kubelet.conf')
      .option('--all', 'every renewable certificate on this host')
      .option('--path <dir>', 'a folder of PEMs (binary install, seed 004): names are its files, CAs found beside them by signature')
      .option('--validity <duration>', 'new validity: 1y, 365d, 8760h', '1y')
      .option('--reuse-key', 'keep each existing key (default)')
      .option('--new-key', 'generate new keys (same algorithm and size)')
      .option('--add-san <san>', 'add a SAN to the apiserver serving cert (repeatable, or comma-separated)', collect)
      .option('--add-san-to <names>', 'give the --add-san SANs to these serving certs instead (e.g. apiserver,etcd-server)', collect)
      .option('--force', 'with --all: renew even when every certificate has more than 30 days left')
      .option('--node-name <name>', 'the node a re-minted kubelet client cert is for (default: kubelet.conf\'s system:node:NAME)')
      .addOption(beyondCaOption())
      .option('--resume', 'finish an interrupted run instead of starting one')
      .addHelpText('after', '\nExit status: 0 renewed, 2 usage, 3 precondition (e.g. an interrupted run), 4 invalid input, 6 failed (the message says whether it was rolled back).'),
  ).action(async (names, options) => (await import('./commands/renew.js')).renew(names, options));

  program
    .command('rollback')
    .description('restore the state before a renew run, byte for byte, and restart what it restarted')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--run <id>', 'which run (default: the interrupted one, else the latest)')
    .option('--to <backup>', 'restore this backup archive instead (byte for byte, current state saved first)')
    .option('--list', 'list runs')
    .option('--dry-run', 'print what would be put back (path by path), change nothing')
    .addOption(new Option('--restart <mode>', 'how to restart the components the run had restarted (default: the way the run did)').choices(RESTART_CHOICES))
    .option('--timeout <duration>', 'per component restart wait', '120s')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'JSON output (with --list)')
    .action(async (options) => (await import('./commands/renew.js')).rollback(options));

  program
    .command('webhook')
    .description('renew an admission webhook serving cert and caBundle (Secret + Validating/MutatingWebhookConfiguration)')
    .requiredOption('--namespace <ns>', 'namespace of the webhook Service and Secret')
    .requiredOption('--service <name>', 'the webhook Service')
    .requiredOption('--secret <name>', 'the TLS Secret the webhook server mounts')
    .option('--webhook-config <name>', 'the Validating/MutatingWebhookConfiguration (one name for every --kind)')
    .addOption(new Option('--kind <kind>', 'which configuration kinds carry --webhook-config (default: validating)').choices(['validating', 'mutating', 'both']))
    .option('--validating-config <name>', 'the ValidatingWebhookConfiguration, when its name differs from the mutating one (KubeSphere)')
    .option('--mutating-config <name>', 'the MutatingWebhookConfiguration (with --validating-config: both patched in one run)')
    .option('--validity <duration>', 'validity of the CA and serving cert', '10y')
    .option('--ca-cert <file>', 'sign with this CA instead of making one (with --ca-key)')
    .option('--ca-key <file>', 'key of --ca-cert')
    .option('--from <dir>', 'offline: read manifests exported with kubectl get -o yaml from DIR')
    .requiredOption('--out <dir>', 'write patched manifests, originals, certs, apply.sh and rollback.sh here')
    .option('--apply', 'apply with kubectl now (otherwise run apply.sh yourself)')
    .option('--workload <kind/name>', 'restart this workload after applying (default: the Deployments/StatefulSets/DaemonSets that mount --secret)')
    .option('--force', 'overwrite files in --out')
    .action(async (options) => (await import('./commands/webhook.js')).webhook(options));

  program
    .command('cert-manager')
    .description('cert-manager helpers')
    .command('doctor')
    .description('find Certificates stuck behind a failed/denied/pending CertificateRequest, explain, and fix (like cmctl renew)')
    .option('--namespace <ns>', 'only this namespace')
    .option('--from <file>', 'read recorded `kubectl get certificate,certificaterequest -A -o json` output')
    .option('--apply', 'run the fix with kubectl (delete the failed request, set Issuing=True via the status subresource)')
    .option('--json', 'JSON findings')
    .addHelpText('after', '\nExit status: 0 all healthy (or fixed with --apply), 11 something needs fixing.')
    .action(async (options) => (await import('./commands/cert-manager.js')).doctor(options));

  program
    .command('vcluster')
    .description('vcluster / k0s helpers')
    .command('reset')
    .description('expired k0s vcluster certs persisted on the data volume: back up and move the pki aside, then delete the certs Secret and the pod (seed 001)')
    .requiredOption('--data <dir>', 'host path of the vcluster data volume (what the pod mounts at /data)')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--name <name>', 'vcluster name (Secret <name>-certs, pod <name>-0)', 'vcluster')
    .option('--namespace <ns>', 'namespace of the vcluster', 'vcluster')
    .option('--dry-run', 'show what it finds and would do')
    .option('--yes', 'do not ask for confirmation')
    .option('--apply', 'run the kubectl steps too (first checks that kubectl reaches the cluster; refused, nothing moved, if not)')
    .option('--kubeconfig <file>', 'kubeconfig for the kubectl steps (default: KUBECONFIG or ~/.kube/config)')
    .action(async (options) => (await import('./commands/vcluster.js')).vclusterReset(options));

  const audit = program.command('audit').description('the audit trail (seed 004 cert_audit): verify its hash chain, show it, export it for ELK or SQL');
  const logOptions = (command: Command) => command.option('--root <dir>', 'treat DIR as /', '/').option('--log <file>', 'the audit log (default /var/lib/rescue-kit/audit.log under --root, or $RESCUE_KIT_AUDIT_LOG)');
  const filterOptions = (command: Command) =>
    command
      .option('--cert <name>', 'only this certificate (name, path or file name)')
      .option('--action <action>', 'only this action: CREATE, UPDATE or REVOKE (any case)')
      .option('--since <when>', 'from this time: 2026-01-31, 2026-01-31T10:00:00Z, or 7d (7 days ago)')
      .option('--until <when>', 'up to this time (same forms)');
  logOptions(audit.command('verify'))
    .description('check the hash chain: every edited, deleted, reordered or truncated line by number')
    .option('--backup <file>', 'also check against the chain head this backup recorded (catches a cut tail; repeatable)', collect)
    .option('--passphrase-file <file>', 'passphrase for an encrypted --backup')
    .option('--json', 'JSON result')
    .addHelpText('after', '\nExit status: 0 the chain is intact, 4 something was edited, deleted, reordered or truncated.')
    .action(async (options) => (await import('./commands/audit.js')).auditVerify(options));
  filterOptions(logOptions(audit.command('show')))
    .description('the events, newest last (a table, or --json)')
    .option('--json', 'JSON array of events')
    .action(async (options) => (await import('./commands/audit.js')).auditShow(options));
  filterOptions(logOptions(audit.command('export')))
    .description('the events for other systems: ECS NDJSON (Filebeat/ELK), CSV or SQL (seed 004 cert_audit)')
    .addOption(new Option('--format <format>', 'ecs: one JSON per line; csv: RFC 4180; sql: CREATE TABLE IF NOT EXISTS cert_audit + INSERTs').choices(['ecs', 'csv', 'sql']).makeOptionMandatory())
    .action(async (options) => (await import('./commands/audit.js')).auditExport(options));

  // Workers' kubelet client certs, key kept on the worker (csr -> sign -> install), and the break-glass issue.
  const kubelet = program.command('kubelet').description("workers' kubelet client certs without moving private keys: csr (worker) -> sign (control plane) -> install (worker)");
  kubelet
    .command('csr')
    .description('on a worker: a new key (kept here, 0600, in var/lib/kubelet/pki) and a CSR for system:node:NAME / system:nodes')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--node-name <name>', "the node (default: kubelet.conf's system:node:NAME, else the hostname)")
    .option('--out <file>', 'write the CSR here (default: stdout)')
    .action(async (options) => (await import('./commands/kubelet.js')).kubeletCsr(options));
  kubelet
    .command('sign')
    .description('on a control plane: sign workers\' CSRs with the cluster CA; node identities only (never system:masters), client auth; writes NAME.pem per CSR')
    .argument('[csr...]', 'CSR files made by kubelet csr')
    .option('--batch-json <file>', 'instead of files: {"ID": "<CSR PEM>", ...} from FILE or - (stdin); prints {"ID": {node, certificate, serial, notAfter}} and writes nothing')
    .option('--root <dir>', 'treat DIR as / (the CA is its etc/kubernetes/pki/ca.crt + ca.key)', '/')
    .option('--ca <file>', 'CA certificate (default: pki/ca.crt under --root)')
    .option('--ca-key <file>', 'CA key (default: pki/ca.key under --root)')
    .option('--out-dir <dir>', 'where NAME.pem go (default: beside each CSR)')
    .option('--validity <duration>', 'validity: 1y, 365d, 8760h', '1y')
    .option('--json', 'JSON list of what was signed')
    .addOption(beyondCaOption())
    .action(async (files, options) => (await import('./commands/kubelet.js')).kubeletSign(files, options));
  kubelet
    .command('install')
    .description('on a worker: install a signed cert (kubelet-client-<time>.pem + symlink, or re-embedded), journalled like renew; restart the kubelet; check the apiserver accepts it')
    .argument('<cert>', 'the NAME.pem kubelet sign wrote')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--node-name <name>', "the node (default: kubelet.conf's system:node:NAME, else the hostname)")
    .addOption(new Option('--restart <mode>', 'how to restart the kubelet (auto: systemd where there is a kubelet unit)').choices([...RESTART_CHOICES, 'auto']).default('auto'))
    .option('--timeout <duration>', 'restart wait, and how long the apiserver may take to answer', '120s')
    .option('--no-verify-api', 'an unreachable apiserver (offline) is a warning, not a rollback')
    .option('--dry-run', 'print the plan and stop')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'JSON plan (with --dry-run) or report')
    .addHelpText('after', '\nExit status: 0 installed (and accepted by the apiserver), 3 precondition (no pending key, CA), 4 invalid cert, 6 failed and rolled back.')
    .action(async (cert, options) => (await import('./commands/kubelet.js')).kubeletInstall(cert, options));
  kubelet
    .command('issue')
    .description('BREAK-GLASS on a control plane: keys AND certs for workers with no usable rescue-kit (the keys then travel)')
    .requiredOption('--nodes <list>', 'comma-separated node names')
    .requiredOption('--out <dir>', 'writes NAME.pem (cert + key, 0600) per node; never overwrites')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--ca <file>', 'CA certificate (default: pki/ca.crt under --root)')
    .option('--ca-key <file>', 'CA key (default: pki/ca.key under --root)')
    .option('--validity <duration>', 'validity', '1y')
    .option('--yes', 'do not ask for confirmation')
    .addOption(beyondCaOption())
    .action(async (options) => (await import('./commands/kubelet.js')).kubeletIssue(options));

  program
    .command('wizard')
    .description('the interactive rescue (also what `rescue-kit` alone starts on a terminal)')
    .option('--root <dir>', 'treat DIR as /', '/')
    .option('--answers <file>', 'replay answers from a JSON file (flags and RESCUE_KIT_* env override it)')
    .addOption(new Option('--action <action>', 'what to do').choices(['backup', 'renew-expiring', 'renew-chosen', 'issue', 'ca-renew', 'ca-rotate', 'webhook', 'vcluster-reset', 'cert-manager-doctor', 'rollback']))
    .option('--names <list>', 'renew-chosen: comma-separated kubeadm names')
    .option('--validity <duration>', 'validity of renewed certificates (1y, 365d, 8760h)')
    .option('--new-key', 'generate new keys')
    .addOption(new Option('--restart <mode>', 'restart mode').choices(RESTART_CHOICES))
    .option('--add-san <san>', 'extra SAN for server certificates (repeatable)', collect)
    .option('--yes', 'do not ask for the final confirmation')
    .option('--allow-live-copy', 'etcd runs but cannot be snapshotted: copy its live data dir into the backup anyway')
    .option('--timeout <duration>', 'per component restart and health wait', '120s')
    .action(async (options) => (await import('./commands/wizard.js')).wizard(options));

  program
    .command('demo')
    .description('build a sandbox cluster tree with expired certificates and rescue it')
    .option('--dir <dir>', 'where to build the sandbox (default: a new temp dir)')
    .option('--wizard', 'rescue the sandbox through the interactive wizard')
    .action(async (options) => (await import('./commands/demo.js')).demo(options));

  refuseRepeatedOptions(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // `rescue-kit` alone: the wizard for a person at a terminal; for scripts, the usage and exit 2.
  if (argv.length <= 2 && process.stdin.isTTY && process.stdout.isTTY && !process.env.CI) argv = [...argv, 'wizard'];
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode);
  } catch (thrown) {
    // A full disk or a read-only mount reached the top unlabelled: still an operator's problem, not a bug.
    // Only commands that cannot have changed anything let it come this far (apply labels its own).
    const error = isIoError(thrown) ? ioError(thrown) : thrown;
    if (error instanceof CommanderError) {
      // Help that was asked for exits 0; help shown because a (sub)command was missing is a usage error.
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code) && error.exitCode === 0) return ExitCode.ok;
      return ExitCode.usage;
    }
    if (isRescueError(error)) {
      process.stderr.write(`error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
      return error.exitCode;
    }
    process.stderr.write(`internal error (a bug in rescue-kit, please report it): ${(error as Error).stack ?? error}\n`);
    return ExitCode.bug;
  }
}

