# Shared helpers for Arrow's scripts. Source it; do not run it.
ARROW_CACHE="${ARROW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/arrow}"
ARROW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log()  { printf '[%s] %s\n' "${ARROW_STEP:-arrow}" "$*" >&2; }
die()  { printf '[%s] error: %s\n' "${ARROW_STEP:-arrow}" "$*" >&2; exit 1; }

# need_cmd CMD PACKAGE: fail with the package to install when CMD is missing.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install the Debian package '$2' (run scripts/setup.sh as root)"
}

# need_disk DIR GIB: fail when DIR's file system has less than GIB GiB free.
need_disk() {
  mkdir -p "$1"
  local free_kib; free_kib=$(df -Pk "$1" | awk 'NR==2 {print $4}')
  [ "$free_kib" -ge $(( $2 * 1024 * 1024 )) ] ||
    die "only $(( free_kib / 1024 )) MiB free under $1, need ${2} GiB: free some disk or set ARROW_CACHE to a bigger file system"
}

# with_progress LOGFILE LABEL CMD...: run CMD with output to LOGFILE, print a line every 15 s.
with_progress() {
  local logfile=$1 label=$2; shift 2
  local start=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15 & wait $! 2>/dev/null
    kill -0 "$pid" 2>/dev/null || break
    log "$label: $(( SECONDS - start ))s, $(wc -l <"$logfile") log lines, last: $(tail -n 1 "$logfile" | cut -c1-70)"
  done
  if ! wait "$pid"; then
    tail -n 30 "$logfile" >&2
    die "$label failed after $(( SECONDS - start ))s; full log: $logfile"
  fi
  log "$label: done in $(( SECONDS - start ))s"
}

# xml_case DIR NAME SECONDS pass|fail MESSAGE: one JUnit XML report (DIR/TEST-lab-NAME.xml) for a
# check made by a script, so that the tier summary counts it with the JUnit tests.
xml_case() {
  local dir=$1; shift
  local msg=${4//&/&amp;}; msg=${msg//</&lt;}; msg=${msg//\"/&quot;}
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"lab\" tests=\"1\" errors=\"0\" skipped=\"0\" failures=\"$([ "$3" = pass ] && echo 0 || echo 1)\" time=\"$2\">"
    echo "  <testcase classname=\"lab\" name=\"$1\" time=\"$2\">"
    [ "$3" = pass ] || echo "    <failure message=\"$msg\"/>"
    echo "  </testcase>"
    echo "</testsuite>"
  } >"$dir/TEST-lab-$1.xml"
}
