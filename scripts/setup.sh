#!/usr/bin/env bash
# One-time (and idempotent) set-up of a Debian 12 machine for Arrow, as root:
#   1. installs every Debian package the project needs (only the missing ones),
#   2. builds and caches the guest kernel and the lab kernel (~/.cache/arrow/kernel),
#   3. fetches the JUnit console launcher used for boot tests inside the lab.
# The Java modules themselves are built by the commands that use them (scripts/hello, scripts/test.sh).
# A second run with nothing to do finishes in seconds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ARROW_STEP=setup
start=$SECONDS

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages): sudo $0"
[ -r /etc/debian_version ] || die "this script supports Debian 12 (bookworm); /etc/debian_version not found"
case "$(cat /etc/debian_version)" in 12*|bookworm*) ;; *) log "warning: tested on Debian 12, this is Debian $(cat /etc/debian_version)";; esac
[ "$(uname -m)" = x86_64 ] || die "Arrow needs an x86-64 host, this is $(uname -m)"

packages=(
  openjdk-17-jdk-headless maven            # build and run the Java modules
  gcc make libc6-dev musl-tools            # init and sample programs (static, musl)
  linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils lz4 cpio  # kernel builds
  qemu-system-x86                          # tier 3 (plain TCG) and the lab (TCG with AMD-V)
  passt                                    # user-mode networking for arrows
  busybox-static                           # static test programs (httpd sample, binary checks)
  erofs-utils                              # fsck.erofs, dump.erofs: the tests' reference reader of read-only images
  util-linux procps coreutils iproute2     # flock, timeout, pgrep; ip (the lab's network set-up)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  with_progress /tmp/arrow-apt.log "apt-get update" apt-get update -q
  with_progress /tmp/arrow-apt.log "apt-get install" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all ${#packages[@]} Debian packages present"
fi

case "$("$ARROW_ROOT/scripts/kvm-flavour")" in
  intel) log "/dev/kvm present, flavour: hardware (Intel VT-x)" ;;
  amd) log "/dev/kvm present, flavour: hardware (AMD-V)" ;;
  pvm) log "/dev/kvm present, flavour: PVM (no hardware virtualization: Linux boots run in the lab)" ;;
  no-access) log "warning: /dev/kvm present, but this user may not open it" ;;
  none)
    log "warning: no /dev/kvm on this host: tier-2 tests will be skipped; full boots run in the lab (QEMU TCG)"
    log "         to use Arrow directly, enable VT-x/AMD-V and load kvm_intel or kvm_amd" ;;
  *) log "/dev/kvm present, flavour: unknown" ;;
esac

guest=$("$ARROW_ROOT/scripts/build-kernel.sh" guest)
log "guest kernel: $guest"
lab=$("$ARROW_ROOT/scripts/build-kernel.sh" lab)
log "lab kernel: $lab"

tools="$ARROW_CACHE/tools"
launcher="$tools/junit-platform-console-standalone.jar"
if [ ! -f "$launcher" ]; then
  mkdir -p "$tools"
  with_progress /tmp/arrow-mvn-setup.log "fetching the JUnit console launcher" \
    mvn -B -f "$ARROW_ROOT/pom.xml" -N dependency:copy \
      -Dartifact=org.junit.platform:junit-platform-console-standalone:1.10.3 \
      -DoutputDirectory="$tools" -Dmdep.stripVersion=true
fi
log "set-up complete in $(( SECONDS - start ))s"
