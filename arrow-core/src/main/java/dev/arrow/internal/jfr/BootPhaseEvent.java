package dev.arrow.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: one arrow reached one {@link dev.arrow.BootPhase}. Committed when the phase is recorded. */
@Name("dev.arrow.BootPhase")
@Label("Arrow Boot Phase")
@Category({"Arrow"})
@Description("An arrow reached a boot phase; sinceStart is exact (host monotonic clock), the event time is when it was recorded")
@StackTrace(false)
public final class BootPhaseEvent extends Event {
    /** Guest uptime of host phases: JFR shows Long.MIN_VALUE timespans as N/A. */
    public static final long NO_GUEST_UPTIME = Long.MIN_VALUE;

    @Label("Process Id")
    @Description("ArrowProcess.id()")
    public long processId;

    @Label("Phase")
    public String phase;

    @Label("Since Start")
    @Timespan(Timespan.NANOSECONDS)
    public long sinceStart;

    @Label("Guest Uptime")
    @Description("The guest's CLOCK_BOOTTIME when its init reported the phase; N/A for host phases")
    @Timespan(Timespan.NANOSECONDS)
    public long guestUptime = NO_GUEST_UPTIME;
}
