# shellcheck shell=bash
# Sourced. Fetches Debian packages through a private apt configuration: its own state, cache and
# source list (the system's Debian mirror with the suites asked for, signatures checked against the
# Debian archive keyring), nothing of the system's read or written, no root needed. The packages are
# then unpacked with `dpkg-deb -x` by the caller. Used by wine-toolchain.sh (trixie's wine on
# bookworm) and nsis-toolchain.sh (bookworm's makensis, not installed).
#
#   apt_private_mirror                    the system's Debian mirror URI
#   apt_private_init APTDIR SUITE...      makes APTDIR's state, cache, debs/ and sources.list
#   apt_private_get APTDIR ARGS...        apt-get ARGS with APTDIR's configuration
#
# e.g.  apt_private_init "$d" bookworm && apt_private_get "$d" -qq update &&
#       (cd "$d/debs" && apt_private_get "$d" -qq download nsis=3.08-3+deb12u1)

# apt_private_mirror: the system's Debian mirror (the URI of its bookworm source), from
# /etc/apt/sources.list (one-line format) or /etc/apt/sources.list.d/*.list and *.sources (deb822);
# deb.debian.org if none.
apt_private_mirror() {
  local f type rest uri suite
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    while read -r type rest; do
      [ "$type" = deb ] || continue
      case "$rest" in \[*) rest=${rest#*\]} ;; esac
      read -r uri suite _ <<< "$rest"
      if [ "$suite" = bookworm ]; then echo "${uri%/}"; return 0; fi
    done < "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk 'BEGIN { RS = "" }
      { u = ""; s = 0; n = split($0, l, "\n")
        for (i = 1; i <= n; i++) {
          if (l[i] ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l[i]); split(l[i], w, /[ \t]+/); u = w[1] }
          if (l[i] ~ /^Suites:/ && (l[i] " ") ~ /[ \t]bookworm[ \t]/) s = 1
        }
        if (s && u != "") { print u; exit } }' "$f")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  echo http://deb.debian.org/debian
}

# apt_private_init APTDIR SUITE...: the private configuration's directories and its source list
# (the system's mirror, main, each SUITE).
apt_private_init() {
  local apt=$1 mirror s
  shift
  mirror=$(apt_private_mirror)
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/debs" || return 1
  for s in "$@"; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
  done > "$apt/sources.list"
}

# apt_private_get APTDIR ARGS...: apt-get with APTDIR's configuration (amd64 only).
apt_private_get() {
  local apt=$1
  shift
  local opts=(-o "Dir::State=$apt/state" -o "Dir::State::status=/dev/null" -o "Dir::Cache=$apt/cache"
              -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64")
  # As root apt drops to the _apt user to download, which cannot write the clone's directory.
  [ "$(id -u)" -ne 0 ] || opts+=(-o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" "$@"
}

# apt_private_stamped DIR WANT MESSAGE INSTALL: unless DIR/stamp holds WANT, prints MESSAGE and runs
# `INSTALL DIR LOG` (LOG: DIR/install.log, emptied first), then writes WANT into the stamp. Callers
# at the same time wait for each other (flock on DIR/.lock); the second finds the stamp written.
apt_private_stamped() {
  local dir=$1 want=$2 message=$3 install=$4
  [ -f "$dir/stamp" ] && [ "$(< "$dir/stamp")" = "$want" ] && return 0
  mkdir -p "$dir" || return 1
  (
    flock 9
    [ -f "$dir/stamp" ] && [ "$(< "$dir/stamp")" = "$want" ] && exit 0
    echo "$message" >&2
    rm -f "$dir/stamp"
    : > "$dir/install.log"
    "$install" "$dir" "$dir/install.log" || exit 1
    printf '%s\n' "$want" > "$dir/stamp"
  ) 9> "$dir/.lock"
}
