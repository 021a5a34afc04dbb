package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.net.OwnedDirectory.Owner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnedDirectoryTest {
    static final String PREFIX = "arrow-test-";

    @TempDir
    Path base;

    Path dirOf(Owner owner) throws IOException {
        Path dir = Files.createDirectory(base.resolve(OwnedDirectory.name(PREFIX, owner)));
        Files.writeString(dir.resolve("passt.log"), "what passt said");
        Files.createDirectory(dir.resolve("sock"));
        return dir;
    }

    @Test
    void aNameRecordsItsOwnerAndIsReadBack() {
        Owner self = Owner.self();
        String name = OwnedDirectory.name(PREFIX, self);
        assertThat(name).startsWith(PREFIX + ProcessHandle.current().pid() + "-" + self.startTicks() + "-"
                + self.pidNamespace() + "-").hasSizeLessThanOrEqualTo(OwnedDirectory.maxNameLength(PREFIX));
        assertThat(OwnedDirectory.ownerOf(PREFIX, name)).contains(self);
        assertThat(OwnedDirectory.name(PREFIX, self)).as("random part").isNotEqualTo(name);
        Owner largest = new Owner(4194304, Long.MAX_VALUE, Long.MAX_VALUE);
        assertThat(OwnedDirectory.name(PREFIX, largest)).hasSize(OwnedDirectory.maxNameLength(PREFIX));
    }

    @Test
    void namesOfAnyOtherFormHaveNoOwner() {
        for (String name : List.of("arrow-passt-1234567890", PREFIX + "1-2-3", PREFIX + "1-2-3-0123456g", PREFIX
                + "1-2-3-01234567-x", "other-1-2-3-01234567", PREFIX + "12345678-2-3-01234567", PREFIX + "-1-2-3-01234567")) {
            assertThat(OwnedDirectory.ownerOf(PREFIX, name)).as(name).isEmpty();
        }
    }

    @Test
    void thisJvmIsItsOwnOwnerAndAlive() {
        Owner self = Owner.self();
        assertThat(self.pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(self.isAlive()).isTrue();
        assertThat(new Owner(self.pid(), self.startTicks() + 1, self.pidNamespace()).isAlive())
                .as("a reused pid").isFalse();
    }

    @Test
    void createMakesADirectoryOfThisJvmWithThePermissionsAsked() throws IOException {
        Path dir = OwnedDirectory.create(base, PREFIX, PosixFilePermissions.fromString("rwx--x--x"));
        assertThat(OwnedDirectory.ownerOf(PREFIX, dir.getFileName().toString())).contains(Owner.self());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx--x--x");
    }

    @Test
    void theSweepRemovesTheDirectoriesOfGoneOwnersOnly() throws Exception {
        Owner self = Owner.self();
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            OptionalLong started = OwnedDirectory.readStartTicks(sleeper.pid());
            assertThat(started).isPresent();
            Owner live = new Owner(sleeper.pid(), started.getAsLong(), self.pidNamespace());
            Path mine = dirOf(self);
            Path ofALiveProcess = dirOf(live);
            Path ofAReusedPid = dirOf(new Owner(self.pid(), self.startTicks() + 1, self.pidNamespace()));
            Path ofAnotherNamespace = dirOf(new Owner(self.pid() + 1, 1, self.pidNamespace() + 1));
            Path unrelated = Files.createDirectory(base.resolve(PREFIX + "not-ours"));
            Path aFile = Files.writeString(base.resolve(OwnedDirectory.name(PREFIX,
                    new Owner(self.pid(), self.startTicks() + 2, self.pidNamespace()))), "a file, not a directory");

            assertThat(OwnedDirectory.sweep(base, PREFIX)).containsExactly(ofAReusedPid);
            assertThat(ofAReusedPid).doesNotExist();
            assertThat(List.of(mine, ofALiveProcess, ofAnotherNamespace, unrelated, aFile)).allMatch(Files::exists);

            sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            assertThat(OwnedDirectory.sweep(base, PREFIX)).containsExactly(ofALiveProcess);
            assertThat(List.of(mine, ofAnotherNamespace, unrelated, aFile)).allMatch(Files::exists);
        } finally {
            sleeper.destroyForcibly();
        }
    }

    @Test
    void theSweepFollowsNoLinkAndLeavesOtherUsersDirectoriesAlone() throws Exception {
        Owner gone = new Owner(Owner.self().pid(), Owner.self().startTicks() + 1, Owner.self().pidNamespace());
        Path target = Files.createDirectory(base.resolve("target"));
        Files.writeString(target.resolve("precious"), "keep me");
        Path link = Files.createSymbolicLink(base.resolve(OwnedDirectory.name(PREFIX, gone)), target);
        assertThat(OwnedDirectory.sweep(base, PREFIX)).isEmpty();
        assertThat(link).exists();
        assertThat(target.resolve("precious")).exists();
        assumeTrue(NetLibC.geteuid() == 0, "only root can give a directory to another user");
        Path othersDir = dirOf(gone);
        Files.setAttribute(othersDir, "unix:uid", PasstCommand.NOBODY);
        assertThat(OwnedDirectory.sweep(base, PREFIX)).isEmpty();
        assertThat(othersDir).exists();
    }

    @Test
    void aMissingBaseIsNothingToSweep() {
        assertThat(OwnedDirectory.sweep(base.resolve("absent"), PREFIX)).isEmpty();
    }

    @Test
    void theStartTimeIsField22AlsoWhenTheCommandNameHoldsSpacesAndParentheses() {
        String stat = "4711 (a) b (c)) S 1 4711 4711 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 999 88";
        assertThat(OwnedDirectory.startTicksOf(stat)).hasValue(123456);
        assertThat(OwnedDirectory.startTicksOf("4711 (x) S 1 2")).isEmpty();
        assertThat(OwnedDirectory.startTicksOf("garbage")).isEmpty();
    }
}
