package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.ArrowException;
import dev.arrow.GuestFailureException;
import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidKernelException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NetworkSetupException;
import dev.arrow.VmmException;
import dev.arrow.image.cpio.InitramfsException;
import dev.arrow.image.elf.BinaryCheckException;
import dev.arrow.image.kernel.KernelFormatException;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.kvm.GuestFaultException;
import dev.arrow.kvm.HostKvmUnusableException;
import dev.arrow.kvm.KvmAccessDeniedException;
import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.loader.KernelLoadException;
import dev.arrow.kvm.net.NetworkBackendException;
import dev.arrow.kvm.x86.BootSetupException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The table from the lower layers' exceptions to the API's: each row keeps the message and the cause. */
class ApiExceptionsTest {

    static Stream<Arguments> imageFailures() {
        return Stream.of(
                Arguments.of(new BinaryCheckException(BinaryCheckException.Reason.NOT_ELF, Path.of("app"), "app is not ELF"),
                        InvalidBinaryException.class),
                Arguments.of(new KernelLookupException("no kernel"), KernelNotFoundException.class),
                Arguments.of(new KernelFormatException("not a kernel"), InvalidKernelException.class),
                Arguments.of(new InitramfsException("file changed size"), GuestFailureException.class));
    }

    static Stream<Arguments> vmmFailures() {
        return Stream.of(
                Arguments.of(new KvmAccessDeniedException("may not open /dev/kvm"), KvmPermissionException.class),
                Arguments.of(new HostKvmUnusableException("no /dev/kvm"), KvmUnavailableException.class),
                Arguments.of(new KernelLoadException("bad ELF header"), InvalidKernelException.class),
                Arguments.of(new NetworkBackendException(NetworkBackendException.Reason.PORT_IN_USE, "port 8080 is taken"),
                        NetworkSetupException.class),
                Arguments.of(new KvmApiException("KVM_CREATE_VM", 12, "out of memory"), VmmException.class),
                Arguments.of(new BootSetupException("no room for the command line"), VmmException.class),
                Arguments.of(new GuestFaultException("triple fault"), VmmException.class));
    }

    @ParameterizedTest
    @MethodSource("imageFailures")
    void anImageFailureBecomesItsApiException(dev.arrow.image.ImageException lower, Class<? extends ArrowException> api) {
        assertTranslated(ApiExceptions.of(lower), lower, api);
    }

    @ParameterizedTest
    @MethodSource("vmmFailures")
    void aVmmFailureBecomesItsApiException(dev.arrow.kvm.KvmException lower, Class<? extends ArrowException> api) {
        assertTranslated(ApiExceptions.of(lower), lower, api);
    }

    @ParameterizedTest
    @EnumSource(NetworkBackendException.Reason.class)
    void everyNetworkReasonKeepsItsNameInTheApi(NetworkBackendException.Reason reason) {
        NetworkSetupException translated = (NetworkSetupException) ApiExceptions.of(
                new NetworkBackendException(reason, "failed"));
        assertThat(translated.reason().name()).isEqualTo(reason.name());
        assertThat(NetworkSetupException.Reason.values()).hasSameSizeAs(NetworkBackendException.Reason.values());
    }

    /** Issue 18: a simple class name names one class in the whole library (no two NetworkSetupExceptions). */
    @Test
    void noSimpleClassNameIsDefinedTwiceAcrossTheModules() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        Map<String, String> seen = new TreeMap<>();
        Map<String, String> duplicates = new TreeMap<>();
        try (Stream<Path> modules = Files.list(root)) {
            modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).forEach(sources -> {
                try (Stream<Path> files = Files.walk(sources)) {
                    files.filter(f -> f.toString().endsWith(".java")).forEach(f -> {
                        String name = f.getFileName().toString();
                        if (name.equals("package-info.java") || name.equals("module-info.java")) return;
                        String where = root.relativize(f).toString();
                        String before = seen.putIfAbsent(name, where);
                        if (before != null) duplicates.put(name, before + " and " + where);
                    });
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        assertThat(seen).hasSizeGreaterThan(200);
        assertThat(duplicates).isEmpty();
    }

    private static void assertTranslated(ArrowException translated, RuntimeException lower,
            Class<? extends ArrowException> api) {
        assertThat(translated).isExactlyInstanceOf(api).hasCause(lower);
        assertThat(translated.getMessage()).endsWith(lower.getMessage());
    }
}
