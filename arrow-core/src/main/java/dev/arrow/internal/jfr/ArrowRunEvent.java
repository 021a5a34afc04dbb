package dev.arrow.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: one arrow's life, from {@code Arrow.start()} to the guest's end (a duration event). */
@Name("dev.arrow.Run")
@Label("Arrow Run")
@Category({"Arrow"})
@Description("An arrow from Arrow.start() until its guest ended")
@StackTrace(false)
public final class ArrowRunEvent extends Event {
    @Label("Process Id")
    public long processId;

    @Label("Binary")
    public String binary;

    @Label("Outcome")
    public String outcome;

    @Label("Start To App Exec")
    @Timespan(Timespan.NANOSECONDS)
    public long startToAppExec = Long.MIN_VALUE;

    @Label("Start To First Output")
    @Timespan(Timespan.NANOSECONDS)
    public long startToFirstOutput = Long.MIN_VALUE;
}
