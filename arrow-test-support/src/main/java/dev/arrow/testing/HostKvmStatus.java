package dev.arrow.testing;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * What arrow-kvm's {@code dev.arrow.kvm.HostKvm.detect()} says of this host, for the tier conditions.
 * HostKvm is looked up by name: arrow-test-support depends on no Arrow module, so that arrow-kvm's
 * own tests can use it (a dependency on arrow-kvm would be a cycle). arrow-kvm's
 * {@code HostKvmStatusTest} checks that this view agrees with HostKvm itself.
 *
 * @param usable       {@code HostKvm.usable()}: /dev/kvm runs tiny guests
 * @param canBootLinux {@code HostKvm.canBootLinux()}: a Linux guest boots to user space
 * @param description  {@code HostKvm.description()}: one line naming what this host's KVM is
 */
public record HostKvmStatus(boolean usable, boolean canBootLinux, String description) {
    static final String HOST_KVM = "dev.arrow.kvm.HostKvm";

    /** Detects this host's KVM through arrow-kvm, which must be on the class path. */
    public static HostKvmStatus detect() {
        try {
            Class<?> type = Class.forName(HOST_KVM);
            Object host = type.getMethod("detect").invoke(null);
            return new HostKvmStatus((Boolean) call(type, host, "usable"), (Boolean) call(type, host, "canBootLinux"),
                    (String) call(type, host, "description"));
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(HOST_KVM + " is not on the class path: a module with @KvmTest or @BootTest "
                    + "tests must depend on arrow-kvm", e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot ask " + HOST_KVM + " about this host: " + e, e);
        }
    }

    private static Object call(Class<?> type, Object host, String name) throws ReflectiveOperationException {
        Method m = type.getMethod(name);
        try {
            return m.invoke(host);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(HOST_KVM + "." + name + "() failed", e.getCause());
        }
    }
}
