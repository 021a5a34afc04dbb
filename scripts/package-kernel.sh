#!/usr/bin/env bash
# Packages the cached guest kernel of this checkout as class-path resources (the arrow-kernel jar):
#   scripts/package-kernel.sh OUTDIR
# writes into OUTDIR: vmlinux.gz (gzip -9), kernel.properties (the index KernelArtifact reads: the
# vmlinux's SHA-256 and size, the cache key, the Debian source package), config (the kernel's .config),
# SOURCE.md (where the corresponding source is: GPL-2.0) and the kernel's licence texts.
# The kernel itself is built by scripts/build-kernel.sh guest (scripts/setup.sh runs it); this script
# builds nothing and fails naming scripts/setup.sh when the kernel for this checkout is not cached.
# Run by arrow-kernel's Maven build; a second run with the same kernel does nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ARROW_STEP="package kernel"
out=${1:?usage: $0 OUTDIR}
key=$("$ARROW_ROOT/scripts/build-kernel.sh" --key guest) \
  || die "cannot compute the guest kernel's key (see above): run scripts/setup.sh as root, which builds the kernel"
dir="$ARROW_CACHE/kernel/guest-$key"
[ -f "$dir/vmlinux" ] && [ -f "$dir/.config" ] && [ -f "$dir/build-info" ] \
  || die "the guest kernel of this checkout (key $key) is not built: $dir/vmlinux missing; run scripts/setup.sh as root (or scripts/build-kernel.sh guest), then build again"
if [ -f "$out/kernel.properties" ] && [ -f "$out/vmlinux.gz" ] && grep -qx "key=$key" "$out/kernel.properties"; then
  exit 0
fi
source_line=$(sed -n 's/^source=//p' "$dir/build-info")   # e.g. "linux-source-6.1 6.1.192-3"
srcpkg=${source_line%% *}; srcver=${source_line#* }
[ -n "$srcpkg" ] && [ -n "$srcver" ] || die "$dir/build-info has no source= line: rebuild the kernel (scripts/build-kernel.sh guest)"
recipe=$(sed -n 's/^RECIPE=//p' "$ARROW_ROOT/scripts/build-kernel.sh")
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.kernel-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
gzip -9 -n -c "$dir/vmlinux" >"$tmp/vmlinux.gz"
cp "$dir/.config" "$tmp/config"
# The licence texts from the very source the kernel was built from (extracted by build-kernel.sh).
src="$ARROW_CACHE/src/$srcpkg-$srcver"
licences=(COPYING LICENSES/preferred/GPL-2.0 LICENSES/exceptions/Linux-syscall-note)
if [ ! -f "$src/COPYING" ]; then
  src="$tmp/src"; mkdir -p "$src"
  tar -xJf "/usr/src/$srcpkg.tar.xz" -C "$src" --strip-components=1 "${licences[@]/#/$srcpkg/}" \
    || die "cannot read the licence texts from /usr/src/$srcpkg.tar.xz: run scripts/setup.sh as root"
fi
mkdir -p "$tmp/licenses"
for f in "${licences[@]}"; do cp "$src/$f" "$tmp/licenses/$(basename "$f")"; done
rm -rf "$tmp/src"
cat >"$tmp/SOURCE.md" <<NOTE
# The guest kernel in this artifact

\`vmlinux.gz\` is Linux, licensed under the GNU General Public License version 2 only, with the
Linux-syscall-note exception (texts in \`licenses/\`). It is built unmodified from the source in the
Debian package **$srcpkg $srcver** (Debian 12, bookworm) with the configuration in \`config\`
(tinyconfig plus Arrow's \`kernel/guest.config\`), by Arrow's \`scripts/build-kernel.sh guest\`
(recipe $recipe, cache key $key).

The corresponding source code:
- the Debian binary package \`$srcpkg\` version $srcver (\`apt-get install $srcpkg\`, then
  \`/usr/src/$srcpkg.tar.xz\`), built from the Debian source package \`linux\` version $srcver:
  \`apt-get source linux=$srcver\`, or https://snapshot.debian.org/package/linux/$srcver/ ;
- the build configuration: \`config\` in this artifact, \`kernel/guest.config\` and
  \`scripts/build-kernel.sh\` in Arrow's source repository.
NOTE
{
  echo "# The guest kernel packaged by scripts/package-kernel.sh; read by dev.arrow.image.kernel.KernelArtifact"
  echo "image=vmlinux.gz"
  echo "sha256=$(sha256sum "$dir/vmlinux" | cut -d' ' -f1)"
  echo "size=$(stat -c %s "$dir/vmlinux")"
  echo "key=$key"
  echo "source=$srcpkg $srcver"
} >"$tmp/kernel.properties"
rm -rf "$out.old"; [ -d "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"; trap - EXIT
rm -rf "$out.old"
log "packaged $dir/vmlinux ($(stat -c %s "$dir/vmlinux") bytes, gzip $(stat -c %s "$out/vmlinux.gz")) into $out"
