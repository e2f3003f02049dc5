#!/usr/bin/env bash
# The README's first command on a new machine: a fresh `git clone` of a commit, then `make demo`
# exactly as README.md writes it, inside a clean Debian bookworm root that holds only what a new
# machine of this project's kind holds before any project command runs. Passes when DGMO printed its
# version and the evolve scores.
#
# Why: CI runs on the developer's own machine, where every package is already there, so a green run
# there cannot show a missing install step (issue: the multiarch check that made `make demo` fail with
# "cannot find -lsodium" on a new machine while CI stayed green). Only a clean root can.
#
# The root (docs/platforms.md, "A fresh machine"):
#   - base: `debootstrap --variant=minbase bookworm` with exactly scripts/fresh-machine/packages.txt,
#     made once per content of that list (scripts/lib/fresh-root.sh) under .build-dgmo/fresh-root/,
#     and never written to again;
#   - each run: a throwaway overlay on top of the base, in a private mount namespace (every mount
#     goes away with the run, whatever way it ends), with
#       the Swift toolchain (three levels above `readlink -f $(command -v swift)`) and the Swift
#         packages the machine offers (the directories /etc/gitconfig's url.*.insteadOf names),
#         bind-mounted read-only at the same paths, and those git settings;
#       the machine's trust store (/usr/local/share/ca-certificates, then update-ca-certificates);
#       the machine's apt sources and settings, pip settings and resolv.conf, so the root reaches the
#         same registries;
#   - the command runs under `env -i` with HOME, PATH, TERM, and the machine's CA and pip variables.
#
# Usage: scripts/fresh-machine-test.sh [--commit REV] [--keep] [--timeout MINUTES] [-- COMMAND]
#   --commit REV   the commit to clone (default: HEAD; uncommitted changes are not part of the test)
#   --keep         keep the run's overlay (upper directory and log) for a look afterwards
#   --timeout M    give up after M minutes (default 40)
#   COMMAND        what to run in the clone instead of `make demo` (a shell command line)
# Needs root (debootstrap, mount, chroot) and the registries. The base root takes about 3 minutes
# once; `make demo` inside it about 5-6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

commit=HEAD keep=0 timeout_min=40 command="make demo"
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) commit=${2:?--commit needs a revision}; shift 2 ;;
    --keep) keep=1; shift ;;
    --timeout) timeout_min=${2:?--timeout needs minutes}; shift 2 ;;
    --) shift; command="$*"; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine-test: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "fresh-machine-test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot); run it as root or with sudo"
for tool in debootstrap unshare chroot git; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool (scripts/install-deps.sh installs debootstrap)"
done
rev=$(git rev-parse --verify --quiet "$commit^{commit}") || die "'$commit' is not a commit of $repo"

# What a machine of this kind has outside Debian's packages: the toolchain and the Swift packages.
swift_bin=$(command -v swift) || die "no swift on PATH: a machine of this kind has its Swift toolchain"
swift_root=$(readlink -f "$swift_bin")
swift_root=${swift_root%/*}; swift_root=${swift_root%/*}; swift_root=${swift_root%/*}
[ -x "$swift_root/usr/bin/swift" ] || die "cannot find the Swift toolchain's root above $swift_bin"
package_dirs=()
while read -r key _; do
  dir=${key#url.}; dir=${dir%.insteadof}
  case "$dir" in /*) [ -d "$dir" ] && package_dirs+=("$dir") ;; esac
done < <(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)

. scripts/lib/fresh-root.sh
cache=$repo/.build-dgmo/fresh-root
base=$(fresh_base_root scripts/fresh-machine/packages.txt "$cache") || die "no base root"

run=$(mktemp -d "$cache/run.XXXXXX")
log=$run/log
cleanup() {
  local status=$?
  if [ $keep -eq 1 ]; then echo "fresh-machine-test: kept $run (log: $log)" >&2
  else rm -rf --one-file-system "$run"; fi
  exit $status
}
trap cleanup EXIT
mkdir -p "$run/upper" "$run/work" "$run/root"

# The variables a machine of this kind sets for its trust store and pip, passed on when set here.
passed_env=(HOME=/root "TERM=${TERM:-dumb}"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$swift_root/usr/bin")
for v in SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO PIP_CERT PIP_INDEX_URL \
         PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT http_proxy https_proxy no_proxy HTTP_PROXY \
         HTTPS_PROXY NO_PROXY; do
  [ -n "${!v:-}" ] && passed_env+=("$v=${!v}")
done
# Without any CA variable set, still point the usual clients at the system bundle (as FRESH-MACHINE.md).
[ -n "${SSL_CERT_FILE:-}" ] || passed_env+=(SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)

# Everything below runs in a private mount namespace: the overlay and the bind mounts vanish with it.
inner() {
  set -euo pipefail
  local root=$run/root d f key value
  mount --make-rprivate /
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$root"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" 2>/dev/null || true
  for d in "$swift_root" "${package_dirs[@]}"; do
    mkdir -p "$root$d"
    mount --bind -o ro "$d" "$root$d"
  done

  # The trust store.
  if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || echo "fresh-machine-test: update-ca-certificates failed in the root" >&2
  # The registries: apt sources and settings (and any keyring they name that the root lacks), pip, DNS.
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  rm -f "$root/etc/apt/sources.list.d/"*
  for d in sources.list.d apt.conf.d trusted.gpg.d keyrings; do
    [ -d "/etc/apt/$d" ] || continue
    mkdir -p "$root/etc/apt/$d"; cp -a "/etc/apt/$d/." "$root/etc/apt/$d/"
  done
  while read -r f; do
    [ -f "$f" ] && [ ! -e "$root$f" ] && { mkdir -p "$root${f%/*}"; cp "$f" "$root$f"; }
  done < <(sed -n 's/^Signed-By:[[:space:]]*\(\/.*\)$/\1/p; s/.*signed-by=\([^] ]*\).*/\1/p' \
             /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null | sort -u)
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
  [ -f /etc/xdg/pip/pip.conf ] && { mkdir -p "$root/etc/xdg/pip"; cp /etc/xdg/pip/pip.conf "$root/etc/xdg/pip/"; }
  rm -f "$root/etc/resolv.conf"; cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  [ -f /etc/hosts ] && cp /etc/hosts "$root/etc/hosts"
  # git: the url.*.insteadOf lines that point github.com at the machine's Swift packages, and the
  # excludes file it names; nothing else of the machine's git settings.
  : > "$root/etc/gitconfig"
  while read -r key value; do
    git config --file "$root/etc/gitconfig" --add "$key" "$value"
  done < <(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)
  if f=$(git config --system --get core.excludesfile 2>/dev/null) && [ -f "$f" ]; then
    mkdir -p "$root${f%/*}"; cp "$f" "$root$f"
    git config --file "$root/etc/gitconfig" core.excludesfile "$f"
  fi

  # A fresh clone of the commit under test.
  git clone --quiet --no-local --no-checkout "$repo" "$root/root/dgmo"
  git -C "$root/root/dgmo" checkout --quiet --detach "$rev"

  echo "fresh-machine-test: in a clean bookworm root, at ${rev:0:12}: $command"
  # shellcheck disable=SC2016  # $1 expands in the root's shell
  timeout --kill-after=30s "${timeout_min}m" \
    env -i "${passed_env[@]}" chroot "$root" /bin/bash -c 'cd /root/dgmo && eval "$1"' fresh-machine "$command"
}
export -f inner
export run base repo rev command timeout_min swift_root
# Arrays do not cross into the namespace's shell by export: hand them over as declarations.
declare -p package_dirs passed_env > "$run/arrays.sh"

start=$(date +%s)
set +e
unshare --mount --kill-child -- bash -c '. "$run/arrays.sh"; inner' 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - start ))
if [ "$status" -ne 0 ]; then
  echo "fresh-machine-test: FAILED: '$command' exited with status $status after ${elapsed}s in the clean root" >&2
  exit 1
fi
if [ "$command" = "make demo" ]; then
  grep -qE '^DGMO v[0-9]' "$log" || die "FAILED: make demo passed but printed no 'DGMO v...' line"
  grep -qE '^generation 3: best score -?[0-9]' "$log" || die "FAILED: make demo passed but printed no evolve scores"
fi
echo "fresh-machine-test: passed: '$command' in ${elapsed}s from a fresh clone in a clean bookworm root"
