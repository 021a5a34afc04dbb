package dev.arrow.image.mapped;

import java.nio.file.Path;

/**
 * The other JVM of {@link ImageCacheTest}'s race: prints "ready", then asks the cache in {@code args[0]} for the
 * images of {@link ImageCacheTest#raceRound} 0 to {@code args[2]} - 1 (host file {@code args[1]}), printing each path.
 */
public final class ImageCacheRaceMain {
    private ImageCacheRaceMain() {
    }

    public static void main(String[] args) {
        ImageCache cache = new ImageCache(Path.of(args[0]));
        System.out.println("ready");
        System.out.flush();
        for (int round = 0; round < Integer.parseInt(args[2]); round++) {
            System.out.println(cache.image(ImageCacheTest.raceRound(round, Path.of(args[1]))).path());
        }
    }
}
