package dev.arrow.bench;

import dev.arrow.kvm.loader.KernelSnapshot;
import dev.arrow.kvm.vmm.VmBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/**
 * Mappings of {@code /proc/<pid>/smaps} picked by their pathname (the header line's last field:
 * empty for anonymous memory, {@code /memfd:NAME (deleted)} for a memory file), whose counters a
 * {@link ProcessMemory} sums under {@link #name()}.
 *
 * @param name     the key of the sum in {@link ProcessMemory#mappings()} and in the result files
 * @param pathname true for the pathnames of the mappings that belong to the group
 */
public record MappingGroup(String name, Predicate<String> pathname) {
    /** Mappings of Arrow's shared guest kernel images ({@link KernelSnapshot}): the file's pages and each VM's copies. */
    public static final MappingGroup KERNEL_IMAGE = memoryFile("kernel image", KernelSnapshot.FILE_NAME_PREFIX);
    /** Mappings of templates' guest RAM ({@link VmBuilder#TEMPLATE_RAM_FILE_NAME}): the template's and each clone's. */
    public static final MappingGroup TEMPLATE_RAM = memoryFile("template RAM", VmBuilder.TEMPLATE_RAM_FILE_NAME);
    /**
     * Anonymous mappings without a name: guest RAM (but where the kernel image is mapped over it),
     * and also the JVM's heap, thread stacks and malloc arenas.
     */
    public static final MappingGroup ANONYMOUS = new MappingGroup("anonymous", String::isEmpty);
    /** The name of the group of the application loader's read-only images ({@link #loaderImages}). */
    public static final String LOADER_IMAGES = "loader images";
    /** The groups a benchmark of arrows reads. */
    public static final List<MappingGroup> ARROW = List.of(KERNEL_IMAGE, TEMPLATE_RAM, ANONYMOUS);

    /** Mappings of memory files ({@code memfd_create}) whose name starts with {@code namePrefix}. */
    public static MappingGroup memoryFile(String name, String namePrefix) {
        String start = "/memfd:" + namePrefix;
        return new MappingGroup(name, p -> p.startsWith(start));
    }

    /**
     * Mappings of the application loader's read-only images, the files of the image cache in {@code directory}
     * (smaps names a file by its real path).
     */
    public static MappingGroup loaderImages(Path directory) throws IOException {
        String start = directory.toRealPath() + "/";
        return new MappingGroup(LOADER_IMAGES, p -> p.startsWith(start));
    }
}
