#!/bin/sh
# quickstart.sh -- set up, build, and run or test Vane on Debian 12.
#
#   ./quickstart.sh run [VANED-OPTION]...   install what is missing, build, and run vaned
#                                           in the foreground (127.0.0.1:8080, data in ./var)
#   ./quickstart.sh test                    install what is missing, build, and pass the
#                                           whole test suite, plain and under ASan+UBSan
#
# Idempotent: packages already installed are not touched, and a build that is
# up to date is not redone.  Packages come from apt, through sudo unless run
# as root.  Builds go to build/ (and build-asan/ for the sanitizer run).
set -eu

cd "$(dirname "$0")"
top=$(pwd)

# Libraries the broker links, the autotools, and what the tests use (iproute2:
# the cluster partition test's network namespaces, when run as root).
packages="gcc make autoconf automake libtool pkg-config
  libuv1-dev libh2o-dev libcurl4-openssl-dev libjansson-dev liblua5.4-dev
  libltdl-dev libgit2-dev libraft-dev libssl-dev tzdata git npm iproute2"

say() { printf '==> %s\n' "$*"; }

install_missing() {
  missing=
  for p in $packages; do
    # An npm that came with another Node.js (NodeSource's nodejs) will do;
    # Debian's npm package would conflict with it.
    [ "$p" = npm ] && command -v npm > /dev/null && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  say "installing:$missing"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
}

# GitHub's example webhook payloads, which tests/test-github.c posts to the
# GitHub connector: the npm package, in a cache outside the tree (the path
# tests/local.mk gives the test by default), installed once.
examples_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vane/npm"
install_examples() {
  [ -f "$examples_dir/node_modules/@octokit/webhooks-examples/api.github.com/index.json" ] &&
    return 0
  say "npm install @octokit/webhooks-examples into $examples_dir"
  mkdir -p "$examples_dir"
  npm install --prefix "$examples_dir" --no-audit --no-fund --silent \
    "@octokit/webhooks-examples@7"
}

# build DIR [CONFIGURE-OPTION]...: configure once, then make (incremental).
build() {
  dir=$1
  shift
  [ -x "$top/configure" ] || { say "autoreconf"; autoreconf -fi; }
  mkdir -p "$top/$dir"
  if [ ! -f "$top/$dir/Makefile" ]; then
    say "configure $dir $*"
    (cd "$top/$dir" && ../configure -q "$@")
  fi
  say "make in $dir"
  make -s -C "$top/$dir" -j"$(nproc)"
}

# check DIR: run the test suite, printing the failures' logs if any.
check() {
  say "make check in $1"
  if ! make -s -C "$top/$1" -j"$(nproc)" check; then
    cat "$top/$1/test-suite.log"
    exit 1
  fi
}

# The plain closing line CI reads: every test of both runs.
summary() {
  awk '/^# PASS:/ { p += $3 } /^# (FAIL|ERROR):/ { f += $3 }
       END { printf "%d passed, %d failed\n", p, f }' build/test-suite.log build-asan/test-suite.log
}

case "${1:-}" in
run)
  shift
  install_missing
  build build
  say "starting vaned (Ctrl-C stops it)"
  exec "$top/build/vaned" "$@"
  ;;
test)
  install_missing
  install_examples
  build build
  check build
  build build-asan --enable-asan --enable-ubsan --enable-werror
  export VANE_TEST_TIME_SCALE="${VANE_TEST_TIME_SCALE:-3}"
  check build-asan
  summary
  ;;
summary)
  summary
  ;;
*)
  echo "usage: $0 run [VANED-OPTION]... | test | summary" >&2
  exit 2
  ;;
esac
