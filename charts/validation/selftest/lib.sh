# Sourced by the offline self-tests (selftest.sh, prescale-selftest.sh): the check counters and a fresh fake cluster
# per case. The caller sets $tmp (a temporary directory it removes) and $here (this folder).
# shellcheck shell=bash disable=SC2154  # $tmp and $here are the caller's
fails=0
ok() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*" >&2; fails=$((fails + 1)); }
expect() { # description command... (succeeds)
  local what="$1"
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# A fresh fake cluster per case: a directory with its own log, counters and state, and bin/kubectl → the given fake.
fake_cluster() { # case-name fake-kubectl-file → the directory
  local dir="$tmp/$1"
  mkdir -p "$dir/bin"
  ln -s "$here/$2" "$dir/bin/kubectl"
  echo "$dir"
}
