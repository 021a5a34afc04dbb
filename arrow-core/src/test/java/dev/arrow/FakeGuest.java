package dev.arrow;

/** A guest program for {@link FakeLauncher}: runs on the session's thread and returns its outcome. */
@FunctionalInterface
interface FakeGuest {

    ArrowOutcome run(FakeSession.Context guest) throws Exception;
}
