#!/usr/bin/env bash
# rescue-kit's one entry point. Two modes:
#  - offline bundle (a BUNDLE file sits beside this script): checks the CPU
#    arch and glibc, then runs the bundled CLI with the bundled Node. It never
#    calls npm and never reaches for the network.
#    `rescue-kit.sh verify` checks the bundle itself (SHA256SUMS + signature).
#  - source checkout: finds Node >= 20, installs and builds on first use, runs the CLI.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
export RESCUE_KIT_HOME="$here"

die() { echo "rescue-kit: $*" >&2; exit 3; }

# ---- offline bundle ----------------------------------------------------------

# bundle_info KEY: a value from the BUNDLE file (version, arch, node).
bundle_info() { sed -n "s/^$1=//p" "$here/BUNDLE"; }

verify_usage() {
  cat <<'EOF'
usage: rescue-kit.sh verify [--allowed-signers FILE] [--signer-id ID] [--require-signature]

Checks this unpacked bundle: every file is listed in SHA256SUMS with the right
sha256, nothing unlisted exists, and (with --allowed-signers) SHA256SUMS.sig is a
good "rescue-kit" signature by a key in FILE (ssh-keygen -Y verify).
Without --allowed-signers only the sums are checked, with a warning;
--require-signature makes that an error. Exit: 0 ok, 2 usage, 3 cannot check, 4 FAILED.
EOF
}

# add_problems PREFIX TEXT: one entry in verify_bundle's problems per non-empty line of TEXT.
add_problems() {
  local item
  while IFS= read -r item; do
    if [ -n "$item" ]; then problems+=("$1$item"); fi
  done <<<"$2"
}

# verify [options]: the bundle's integrity, with bash, coreutils and ssh-keygen
# only (Node is one of the files being checked, so it is not used).
verify_bundle() {
  local allowed="" signer="" require_signature=0
  while (($#)); do
    case "$1" in
      --allowed-signers) [ $# -ge 2 ] || { verify_usage >&2; exit 2; }; allowed="$2"; shift 2 ;;
      --allowed-signers=*) allowed="${1#*=}"; shift ;;
      --signer-id) [ $# -ge 2 ] || { verify_usage >&2; exit 2; }; signer="$2"; shift 2 ;;
      --signer-id=*) signer="${1#*=}"; shift ;;
      --require-signature) require_signature=1; shift ;;
      -h | --help) verify_usage; exit 0 ;;
      *) echo "rescue-kit verify: unknown argument: $1" >&2; verify_usage >&2; exit 2 ;;
    esac
  done
  command -v sha256sum >/dev/null 2>&1 || die "verify needs sha256sum (coreutils)"
  if [ -n "$allowed" ]; then
    [ -r "$allowed" ] || die "cannot read the allowed-signers file $allowed"
    command -v ssh-keygen >/dev/null 2>&1 || die "verify --allowed-signers needs ssh-keygen (OpenSSH >= 8.1; >= 8.2 without --signer-id)"
    # OpenSSH < 8.1 (EL8 ships 8.0) has no -Y at all.
    if [[ "$(ssh-keygen -Y verify 2>&1 || true)" == *"option -- Y"* ]]; then
      die "this host's ssh-keygen ($(ssh -V 2>&1 || echo 'OpenSSH < 8.1')) cannot check SSH signatures (needs OpenSSH >= 8.1; >= 8.2 without --signer-id).
  Check the signature on a host that can (e.g. where you unpacked the bundle before carrying it),
  and run '$0 verify' without --allowed-signers here to check the sums."
    fi
  elif ((require_signature)); then
    die "--require-signature: give the allowed-signers file you received separately from the bundle (--allowed-signers FILE)"
  fi

  local problems=() line path
  local -a listed=()
  echo "rescue-kit verify: $here"

  # 1. SHA256SUMS: strict format, plain relative paths only.
  if [ ! -f "$here/SHA256SUMS" ]; then
    problems+=("SHA256SUMS is missing")
  else
    while IFS= read -r line || [ -n "$line" ]; do
      if [[ $line =~ ^[0-9a-f]{64}\ \ ([A-Za-z0-9._+@/-]+)$ ]]; then
        path="${BASH_REMATCH[1]}"
        case "/$path/" in
          //* | */../* | */./* | *//*) problems+=("SHA256SUMS lists an unsafe path: $path") ;;
          *) listed+=("$path") ;;
        esac
      else
        problems+=("SHA256SUMS has a malformed line: ${line:0:80}")
      fi
    done <"$here/SHA256SUMS"
  fi

  # 2. The files present must be exactly the files listed (plus the directories
  #    that hold them): an added file fails as surely as a changed one.
  if ((${#problems[@]} == 0)); then
    local expected_files expected_dirs present_files present_dirs odd extra missing
    expected_files="$(printf '%s\n' "${listed[@]}" | LC_ALL=C sort)"
    expected_dirs="$(printf '%s\n' "${listed[@]}" | sed -n 's|/[^/]*$||p' |
      awk -F/ '{ p = $1; print p; for (i = 2; i <= NF; i++) { p = p "/" $i; print p } }' | LC_ALL=C sort -u)"
    present_files="$(cd "$here" && find . -mindepth 1 -type f ! -path ./SHA256SUMS ! -path ./SHA256SUMS.sig -printf '%P\n' | LC_ALL=C sort)"
    present_dirs="$(cd "$here" && find . -mindepth 1 -type d -printf '%P\n' | LC_ALL=C sort)"
    odd="$(cd "$here" && find . -mindepth 1 ! -type f ! -type d -printf '%P\n')"
    extra="$(LC_ALL=C comm -13 <(echo "$expected_files") <(echo "$present_files"))"
    missing="$(LC_ALL=C comm -23 <(echo "$expected_files") <(echo "$present_files"))"
    add_problems "not a regular file: " "$odd"
    add_problems "not in SHA256SUMS: " "$extra"
    add_problems "missing: " "$missing"
    add_problems "directory not in SHA256SUMS: " "$(LC_ALL=C comm -13 <(echo "$expected_dirs") <(echo "$present_dirs"))"
  fi

  # 3. Every listed file's sha256.
  if ((${#problems[@]} == 0)); then
    local failed
    if ! failed="$(cd "$here" && LC_ALL=C sha256sum --check --strict --quiet SHA256SUMS 2>&1)"; then
      add_problems "sha256: " "$(grep -v '^sha256sum: WARNING' <<<"$failed" || true)"
      ((${#problems[@]})) || problems+=("sha256sum --check failed")
    fi
  fi
  ((${#problems[@]})) || echo "  files: ${#listed[@]} listed in SHA256SUMS, all present, no others, every sha256 matches"

  # 4. The signature over SHA256SUMS, against keys the operator trusts.
  local signature_checked=0
  if [ -n "$allowed" ] && [ -f "$here/SHA256SUMS" ]; then
    if [ ! -f "$here/SHA256SUMS.sig" ]; then
      problems+=("SHA256SUMS.sig is missing")
    else
      # Without --signer-id, ask which principals in the file hold the signing key.
      local principals result="" principal good=""
      if [ -n "$signer" ]; then
        principals="$signer"
      elif ! principals="$(ssh-keygen -Y find-principals -f "$allowed" -s "$here/SHA256SUMS.sig" 2>&1)"; then
        result="$principals"
        principals=""
      fi
      while IFS= read -r principal; do
        [ -n "$principal" ] || continue
        if result="$(ssh-keygen -Y verify -f "$allowed" -I "$principal" -n rescue-kit \
          -s "$here/SHA256SUMS.sig" <"$here/SHA256SUMS" 2>&1)"; then
          good="$result"
          break
        fi
      done <<<"$principals"
      if [ -n "$good" ]; then
        signature_checked=1
        echo "  signature: $good"
      else
        problems+=("SHA256SUMS.sig is not a good \"rescue-kit\" signature by ${signer:-any key} in $allowed (ssh-keygen: $(echo "$result" | tail -n 1))")
      fi
    fi
  fi

  if ((${#problems[@]})); then
    printf '  FAILED: %s\n' "${problems[@]}" >&2
    echo "rescue-kit verify: FAILED, do not use this bundle" >&2
    exit 4
  fi
  if ((!signature_checked)); then
    {
      echo "  WARNING: the signature was NOT checked (no --allowed-signers FILE)."
      echo "  WARNING: matching sums only show the copy is intact, not who made it."
    } >&2
    echo "rescue-kit verify: OK (sums only, signature NOT checked)"
  else
    echo "rescue-kit verify: OK"
  fi
  exit 0
}

# The bundle's Node is built for one CPU arch.
check_arch() {
  local bundle_arch machine host_arch
  bundle_arch="$(bundle_info arch)"
  machine="$(uname -m)"
  case "$machine" in
    x86_64 | amd64) host_arch=x64 ;;
    aarch64 | arm64) host_arch=arm64 ;;
    *) die "this is the linux-$bundle_arch bundle and this machine is $machine; rescue-kit bundles exist for x86_64 (linux-x64) and aarch64 (linux-arm64) only." ;;
  esac
  [ "$host_arch" = "$bundle_arch" ] ||
    die "this is the linux-$bundle_arch bundle but this machine is $machine; use rescue-kit-$(bundle_info version)-linux-$host_arch.tar.gz instead."
}

# glibc_version: "2.36", "musl", or "" when it cannot tell.
glibc_version() {
  local v
  if v="$(getconf GNU_LIBC_VERSION 2>/dev/null)" && [[ $v =~ ^glibc\ ([0-9]+\.[0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
    return
  fi
  v="$(ldd --version 2>&1 | head -n 1)" || true
  if [[ $v == *musl* ]]; then
    echo musl
  elif [[ $v =~ ([0-9]+\.[0-9]+)[^0-9]*$ ]]; then
    echo "${BASH_REMATCH[1]}"
  fi
}

# Official Node 22 binaries need glibc >= 2.28 (EL8, Debian 10, Ubuntu 20.04).
check_glibc() {
  local v major minor has
  v="$(glibc_version)"
  case "$v" in
    musl) has="musl libc, not glibc (e.g. Alpine)" ;;
    "") has="no glibc that getconf or ldd could report" ;;
    *)
      IFS=. read -r major minor <<<"$v"
      if ((major > 2 || (major == 2 && minor >= 28))); then return 0; fi
      has="glibc $v"
      [ "$v" != 2.17 ] || has="glibc 2.17 (CentOS/RHEL 7)"
      ;;
  esac
  die "this bundle's Node needs glibc >= 2.28; this system has $has.
  Use a host with EL8+/Debian 10+/Ubuntu 20.04+, or copy /etc/kubernetes (and
  /var/lib/kubelet/pki) to such a host, run rescue-kit there with --root DIR,
  and copy the renewed files back."
}

if [ -f "$here/BUNDLE" ]; then
  if [ "${1:-}" = verify ]; then
    shift
    verify_bundle "$@"
  fi
  check_arch
  check_glibc
  if [ ! -x "$here/node/bin/node" ] || [ ! -f "$here/dist-cli/rescue-kit.mjs" ]; then
    die "this bundle is incomplete (node/bin/node or dist-cli/rescue-kit.mjs is missing); run: $0 verify"
  fi
  exec "$here/node/bin/node" "$here/dist-cli/rescue-kit.mjs" "$@"
fi

# ---- source checkout ---------------------------------------------------------

if [ "${1:-}" = verify ]; then
  echo "rescue-kit: 'verify' checks an unpacked offline bundle; this is a source checkout (build one with scripts/build-bundle)." >&2
  exit 2
fi

command -v node >/dev/null 2>&1 || die "no Node.js found. Use the offline bundle (it carries its own Node), or install Node >= 20."
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "Node $(node --version) is too old; rescue-kit needs Node >= 20 (or use the offline bundle)."

# Install and build on first use, rebuild when sources changed.
cli="$here/build/lib/cli/main.js"
if [ ! -d "$here/node_modules" ]; then
  echo "rescue-kit: first run, installing dependencies (npm ci)..." >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [ ! -f "$cli" ] || [ -n "$(find "$here/lib" "$here/scripts" -name '*.ts' -newer "$cli" -print -quit 2>/dev/null)" ]; then
  echo "rescue-kit: building..." >&2
  (cd "$here" && npx tsc -p tsconfig.json) >&2
  touch "$cli"
fi
exec node "$cli" "$@"
