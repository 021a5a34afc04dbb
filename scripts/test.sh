#!/usr/bin/env bash
# Runs every test tier of Arrow and ends with one line per tier (ran, passed, failed, skipped).
#   tier 1  unit tests, pure Java                    (JUnit, untagged)
#   tier 2  host-KVM tests with tiny guests          (JUnit @KvmTest: tag kvm)
#   tier 3  guest image under plain QEMU TCG         (JUnit @TcgTest: tag tcg)
#   tier 4  full Linux boots through our own VMM     (JUnit @BootTest: tag boot): directly where the
#           host KVM can boot Linux, otherwise all in one lab session (scripts/lab/run).
# Exit status 0 only when no tier failed. Needs scripts/setup.sh to have run once.
# For work on one area: --tiers 34 runs only tiers 3 and 4 (the others print "not run"), and
# ARROW_BOOT_TESTS='.*NetworkBootTest' narrows tier 4 in the lab. The README command runs all.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
ARROW_STEP=test
cd "$ARROW_ROOT"
tiers=1234
while [ $# -gt 0 ]; do
  case $1 in
    --tiers) tiers=${2:?--tiers needs a list such as 34}; shift 2 ;;
    *) die "unknown option $1 (usage: scripts/test.sh [--tiers 1234])" ;;
  esac
done
wanted() { [[ $tiers == *$1* ]]; }
reports="$ARROW_ROOT/build/test-reports"
rm -rf "$reports"; mkdir -p "$reports"
start=$SECONDS

export ARROW_CACHE
ARROW_KERNEL=$(scripts/build-kernel.sh guest) || die "no guest kernel: run scripts/setup.sh first"
export ARROW_KERNEL
declare -A note

mvn_tier() { # tier groups [mvn goals...]
  local tier=$1 groups=$2; shift 2
  log "tier ${tier#tier}: mvn $* (groups: ${groups:-untagged})"
  local exclude=""; [ -z "$groups" ] && exclude="kvm,tcg,boot"
  mvn -B "$@" -Darrow.tier="$tier" -Dgroups="$groups" -DexcludedGroups="$exclude" \
      -Darrow.kernel="$ARROW_KERNEL" 2>&1 | tee "$reports/$tier.log" | grep -E --line-buffered \
      '^\[(INFO|WARNING|ERROR)\] (Tests run|Running|BUILD|FAIL|Reactor Summary|arrow-|samples|benchmarks)|^\[ERROR\]|Tests run:.*Fail'
  local rc=${PIPESTATUS[0]}
  mkdir -p "$reports/$tier"
  find . -path "*/target/surefire-reports/$tier/TEST-*.xml" -exec cp {} "$reports/$tier/" \; 2>/dev/null
  return "$rc"
}

rc1=0; rc2=0; rc3=0; rc4=0
declare -A took
t0=$SECONDS
if wanted 1; then
  mvn_tier tier1 "" install; rc1=$?
else
  log "tier 1 not run (--tiers $tiers): building without tests"
  mvn -q -B install -DskipTests || die "the build failed"
  note[tier1]="not run (--tiers $tiers)"
fi
if [ "$rc1" != 0 ] && ! ls arrow-backend-kvm/target/classes >/dev/null 2>&1; then
  note[tier1]="build failed (see $reports/tier1.log)"
fi
took[1]=$(( SECONDS - t0 )); t0=$SECONDS
flavour=$(scripts/kvm-flavour)
lab_tiers=""
if ! wanted 2; then
  note[tier2]="not run (--tiers $tiers)"
elif [ "$flavour" = none ]; then
  # no /dev/kvm here at all: the tiny-guest tests run against the lab's KVM, in the tier-4 session
  log "tier 2: this host has no /dev/kvm: the tier-2 tests run in the lab session below"
  lab_tiers=2
  note[tier2-where]="in the lab (this host has no /dev/kvm)"
else
  mvn_tier tier2 kvm surefire:test; rc2=$?
fi
took[2]=$(( SECONDS - t0 )); t0=$SECONDS
if wanted 3; then mvn_tier tier3 tcg surefire:test; rc3=$?; else note[tier3]="not run (--tiers $tiers)"; fi
took[3]=$(( SECONDS - t0 )); t0=$SECONDS

if ! wanted 4; then
  note[tier4]="not run (--tiers $tiers)"
elif [ "$flavour" = intel ] || [ "$flavour" = amd ]; then
  mvn_tier tier4 boot surefire:test; rc4=$?
  # the consumer project's hello arrow (in the lab this runs inside scripts/lab/boot-tests)
  consumer_cmd="$reports/consumer.cmd"
  { scripts/lab/consumer-test --prepare "$consumer_cmd" && scripts/lab/consumer-test --run "$consumer_cmd"; } || rc4=1
else
  lab_tiers+=4
  note[tier4-where]="in the lab (host KVM: $flavour)"
fi
if [ -n "$lab_tiers" ]; then
  log "tiers ${lab_tiers//?/& }in one lab session (host KVM '$flavour' cannot boot Linux or is missing)"
  mkdir -p "$reports/tier4" "$reports/tier2"
  scripts/lab/boot-tests-classpath >"$reports/tier4.classpath" || rc4=1
  if [ "$rc4" = 0 ]; then
    scripts/lab/selftest "$reports/tier4" || rc4=1
    lab="$reports/lab"; mkdir -p "$lab/root/dev"
    musl-gcc -static -Os -o "$lab/root/init" scripts/lab/kvm-check-init.c &&
      (cd "$lab/root" && printf 'init\ndev\n' | cpio -o -H newc --quiet >"$lab/kvm-check.cpio") || rc4=1
    if [[ $lab_tiers == *4* ]]; then # tier 1 installed the artifacts the consumer project depends on
      rm -f "$lab/consumer.cmd"
      scripts/lab/consumer-test --prepare "$lab/consumer.cmd" || rc4=1
    fi
    ARROW_BOOT_CLASSPATH="$reports/tier4.classpath" ARROW_LAB_TIERS="$lab_tiers" \
      scripts/lab/run --out "$lab" --timeout "${ARROW_LAB_TIMEOUT:-2700}" -- scripts/lab/boot-tests 2>&1 | tee "$reports/tier4.log"
    labrc=${PIPESTATUS[0]}; [ "$rc4" = 0 ] && rc4=$labrc
    cp "$lab"/tier4/TEST-*.xml "$reports/tier4/" 2>/dev/null
    cp "$lab"/tier2/TEST-*.xml "$reports/tier2/" 2>/dev/null
  fi
  # the lab's status is tier 4's (or tier 2's when it ran alone); tier 2 leaves its own beside it
  if [[ $lab_tiers == *2* ]]; then
    rc2=$(cat "$reports/lab/tier2.status" 2>/dev/null || echo 1)
    [[ $lab_tiers == *4* ]] || rc4=0
  fi
  if [ "$rc2" != 0 ] || [ "$rc4" != 0 ]; then
    [[ $lab_tiers == *2* ]] && note[tier2]="lab session ended with status $rc2 (see $reports/tier4.log)"
    [[ $lab_tiers == *4* ]] && note[tier4]="lab session ended with status $rc4 (see $reports/tier4.log)"
  fi
fi

took[4]=$(( SECONDS - t0 ))
echo
echo "== Arrow test summary ($(( SECONDS - start ))s) =="
failed=0
for t in 1 2 3 4; do
  case $t in 1) name="unit (pure Java)";; 2) name="host KVM, tiny guests ${note[tier2-where]:-on this host}";; 3) name="guest image, QEMU TCG";; 4) name="full boots, our VMM ${note[tier4-where]:-on this host}";; esac
  rcvar=rc$t
  if ! wanted $t; then echo "tier $t $name: ${note[tier$t]}"; continue; fi
  summary=$(scripts/junit-summary "$reports/tier$t")
  line=${summary%%$'\n'*}
  time_taken="in ${took[$t]}s"
  [ "$t" = 2 ] && [ -n "${note[tier2-where]:-}" ] && time_taken="(its time is in tier 4's lab session)"
  echo "tier $t $name: $line $time_taken${note[tier$t]:+ — ${note[tier$t]}}"
  # then why each failed test failed, here at the end where a CI tail shows it
  [ "$summary" = "$line" ] || printf '%s\n' "${summary#*$'\n'}"
  case "$line" in *"failed 0"*) ;; *) failed=1 ;; esac
  [ "${!rcvar}" = 0 ] || failed=1
  if [ "$t" = 4 ] && [ -f "$reports/tier4.log" ]; then
    stuck_report="vCPU [0-9]*: no exit within .* inside KVM_RUN.*"
    stuck=$(grep -a -c "$stuck_report" "$reports/tier4.log")
    if [ "$stuck" != 0 ]; then
      echo "  $stuck report(s) of a vCPU that stayed inside KVM_RUN through a kick (docs/lab.md), the first:"
      grep -a -m 2 -o "$stuck_report" "$reports/tier4.log" | cut -c1-700 | sed 's/^/    /'
    fi
  fi
done
exit "$failed"
