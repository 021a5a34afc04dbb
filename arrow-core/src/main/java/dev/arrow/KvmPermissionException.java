package dev.arrow;

import java.nio.file.Path;

/** {@code /dev/kvm} exists but this JVM's user may not open it. */
public class KvmPermissionException extends UnsupportedHostException {

    private static final long serialVersionUID = 1L;

    public KvmPermissionException(String message) {
        super(message);
    }

    public KvmPermissionException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Opening {@code device} as {@code user} failed with EACCES. */
    public static KvmPermissionException denied(Path device, String user) {
        return new KvmPermissionException("permission denied opening " + device + " (EACCES) as user " + user
                + "; add the user to group kvm (sudo usermod -aG kvm " + user + ") and log in again");
    }
}
