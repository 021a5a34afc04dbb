package dev.arrow.image.init;

import java.io.ByteArrayOutputStream;
import java.util.Objects;

/**
 * What the host writes to {@value InitProtocol#CONTROL_PORT_NAME} to start a clone of a template that waits at its
 * template point ({@link InitProtocol#MARK_TEMPLATE_POINT}): the ASCII line {@code spec <length>\n} followed by exactly
 * {@code <length>} bytes of the clone's spec file ({@link SpecFile}). Init then goes on as a cold boot does after
 * reading {@value SpecFile#GUEST_PATH}. The spec must have {@link Stdio#VIRTIO} (a template's clone talks over the
 * virtio console) and is bounded by {@link SpecFile#MAX_BYTES}.
 */
public final class LaunchMessage {
    private LaunchMessage() {
    }

    /** The message's bytes: header line and spec. */
    public static byte[] encode(LaunchSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.stdio() != Stdio.VIRTIO)
            throw new InvalidLaunchSpecException("a template's clone is launched over the virtio console, but its spec has stdio "
                    + spec.stdio().specName() + ": build it with stdio(Stdio.VIRTIO)");
        byte[] body = SpecFile.encode(spec);
        byte[] header = InitProtocol.launchHeader(body.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(header.length + body.length);
        out.writeBytes(header);
        out.writeBytes(body);
        return out.toByteArray();
    }
}
