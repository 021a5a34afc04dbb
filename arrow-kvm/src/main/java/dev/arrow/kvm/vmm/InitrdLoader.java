package dev.arrow.kvm.vmm;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryOutputStream;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Places a {@link VmConfig.Initrd} in guest memory where {@link Layout#initrdAddress} says (as high in
 * low RAM as the kernel allows): bytes are copied, a file and a {@link VmConfig.Initrd.Streamed streamed}
 * initrd are streamed into guest memory, and must deliver exactly the size they had (or announced).
 */
final class InitrdLoader {

    /** Where an initrd went. */
    record Placed(GuestAddress address, long size) {
    }

    private InitrdLoader() {
    }

    /**
     * @param ramSize       the guest's RAM size
     * @param initrdAddrMax the kernel's highest legal initrd byte
     * @param kernelEnd     the end of the loaded kernel (exclusive)
     * @throws dev.arrow.kvm.x86.BootSetupException if the initrd does not fit
     * @throws KvmException if its content cannot be read or is not the size it had (or announced)
     */
    static Placed load(VmConfig.Initrd initrd, GuestMemory memory, long ramSize, long initrdAddrMax, long kernelEnd) {
        long size = size(initrd);
        GuestAddress address = GuestAddress.of(Layout.initrdAddress(ramSize, size, initrdAddrMax, kernelEnd));
        if (initrd instanceof VmConfig.Initrd.InMemory m) {
            memory.write(address, m.bytes());
        } else if (initrd instanceof VmConfig.Initrd.File f) {
            stream(memory, address, size, out -> {
                try (InputStream in = Files.newInputStream(f.path())) {
                    in.transferTo(out);
                }
            }, "initrd " + f.path() + " (" + size + " bytes when the VM was built)");
        } else {
            VmConfig.Initrd.Streamed s = (VmConfig.Initrd.Streamed) initrd;
            stream(memory, address, size, s.writer(), "the streamed initrd (" + size + " bytes announced)");
        }
        return new Placed(address, size);
    }

    private static long size(VmConfig.Initrd initrd) {
        if (initrd instanceof VmConfig.Initrd.InMemory m) {
            return m.bytes().length;
        }
        if (initrd instanceof VmConfig.Initrd.Streamed s) {
            return s.size();
        }
        Path path = ((VmConfig.Initrd.File) initrd).path();
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new KvmException("cannot read initrd " + path + ": " + e, e);
        }
        if (size == 0) {
            throw new KvmException("initrd " + path + " is empty");
        }
        return size;
    }

    private static void stream(GuestMemory memory, GuestAddress address, long size, VmConfig.Initrd.Writer writer,
                               String what) {
        GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, address, size);
        try {
            writer.writeTo(out);
        } catch (IOException e) {
            throw new KvmException("writing " + what + " into guest memory failed after " + out.written() + " bytes: "
                    + e.getMessage(), e);
        }
        if (out.remaining() != 0) {
            throw new KvmException("writing " + what + " into guest memory delivered only " + out.written() + " bytes");
        }
    }
}
