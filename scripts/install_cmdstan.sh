#!/usr/bin/env bash
# install_cmdstan.sh — install an official CmdStan release for dsamstan.
#
#   scripts/install_cmdstan.sh [--version 2.33.1] [--dir ~/.cmdstan] [--jobs N] [--tarball FILE]
#
# Downloads cmdstan-<version>.tar.gz from the stan-dev/cmdstan GitHub releases (or unpacks
# --tarball FILE on a machine without internet), builds it with make, and proves the install
# by compiling and sampling the bernoulli example. Safe to rerun: a working install of the
# same version is left alone; a half-finished one is rebuilt.
set -euo pipefail

version=2.33.1
dir="${HOME}/.cmdstan"
jobs="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
tarball=""

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}
die() { echo "install_cmdstan: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs a value}"; shift 2 ;;
    --tarball) tarball="${2:?--tarball needs a file}"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "install_cmdstan: unknown argument: $1" >&2; usage 2 ;;
  esac
done

case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) die "--version must look like 2.33.1, got '$version'" ;;
esac
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
if [ "$major" -lt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -lt 33 ]; }; then
  die "dsamstan needs CmdStan 2.33 or newer (array[N] syntax); asked for $version"
fi

# Toolchain first: a build that fails after a long download helps nobody.
command -v make >/dev/null 2>&1 || die "make not found on PATH (Debian/Ubuntu: apt-get install make)"
cxx="${CXX:-}"
if [ -z "$cxx" ]; then
  for c in g++ clang++; do command -v "$c" >/dev/null 2>&1 && { cxx=$c; break; }; done
fi
[ -n "$cxx" ] || die "no C++ compiler found (Debian/Ubuntu: apt-get install g++; or set CXX)"
command -v tar >/dev/null 2>&1 || die "tar not found on PATH"

home="$dir/cmdstan-$version"
mkdir -p "$dir"

prove() {
  # Compile and sample the bernoulli example; succeeds only if CmdStan really works.
  local h=$1 out
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' RETURN
  make -C "$h" -j"$jobs" examples/bernoulli/bernoulli >"$out/make.log" 2>&1 || {
    tail -30 "$out/make.log" >&2; return 1; }
  "$h/examples/bernoulli/bernoulli" sample num_samples=200 num_warmup=200 \
    data file="$h/examples/bernoulli/bernoulli.data.json" \
    output file="$out/bern.csv" refresh=0 >"$out/run.log" 2>&1 || {
    tail -30 "$out/run.log" >&2; return 1; }
  grep -q '^lp__' "$out/bern.csv"
}

if [ -x "$home/bin/stanc" ]; then
  echo "install_cmdstan: CmdStan $version already installed at $home; checking it works"
  if prove "$home"; then
    echo "install_cmdstan: OK — $home"
    exit 0
  fi
  echo "install_cmdstan: the existing install does not work; rebuilding" >&2
fi

work="$(mktemp -d "$dir/.install-XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ -z "$tarball" ]; then
  url="https://github.com/stan-dev/cmdstan/releases/download/v${version}/cmdstan-${version}.tar.gz"
  tarball="$work/cmdstan-$version.tar.gz"
  echo "install_cmdstan: downloading $url"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 -o "$tarball" "$url" || die "download failed; on a machine without internet pass --tarball FILE"
  elif command -v wget >/dev/null 2>&1; then
    wget -O "$tarball" "$url" || die "download failed; on a machine without internet pass --tarball FILE"
  else
    die "neither curl nor wget found; install one or pass --tarball FILE"
  fi
fi
[ -f "$tarball" ] || die "tarball not found: $tarball"

echo "install_cmdstan: unpacking $tarball"
tar -xzf "$tarball" -C "$work" || die "could not unpack $tarball (is it a CmdStan release .tar.gz?)"
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'cmdstan*' | head -1)"
[ -n "$src" ] && [ -f "$src/makefile" ] || die "$tarball does not contain a CmdStan release"

# CmdStan links its TBB library by absolute path, so it must be built where it will live.
# The marker file is written last: an install without it is unfinished and gets replaced.
if [ -e "$home" ]; then
  if [ -f "$home/.dsamstan-installed" ] || [ ! -x "$home/bin/stanc" ]; then
    rm -rf "$home"                      # ours, or never finished: replace it
  else
    aside="$home.broken-$(date +%Y%m%d%H%M%S)"
    echo "install_cmdstan: moving the non-working install aside to $aside" >&2
    mv "$home" "$aside"
  fi
fi
mv "$src" "$home"
echo "install_cmdstan: building CmdStan $version in $home with $jobs jobs (this takes a few minutes)"
make -C "$home" -j"$jobs" build >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; die "make build failed (log above); rerun to retry"; }

prove "$home" || die "CmdStan built but the bernoulli example did not compile and sample"
touch "$home/.dsamstan-installed"
echo "install_cmdstan: OK — CmdStan $version installed at $home"
echo "install_cmdstan: dsamstan finds it automatically (or set CMDSTAN=$home)"
