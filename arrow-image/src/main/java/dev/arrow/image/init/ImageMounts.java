package dev.arrow.image.init;

import dev.arrow.image.GuestPath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The read-only images an arrow's init mounts before the app starts, and the files it binds from them (the
 * application loader, docs/loader.md): spec records {@code image} (the k-th image's EROFS UUID; init finds its
 * virtio-pmem device by it and mounts it read-only with DAX at {@code /arrow/images/k}) and {@code mapped} (a file of
 * an image bound read-only at a guest path, after init checked its size and that it is read through DAX).
 * Immutable; {@link #NONE} mounts nothing.
 */
public final class ImageMounts {
    /** The most images one arrow mounts. */
    public static final int MAX_IMAGES = 8;
    /** Where init mounts image {@code k}: this directory, then {@code /k}. */
    public static final String IMAGES_DIRECTORY = "/arrow/images";
    /** No images. */
    public static final ImageMounts NONE = new ImageMounts(List.of(), List.of());

    /**
     * A file of an image bound read-only at {@code path}.
     *
     * @param image index of its image in {@link #imageUuids()}
     * @param name  the file's name in the image's root directory
     * @param size  its exact size in bytes, which init checks
     * @param path  where the app sees it: the rules of {@link LaunchFile#path()}
     */
    public record MappedFile(int image, String name, long size, GuestPath path) {
        public MappedFile {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(path, "path");
            if (name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0 || name.equals(".") || name.equals(".."))
                throw new InvalidLaunchSpecException("mapped file name '" + name + "' is not a plain file name");
            if (size < 0) throw new InvalidLaunchSpecException("mapped file " + path + " has a negative size " + size);
            LaunchFile.checkPath(path, "mapped file path");
        }

        /** Where init mounts this file's image and finds the file: {@code /arrow/images/<image>/<name>}. */
        public String pathInImage() {
            return IMAGES_DIRECTORY + "/" + image + "/" + name;
        }
    }

    private final List<byte[]> imageUuids;
    private final List<MappedFile> files;

    private ImageMounts(List<byte[]> imageUuids, List<MappedFile> files) {
        this.imageUuids = imageUuids;
        this.files = files;
    }

    /**
     * Images with these EROFS UUIDs (16 bytes each, distinct, at most {@link #MAX_IMAGES}) and files bound from them
     * (each guest path once, each naming one of the images).
     */
    public static ImageMounts of(List<byte[]> imageUuids, List<MappedFile> files) {
        if (imageUuids.size() > MAX_IMAGES)
            throw new InvalidLaunchSpecException(imageUuids.size() + " images; init mounts at most " + MAX_IMAGES);
        List<byte[]> uuids = new ArrayList<>();
        for (byte[] uuid : imageUuids) {
            if (uuid.length != 16) throw new InvalidLaunchSpecException("an image UUID has " + uuid.length + " bytes, not 16");
            for (byte[] seen : uuids)
                if (Arrays.equals(seen, uuid))
                    throw new InvalidLaunchSpecException("image " + HexFormat.of().formatHex(uuid) + " given twice");
            uuids.add(uuid.clone());
        }
        List<GuestPath> paths = new ArrayList<>();
        for (MappedFile f : files) {
            if (f.image() < 0 || f.image() >= uuids.size())
                throw new InvalidLaunchSpecException("mapped file " + f.path() + " names image " + f.image() + " of "
                        + uuids.size());
            if (paths.contains(f.path())) throw new InvalidLaunchSpecException("mapped file " + f.path() + " given twice");
            paths.add(f.path());
        }
        return new ImageMounts(List.copyOf(uuids), List.copyOf(files));
    }

    /** The images' UUIDs, image {@code k} at index {@code k} (copies). */
    public List<byte[]> imageUuids() {
        return imageUuids.stream().map(byte[]::clone).toList();
    }

    /** The files bound from the images. */
    public List<MappedFile> files() {
        return files;
    }

    /** Whether there is nothing to mount. */
    public boolean isEmpty() {
        return imageUuids.isEmpty();
    }

    /** Appends the {@code image} and {@code mapped} records of these mounts, in init's order. */
    void writeRecords(SpecRecords out) {
        for (byte[] uuid : imageUuids) out.record("image", HexFormat.of().formatHex(uuid));
        for (MappedFile f : files) out.record("mapped", f.image() + " " + f.name() + " " + f.size() + " " + f.path().value());
    }

    /** Where {@link #writeRecords} puts its records. */
    interface SpecRecords {
        void record(String key, String value);
    }
}
