/*
 * The image manifest: init's proof that the initramfs arrived whole before the app starts.
 *
 * The host writes /arrow/manifest as the last entry of every Arrow initramfs
 * (dev.arrow.image.cpio.InitramfsManifest). It is a sequence of records, each terminated by NUL:
 *   "arrow-manifest 1"
 *   "<kind> <mode> <uid> <gid> <size> <crc32c> <major> <minor> <path>"   one per entry before it
 *   "end <entries> <crc32c>"                                            nothing may follow
 * kind is d (directory), f (regular file), l (symbolic link), c or b (character or block device);
 * mode is the permission bits in octal (4 digits), uid, gid, size, major and minor are decimal,
 * crc32c is 8 lower-case hex digits: CRC-32C of a file's content or of a link's target (0 for the
 * other kinds); size is a file's length or a link target's length (0 for the others). The end
 * record counts the entries and holds the CRC-32C of every manifest byte before it, so a manifest
 * that was itself cut short or written with holes is recognised.
 *
 * The kernel's unpacker keeps going after a failed write (the tmpfs root full, for example) and
 * leaves files of the right size whose missing parts read as zeros; only their content shows it.
 */
#ifndef ARROW_MANIFEST_H
#define ARROW_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_PATH "/arrow/manifest"
#define MANIFEST_MAGIC "arrow-manifest 1"
#define MANIFEST_MAX_BYTES (16u << 20)

struct manifest_totals {
    unsigned long long entries; /* entries checked */
    unsigned long long bytes;   /* bytes of file content read and summed */
};

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0): the same value as
 * java.util.zip.CRC32C. Uses the SSE4.2 instruction when the CPU has it. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Checks every entry the manifest under root lists ("" for the guest's own root): type, mode,
 * owner, size, content (files), target (links) and device numbers. Returns 0 when all match;
 * otherwise -1 with the first difference described in msg (path first). */
int manifest_verify(const char *root, struct manifest_totals *totals, char *msg, size_t msglen);

#endif
