/**
 * Arrow's public API: {@code Arrow} builds and starts an arrow, {@code ArrowProcess} is its handle. A backend
 * (the KVM one is {@code dev.arrow.backend.kvm}) implements {@code dev.arrow.spi} and is found with
 * {@link java.util.ServiceLoader}; {@code dev.arrow.internal} is not exported.
 */
module dev.arrow {
    requires transitive dev.arrow.config;
    requires transitive org.slf4j; // Slf4jLogConsumer takes a Logger
    requires jdk.jfr;

    exports dev.arrow;
    exports dev.arrow.spi;

    uses dev.arrow.spi.ArrowLauncher;
}
