#!/usr/bin/env bash
# Installs the system programs tdwstitch and its tests need, when missing:
# ffmpeg and ffprobe (Debian package ffmpeg), and each command or file named as an
# argument, either COMMAND (its package has its name, e.g. python3),
# COMMAND:PACKAGE (e.g. sbatch:slurm-wlm) or /FILE:PACKAGE (installed when
# the file exists, e.g. a Python module). As root on Debian/Ubuntu it uses
# apt-get; elsewhere it says what to install and fails.
set -euo pipefail

# Tasks run their dependencies in parallel (test needs deps and test-deps):
# one install at a time, and each looks again for what is missing once it
# holds the lock, so two never race for apt's lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/tdwstitch-install-deps.lock"
  flock 9
fi

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
for extra in "$@"; do
  cmd=${extra%%:*} pkg=${extra#*:}
  case $cmd in
    /*) [ -e "$cmd" ] || missing+=("$pkg") ;;
    *) command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true # a stale list still finds most packages
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  exit 0
fi
echo "missing: $pkgs" >&2
echo "install them with your package manager, e.g. 'sudo apt-get install $pkgs' (Debian/Ubuntu)" >&2
echo "or 'brew install ffmpeg' (macOS), then run the task again" >&2
exit 1
