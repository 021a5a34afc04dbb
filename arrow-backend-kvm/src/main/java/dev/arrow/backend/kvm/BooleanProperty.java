package dev.arrow.backend.kvm;

import dev.arrow.VmmException;
import java.util.Locale;

/** An on/off system property of the backend: unset or blank is {@code true}; anything but true or false fails. */
final class BooleanProperty {
    private BooleanProperty() {
    }

    /**
     * The value of system property {@code name}.
     *
     * @param whatFalseDoes what {@code -Dname=false} does, for the error ("to leave free page reporting out")
     * @param whatUnsetDoes what leaving it unset does, appended to "or leave it unset" ("" to say nothing more)
     * @throws VmmException if the property is neither {@code true} nor {@code false}, naming the fix
     */
    static boolean read(String name, String whatFalseDoes, String whatUnsetDoes) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            return true;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new VmmException("system property " + name + "=" + value + " is neither true nor false:"
                    + " give -D" + name + "=false " + whatFalseDoes + ", or leave it unset" + whatUnsetDoes);
        };
    }
}
