#!/usr/bin/env bash
# Build (or find in the cache) one of Arrow's kernels from Debian's linux-source-6.1.
#   scripts/build-kernel.sh guest   -> prints the path of the cached guest vmlinux
#   scripts/build-kernel.sh lab     -> prints the path of the cached lab bzImage
#   scripts/build-kernel.sh --key guest|lab -> prints the cache key only (builds nothing)
# ARROW_KERNEL_FRAGMENTS overrides the directory of the fragments (default: kernel/). Patches in
# <that directory>/<flavour>.patches/*.patch are applied, in name order, to a copy of the source
# that shares the unchanged files with Debian's (hard links).
# The cache key is a hash of the base config, the project's fragment and patches, the source
# package version and RECIPE, so a change to any of them triggers exactly one rebuild. Bump RECIPE
# when a change to this script changes what it builds (not for logging or comments).
set -euo pipefail
RECIPE=1
source "$(dirname "$0")/lib.sh"
print_key=0
if [ "${1:-}" = --key ]; then print_key=1; shift; fi
flavour=${1:-}
case "$flavour" in
  guest) base=tinyconfig;                       target=vmlinux; image=vmlinux ;;
  lab)   base="x86_64_defconfig kvm_guest.config"; target=bzImage; image=arch/x86/boot/bzImage ;;
  *) echo "usage: $0 guest|lab" >&2; exit 2 ;;
esac
ARROW_STEP="kernel $flavour"
fragment="${ARROW_KERNEL_FRAGMENTS:-$ARROW_ROOT/kernel}/$flavour.config"
[ -f "$fragment" ] || die "kernel config fragment $fragment not found"
patches=()
for p in "${ARROW_KERNEL_FRAGMENTS:-$ARROW_ROOT/kernel}/$flavour.patches"/*.patch; do
  [ -f "$p" ] && patches+=("$p")
done
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "$tarball missing: install the Debian package 'linux-source-6.1' (scripts/setup.sh)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || die "linux-source-6.1 is not installed"
key=$( { echo "$base"; echo "$srcver"; echo "recipe $RECIPE"; cat "$fragment"
          for p in "${patches[@]}"; do echo "patch $(basename "$p")"; cat "$p"; done; } | sha256sum | cut -c1-16)
if [ "$print_key" = 1 ]; then echo "$key"; exit 0; fi
out="$ARROW_CACHE/kernel/$flavour-$key"
if [ -f "$out/$(basename "$image")" ]; then
  echo "$out/$(basename "$image")"; exit 0
fi
for c in make:make gcc:gcc flex:flex bison:bison bc:bc; do need_cmd "${c%%:*}" "${c##*:}"; done
[ -f /usr/include/libelf.h ] || die "libelf.h missing: install 'libelf-dev'"
[ -f /usr/include/openssl/ssl.h ] || die "openssl headers missing: install 'libssl-dev'"
need_disk "$ARROW_CACHE" $([ "$flavour" = lab ] && echo 4 || echo 2)
mkdir -p "$ARROW_CACHE/kernel"
exec 9>"$ARROW_CACHE/kernel/.lock-$flavour"
flock 9   # another build of the same flavour finishes first; then the cache hit below
if [ -f "$out/$(basename "$image")" ]; then echo "$out/$(basename "$image")"; exit 0; fi

src="$ARROW_CACHE/src/linux-source-6.1-$srcver"
if [ ! -f "$src/.arrow-extracted" ]; then
  exec 8>"$ARROW_CACHE/.lock-src"; flock 8
  if [ ! -f "$src/.arrow-extracted" ]; then
    rm -rf "$src"; mkdir -p "$src"
    with_progress "$ARROW_CACHE/src/extract.log" "extracting $tarball" \
      tar -xJf "$tarball" -C "$src" --strip-components=1
    touch "$src/.arrow-extracted"
  fi
  flock -u 8
fi
if [ "${#patches[@]}" -gt 0 ]; then
  # A patched copy per flavour and key: hard links to Debian's files; each patched file is first
  # replaced by a copy of its own, so the shared source stays as Debian ships it.
  patched="$ARROW_CACHE/src/linux-source-6.1-$srcver-$flavour-$key"
  if [ ! -f "$patched/.arrow-patched" ]; then
    rm -rf "$patched" "$patched.tmp"
    cp -al "$src" "$patched.tmp"
    for p in "${patches[@]}"; do
      for f in $(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p"); do
        [ -f "$patched.tmp/$f" ] && cp "$patched.tmp/$f" "$patched.tmp/$f.arrow-copy" && mv "$patched.tmp/$f.arrow-copy" "$patched.tmp/$f"
      done
      patch -s -p1 -d "$patched.tmp" <"$p" || die "kernel patch $p does not apply to linux-source-6.1 $srcver"
    done
    touch "$patched.tmp/.arrow-patched"
    mv "$patched.tmp" "$patched"
  fi
  # Only the current patched copy of this flavour is kept.
  for old in "$ARROW_CACHE/src/linux-source-6.1-$srcver-$flavour"-*; do
    [ "$old" = "$patched" ] || rm -rf "$old"
  done
  src="$patched"
fi

build="$ARROW_CACHE/kernel/build-$flavour"
mkdir -p "$build"
log "building $target ($base + $(basename "$fragment")${patches:+ + ${#patches[@]} patch(es)}), key $key; progress every 15 s"
start=$SECONDS
make -s -C "$src" O="$build" $base >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >"$build/merge.log" 2>&1
make -s -C "$src" O="$build" olddefconfig >/dev/null
# Every option the fragment asks for must survive olddefconfig (a lost dependency is a bug here).
missing=""
while IFS= read -r line; do
  case "$line" in CONFIG_*=*) ;; *) continue ;; esac
  opt=${line%%=*}; val=${line#*=}
  if [ "$val" = n ]; then
    grep -q "^$opt=" "$build/.config" && missing="$missing $line"
  else
    grep -qx "$line" "$build/.config" || missing="$missing $line"
  fi
done <"$fragment"
[ -z "$missing" ] || die "kernel config lost:$missing (a dependency is missing in $fragment)"
with_progress "$build/build.log" "make $target" make -C "$src" O="$build" -j"$(nproc)" "$target"
tmp="$out.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
cp "$build/$image" "$build/.config" "$tmp/"
secs=$(( SECONDS - start ))
printf 'flavour=%s\nkey=%s\nsource=linux-source-6.1 %s\nbase=%s\nbuild_seconds=%s\nsize_bytes=%s\nhost_cpus=%s\ndate=%s\n' \
  "$flavour" "$key" "$srcver" "$base" "$secs" "$(stat -c %s "$tmp/$(basename "$image")")" "$(nproc)" "$(date -Is)" >"$tmp/build-info"
mv "$tmp" "$out"
# Keep the three newest builds of this flavour (other checkouts may use other fragments).
ls -dt "$ARROW_CACHE/kernel/$flavour"-*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
log "built $out/$(basename "$image") ($(stat -c %s "$out/$(basename "$image")") bytes) in ${secs}s"
echo "$out/$(basename "$image")"
