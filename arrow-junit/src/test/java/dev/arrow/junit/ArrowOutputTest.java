package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import org.junit.jupiter.api.Test;

import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Tier 1: what {@link ArrowOutput} says about an arrow's output. */
class ArrowOutputTest {

    /** The field the outputs below are of (this class is no {@link ArrowTest}: nothing starts it). */
    @RunArrow
    Arrow app;

    private static DeclaredArrow field() throws NoSuchFieldException {
        return new DeclaredArrow(ArrowOutputTest.class.getDeclaredField("app"), false);
    }

    @Test
    void showsTheLinesPrintedSoFarTaggedWithTheirStream() throws Exception {
        try (ArrowProcess p = Arrow.of(FakeBackend.binary()).launcher(new FakeBackend("one\ntwo\n")).start()) {
            assertThat(ArrowOutput.of(field(), p)).hasMessage("output of @RunArrow field ArrowOutputTest.app, " + p
                    + ":\n  STDOUT: one\n  STDOUT: two");
        }
    }

    @Test
    void showsTheLastLinesOfALongOutput() throws Exception {
        String lines = IntStream.rangeClosed(1, 150).mapToObj(i -> "line " + i + "\n").collect(Collectors.joining());
        try (ArrowProcess p = Arrow.of(FakeBackend.binary()).launcher(new FakeBackend(lines)).start()) {
            String message = ArrowOutput.of(field(), p).getMessage();

            assertThat(message).startsWith("output of @RunArrow field ArrowOutputTest.app, " + p
                    + ", the last " + ArrowOutput.MAX_LINES + " of the 150 lines kept:\n  STDOUT: line 51\n");
            assertThat(message).endsWith("\n  STDOUT: line 150").doesNotContain("line 50\n");
            assertThat(message.lines()).hasSize(1 + ArrowOutput.MAX_LINES);
        }
    }

    @Test
    void saysWhenTheArrowPrintedNothing() throws Exception {
        try (ArrowProcess p = Arrow.of(FakeBackend.binary()).launcher(new FakeBackend("")).start()) {
            assertThat(ArrowOutput.of(field(), p)).hasMessageEndingWith(p + ": it printed nothing");
        }
    }
}
