package dev.arrow.image;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.cpio.CheckedBytes;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.erofs.ImageFile;
import dev.arrow.image.init.ImageMounts;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Which of an arrow's inputs the application loader maps instead of copying (docs/loader.md): the app binary and each
 * large read-only host file go into read-only EROFS images from the host's {@link ImageCache} (one image for the
 * binary, shared by every arrow that runs it; one for the spec's large files), which the VMM maps into the guest
 * through virtio-pmem and init mounts with DAX, so their pages are the host's page-cache pages and none of them is
 * copied into guest RAM. What is smaller than {@link #minMappedBytes()} (or {@link GuestFile#writable()}, or inline
 * content) stays in the initramfs, where a small file is cheaper.
 *
 * @param images       the images to attach, image {@code k} (what init mounts at {@code /arrow/images/k}) at index k
 * @param mounts       the spec records telling init what to mount and bind
 * @param executable   where init finds the program: in the binary's image, or {@link LaunchSpec#DEFAULT_EXECUTABLE} in
 *                     the initramfs
 * @param copiedFiles  the spec's files that still go into the initramfs
 * @param binaryCopied whether the binary goes into the initramfs
 * @param binaryContent the binary's bytes when it is copied and its {@link PreparedBinary} holds them; empty: the
 *                     initramfs reads the file when it is written
 */
public record LoaderPlan(List<ReadOnlyImage> images, ImageMounts mounts, String executable, List<GuestFile> copiedFiles,
                         boolean binaryCopied, Optional<CheckedBytes> binaryContent) {
    /** The system property that sets {@link #minMappedBytes()} (a byte count; {@code -1} turns the loader off). */
    public static final String MIN_MAPPED_BYTES_PROPERTY = "arrow.loader.minBytes";
    /**
     * Files from this size on are mapped by default: below it, copying through the initramfs is faster than attaching
     * and mounting an image (measured in benchmarks/RESULTS.md, "Application loader").
     */
    public static final long DEFAULT_MIN_MAPPED_BYTES = 1L << 20;
    /** The name of the binary in its image: the same for every arrow, so that one image serves all of them. */
    static final String BINARY_NAME = "app";

    public LoaderPlan {
        images = List.copyOf(images);
        Objects.requireNonNull(mounts, "mounts");
        Objects.requireNonNull(executable, "executable");
        copiedFiles = List.copyOf(copiedFiles);
        Objects.requireNonNull(binaryContent, "binaryContent");
        if (binaryContent.isPresent() && !binaryCopied)
            throw new IllegalArgumentException("the binary's content is given, but the binary is not copied");
    }

    /** A plan whose copied binary, if any, is read from its file. */
    public LoaderPlan(List<ReadOnlyImage> images, ImageMounts mounts, String executable, List<GuestFile> copiedFiles,
                      boolean binaryCopied) {
        this(images, mounts, executable, copiedFiles, binaryCopied, Optional.empty());
    }

    /** Everything copied into the initramfs: what a boot without Arrow's VMM (a plain QEMU) gets. */
    public static LoaderPlan copyAll(ArrowSpec spec) {
        return new LoaderPlan(List.of(), ImageMounts.NONE, LaunchSpec.DEFAULT_EXECUTABLE, spec.files(), true);
    }

    /** The size from which files are mapped: {@value #MIN_MAPPED_BYTES_PROPERTY} if set, else {@link #DEFAULT_MIN_MAPPED_BYTES}. */
    public static long minMappedBytes() {
        String value = System.getProperty(MIN_MAPPED_BYTES_PROPERTY);
        if (value == null || value.isBlank()) return DEFAULT_MIN_MAPPED_BYTES;
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new ImageException("system property " + MIN_MAPPED_BYTES_PROPERTY + "=" + value + " is not a byte count:"
                    + " give a number of bytes, or -1 to copy every file into the initramfs");
        }
    }

    /**
     * The plan for {@code spec}: its binary and its non-writable host files of at least {@code minBytes} bytes mapped
     * through images of {@code cache} (built now if not cached); {@code minBytes < 0} maps nothing.
     *
     * @throws ImageException if a host file cannot be read or an image cannot be built
     */
    public static LoaderPlan of(ArrowSpec spec, ImageCache cache, long minBytes) {
        if (minBytes < 0) return copyAll(spec);
        Optional<ReadOnlyImage> binaryImage = size(spec.binary()) >= minBytes
                ? Optional.of(cache.image(List.of(ImageFile.hostFile(BINARY_NAME, spec.binary(), 0755))))
                : Optional.empty();
        return of(spec, binaryImage, Optional.empty(), cache, minBytes);
    }

    /**
     * The plan for {@code spec} as {@link #of(ArrowSpec, ImageCache, long)} makes it, with its app binary as
     * {@code binary} has it already ({@link AppBinaryCache}, prepared with the same {@code minBytes}): its image, or its
     * bytes for the initramfs. The spec's files are planned now.
     *
     * @throws ImageException if a host file cannot be read or an image cannot be built
     */
    public static LoaderPlan of(ArrowSpec spec, PreparedBinary binary, ImageCache cache, long minBytes) {
        if (minBytes < 0) return copyAll(spec).withBinaryContent(binary.content());
        return of(spec, binary.image(), binary.content(), cache, minBytes);
    }

    private static LoaderPlan of(ArrowSpec spec, Optional<ReadOnlyImage> binaryImage, Optional<CheckedBytes> binaryContent,
                                 ImageCache cache, long minBytes) {
        List<ReadOnlyImage> images = new ArrayList<>();
        List<ImageMounts.MappedFile> mapped = new ArrayList<>();
        String executable = LaunchSpec.DEFAULT_EXECUTABLE;
        boolean binaryCopied = binaryImage.isEmpty();
        if (binaryImage.isPresent()) {
            images.add(binaryImage.get());
            executable = ImageMounts.IMAGES_DIRECTORY + "/0/" + BINARY_NAME;
        }
        List<GuestFile> copied = new ArrayList<>();
        List<ImageFile> dataFiles = new ArrayList<>();
        List<GuestFile> dataGuestFiles = new ArrayList<>();
        for (GuestFile f : spec.files()) {
            if (f.source() instanceof GuestFile.HostFile host && !f.isWritable() && size(host.path()) >= minBytes) {
                int mode = f.mode().isPresent() ? f.mode().getAsInt() : Initramfs.Builder.hostMode(host.path());
                dataFiles.add(ImageFile.hostFile(Integer.toString(dataFiles.size()), host.path(), mode));
                dataGuestFiles.add(f);
            } else {
                copied.add(f);
            }
        }
        if (!dataFiles.isEmpty()) {
            ReadOnlyImage image = cache.image(dataFiles);
            int index = images.size();
            images.add(image);
            for (int i = 0; i < dataFiles.size(); i++) {
                String name = dataFiles.get(i).name();
                long size = image.entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow().size();
                mapped.add(new ImageMounts.MappedFile(index, name, size, GuestPath.of(dataGuestFiles.get(i).guestPath())));
            }
        }
        List<byte[]> uuids = images.stream().map(image -> uuidBytes(image.uuid())).toList();
        return new LoaderPlan(images, ImageMounts.of(uuids, mapped), executable, copied, binaryCopied,
                binaryCopied ? binaryContent : Optional.empty());
    }

    private LoaderPlan withBinaryContent(Optional<CheckedBytes> content) {
        return new LoaderPlan(images, mounts, executable, copiedFiles, binaryCopied, content);
    }

    /** Adds the copied binary to {@code initramfs} at {@code guestPath}: its held bytes, else the file {@code binary}. */
    Initramfs.Builder addBinary(Initramfs.Builder initramfs, String guestPath, Path binary) {
        return binaryContent.isPresent() ? initramfs.file(guestPath, binaryContent.get(), 0755)
                : initramfs.file(guestPath, binary, 0755);
    }

    /**
     * Guest RAM the guest kernel spends on the images: a 64-byte page structure for every 4 KiB page of them (DAX needs
     * them; about 1.6% of the images' size).
     */
    public long guestPageStructBytes() {
        return imageBytes() / 4096 * 64;
    }

    /** The images' length in guest-physical memory, padding included. */
    public long imageBytes() {
        return images.stream().mapToLong(ReadOnlyImage::length).sum();
    }

    /** Bytes the guest reads through images instead of copies in its RAM. */
    public long mappedBytes() {
        return images.stream().flatMap(i -> i.entries().stream()).mapToLong(e -> e.size()).sum();
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new ImageException("cannot read the size of host file " + file + ": " + e.getMessage()
                    + ": pass an existing, readable file", e);
        }
    }

    private static byte[] uuidBytes(UUID uuid) {
        return HexFormat.of().parseHex(uuid.toString().replace("-", ""));
    }
}
