package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.LinuxLimits;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tier 1: every {@link InitProtocol} constant is what init's C source says, read from
 * {@code src/main/c/init.c} (the module directory is the tests' working directory). Sets are compared
 * both ways, so a mark, status kind or port added on one side only fails here.
 */
class InitProtocolSourceTest {
    static String init;

    @BeforeAll
    static void readInit() throws IOException {
        init = Files.readString(Path.of("src/main/c/init.c"));
    }

    /** The values of InitProtocol's String constants whose names pass {@code names}. */
    private static Set<String> constants(Predicate<String> names) {
        Set<String> values = new LinkedHashSet<>();
        for (Field f : InitProtocol.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && names.test(f.getName())) {
                try {
                    values.add((String) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        assertThat(values).as("InitProtocol constants").isNotEmpty();
        return values;
    }

    private static Set<String> matches(String regex, String text) {
        Set<String> found = new LinkedHashSet<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) found.add(m.group(1));
        return found;
    }

    private static String define(String name) {
        Matcher m = Pattern.compile("(?m)^#define " + name + " (.+)$").matcher(init);
        assertThat(m.find()).as("#define %s in init.c", name).isTrue();
        return m.group(1).trim();
    }

    @Test
    void theMarksAreThoseInitReports() {
        assertThat(matches("\\bmark\\(\"([^\"]+)\"\\)", init))
                .containsExactlyInAnyOrderElementsOf(constants(n -> n.startsWith("MARK_") && !n.equals("MARK_PREFIX")));
    }

    @Test
    void theStatusKindsAreThoseInitWrites() {
        Set<String> kinds = matches("\\bstatus\\(\"([^\"]+)\"", init);
        kinds.addAll(matches("\\bvrecord\\(STATUS_PREFIX, \"([^\"]+)\"", init));
        assertThat(kinds).containsExactlyInAnyOrderElementsOf(
                constants(n -> n.startsWith("STATUS_") && !n.equals("STATUS_PREFIX")));
    }

    @Test
    void everyStatusKindButExitedAndSignaledIsAStartFailure() {
        Set<String> tokens = new LinkedHashSet<>();
        Arrays.stream(InitStatus.StartFailure.values()).map(InitStatus.StartFailure::token).forEach(tokens::add);
        tokens.add(InitProtocol.STATUS_EXITED);
        tokens.add(InitProtocol.STATUS_SIGNALED);
        assertThat(tokens).containsExactlyInAnyOrderElementsOf(
                constants(n -> n.startsWith("STATUS_") && !n.equals("STATUS_PREFIX")));
    }

    @Test
    void theLinePrefixesAreInits() {
        assertThat(define("STATUS_PREFIX")).isEqualTo("\"" + InitProtocol.STATUS_PREFIX + "\"");
        assertThat(define("MARK_PREFIX")).isEqualTo("\"" + InitProtocol.MARK_PREFIX + "\"");
        assertThat(init).contains("MARK_PREFIX \" %s %llu\\n\"");
    }

    @Test
    void theStatusPortAndLineLimitAreInits() {
        assertThat(Integer.decode(define("STATUS_PORT"))).isEqualTo(InitProtocol.STATUS_PORT);
        assertThat(define("STATUS_PORT_COUNT")).startsWith(InitProtocol.STATUS_PORT_COUNT + " ");
        assertThat(init).contains("ioperm(STATUS_PORT, STATUS_PORT_COUNT, 1)", "ioperm(STATUS_PORT, STATUS_PORT_COUNT, 0)");
        assertThat(Integer.parseInt(define("STATUS_LINE_MAX"))).isEqualTo(InitProtocol.STATUS_LINE_MAX_BYTES);
    }

    @Test
    void theBytewiseStatusParameterIsTheEnvironmentEntryInitLooksFor() {
        assertThat(define("BYTEWISE_STATUS_PARAMETER")).startsWith("\"" + InitProtocol.BYTEWISE_STATUS_PARAMETER + "\" ");
        assertThat(init).contains("strcmp(*e, BYTEWISE_STATUS_PARAMETER) == 0");
    }

    @Test
    void thePortNamesAreThoseInitLooksFor() {
        String table = init.substring(init.indexOf("VPORT_NAMES[VPORT_COUNT] = {"));
        table = table.substring(0, table.indexOf("};"));
        assertThat(matches("\"([^\"]+)\"", table))
                .containsExactlyInAnyOrderElementsOf(constants(n -> n.endsWith("_PORT_NAME")));
    }

    @Test
    void theSignalCommandIsTheOneInitParses() {
        String prefix = InitProtocol.SIGNAL_COMMAND;
        assertThat(init).contains("strncmp(line, \"" + prefix + "\", " + prefix.length() + ") == 0");
        assertThat(init).contains("parse_decimal(line + " + prefix.length() + ", " + LinuxLimits.MAX_SIGNAL + ", &v)");
        assertThat(InitProtocol.signalCommand(15)).isEqualTo(prefix + "15\n");
    }

    @Test
    void theClockAndEntropyCommandsAreTheOnesInitParses() {
        for (String prefix : List.of(InitProtocol.CLOCK_COMMAND, InitProtocol.ENTROPY_COMMAND)) {
            assertThat(init).contains("strncmp(line, \"" + prefix + "\", " + prefix.length() + ") == 0");
            assertThat(init).contains("(line + " + prefix.length() + ", ");
        }
        assertThat(Integer.parseInt(define("CONTROL_LINE_MAX"))).isEqualTo(InitProtocol.CONTROL_LINE_MAX_BYTES);
    }

    @Test
    void theCopyOutCommandAndChunkAreInits() {
        String prefix = InitProtocol.COPY_OUT_COMMAND;
        assertThat(define("COPY_OUT_COMMAND")).isEqualTo("\"" + prefix + "\"");
        assertThat(init).contains("strncmp(line, COPY_OUT_COMMAND, " + prefix.length() + ") == 0")
                .contains("copy_out_command(line + " + prefix.length() + ")")
                .contains("parse_decimal(number, UINT32_MAX, &id)");
        assertThat(InitProtocol.COPY_OUT_MAX_ID).isEqualTo(0xFFFF_FFFFL);
        assertThat(define("COPY_OUT_CHUNK")).isEqualTo(CopyOutDecoder.CHUNK_BYTES + "u");
        assertThat(init).contains("left -= copy_out(" + InitProtocol.COPY_OUT_EXIT_ID + ", left,");
    }

    @Test
    void theLaunchHeaderAndEntropyBoundsAreInits() {
        assertThat(define("LAUNCH_HEADER")).isEqualTo("\"" + InitProtocol.LAUNCH_HEADER + "\"");
        assertThat(define("ENTROPY_MIN_BYTES")).isEqualTo(InitProtocol.ENTROPY_MIN_BYTES + "u");
        assertThat(define("ENTROPY_MAX_BYTES")).isEqualTo(InitProtocol.ENTROPY_MAX_BYTES + "u");
        assertThat(define("SPEC_MAX_BYTES")).isEqualTo("(16u << 20)");
        assertThat(SpecFile.MAX_BYTES).isEqualTo(16 << 20);
        assertThat(define("INIT_PATH")).isEqualTo("\"" + ArrowInit.GUEST_PATH + "\"");
    }

    @Test
    void theFileRecordsReservedDirectoriesAreInits() {
        String table = init.substring(init.indexOf("reserved[] = {"));
        table = table.substring(0, table.indexOf("};"));
        assertThat(matches("\"([^\"]+)\"", table)).containsExactlyElementsOf(LaunchFile.RESERVED_DIRECTORIES);
    }

    @Test
    void initsHostnameLimitIsLinuxs() {
        assertThat(Integer.parseInt(define("HOSTNAME_MAX"))).isEqualTo(LinuxLimits.HOST_NAME_MAX);
    }
}
