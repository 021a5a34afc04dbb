package dev.arrow.kvm.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Builders for synthetic kernel images: well-formed by default, each field overridable. */
final class TestImages {

    private TestImages() {}

    /** One ELF program header. */
    static final class Phdr {
        int type = 1; // PT_LOAD
        int flags = 5; // PF_R | PF_X
        long offset;
        long vaddr;
        long paddr;
        long filesz;
        long memsz;

        Phdr(long offset, long paddr, long filesz, long memsz) {
            this.offset = offset;
            this.paddr = paddr;
            this.vaddr = 0xffff_ffff_8000_0000L + paddr;
            this.filesz = filesz;
            this.memsz = memsz;
        }
    }

    /** An ELF64 vmlinux-like image: header at 0, program headers at 64, segment data after. */
    static final class Elf {
        byte elfClass = 2;
        byte data = 1;
        byte version = 1;
        short type = 2;
        short machine = 62;
        long entry;
        long phoff = 64;
        short phentsize = 56;
        Integer phnumOverride;
        final List<Phdr> phdrs = new ArrayList<>();
        int fileSize;
        final List<long[]> fills = new ArrayList<>(); // {offset, length, value}

        /** A kernel with a text segment at 16 MiB (data 0x11 x 0x3000) and a bss-bearing segment. */
        static Elf typical() {
            Elf e = new Elf();
            e.entry = 0x100_0000;
            e.phdrs.add(new Phdr(0x1000, 0x100_0000, 0x3000, 0x3000));
            e.phdrs.add(new Phdr(0x4000, 0x100_4000, 0x1000, 0x3000));
            e.phdrs.get(1).flags = 6; // PF_R | PF_W
            e.fileSize = 0x5000;
            e.fills.add(new long[] {0x1000, 0x3000, 0x11});
            e.fills.add(new long[] {0x4000, 0x1000, 0x22});
            return e;
        }

        byte[] build() {
            byte[] b = new byte[fileSize];
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            for (long[] f : fills) {
                for (long i = f[0]; i < f[0] + f[1] && i < b.length; i++) {
                    b[(int) i] = (byte) f[2];
                }
            }
            if (b.length >= 4) {
                bb.putInt(0, 0x464c457f);
            }
            put(b, 4, elfClass);
            put(b, 5, data);
            put(b, 6, version);
            if (b.length >= 64) {
                bb.putShort(16, type);
                bb.putShort(18, machine);
                bb.putInt(20, 1);
                bb.putLong(24, entry);
                bb.putLong(32, phoff);
                bb.putShort(52, (short) 64);
                bb.putShort(54, phentsize);
                bb.putShort(56, (short) (phnumOverride != null ? phnumOverride : phdrs.size()));
            }
            for (int i = 0; i < phdrs.size(); i++) {
                long at = phoff + (long) i * 56;
                if (at < 0 || at > b.length - 56L) {
                    break;
                }
                Phdr p = phdrs.get(i);
                int a = (int) at;
                bb.putInt(a, p.type);
                bb.putInt(a + 4, p.flags);
                bb.putLong(a + 8, p.offset);
                bb.putLong(a + 16, p.vaddr);
                bb.putLong(a + 24, p.paddr);
                bb.putLong(a + 32, p.filesz);
                bb.putLong(a + 40, p.memsz);
                bb.putLong(a + 48, 0x1000);
            }
            return b;
        }

        private static void put(byte[] b, int at, byte v) {
            if (at < b.length) {
                b[at] = v;
            }
        }
    }

    /** A bzImage-like image: boot sector + setup sectors, then the protected-mode part. */
    static final class BzImage {
        int setupSects = 4;
        int version = 0x020f;
        int loadflags = 0x01;
        int xloadflags = 0x01;
        int bootFlag = 0xaa55;
        int headerLength = 0x268 - 0x202; // jump offset byte at 0x201
        int kernelAlignment = 0x20_0000;
        int relocatable = 1;
        long prefAddress = 0x100_0000;
        long initSize = 0x40_0000;
        int kernelBytes = 0x2000;
        Integer fileSizeOverride;
        boolean magic = true;

        byte[] build() {
            int setup = (setupSects == 0 ? 4 : setupSects) * 512 + 512;
            int size = fileSizeOverride != null ? fileSizeOverride : setup + kernelBytes;
            byte[] b = new byte[Math.max(size, 0x300)];
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            bb.put(0x1f1, (byte) setupSects);
            bb.putShort(0x1fe, (short) bootFlag);
            bb.put(0x200, (byte) 0xeb);
            bb.put(0x201, (byte) headerLength);
            if (magic) {
                bb.putInt(0x202, 0x53726448);
            }
            bb.putShort(0x206, (short) version);
            bb.put(0x211, (byte) loadflags);
            bb.putInt(0x214, 0x100000);
            bb.putInt(0x22c, 0x7fffffff);
            bb.putInt(0x230, kernelAlignment);
            bb.put(0x234, (byte) relocatable);
            bb.putShort(0x236, (short) xloadflags);
            bb.putInt(0x238, 2047);
            bb.putLong(0x258, prefAddress);
            bb.putInt(0x260, (int) initSize);
            for (int i = setup; i < b.length; i++) {
                b[i] = (byte) (i * 7);
            }
            byte[] out = new byte[size];
            System.arraycopy(b, 0, out, 0, Math.min(size, b.length));
            return out;
        }
    }
}
