package dev.arrow.junit;

import dev.arrow.Arrow;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.ModifierSupport;
import org.junit.platform.commons.support.ReflectionSupport;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link RunArrow} field of a test class, checked: declared as {@link Arrow}, {@code template} on static fields
 * only, its name unique among the class's {@link RunArrow} fields (parameters name it, see {@link ArrowField}).
 */
record DeclaredArrow(Field field, boolean template) {

    /**
     * The {@link RunArrow} fields of {@code testClass} and its superclasses, static and instance ones.
     *
     * @throws ExtensionConfigurationException naming the field and the fix, for the first field declared wrongly
     */
    static List<DeclaredArrow> of(Class<?> testClass) {
        List<DeclaredArrow> declared = AnnotationSupport.findAnnotatedFields(testClass, RunArrow.class).stream()
                .map(DeclaredArrow::checked).toList();
        Map<String, DeclaredArrow> byName = new HashMap<>();
        for (DeclaredArrow d : declared) {
            DeclaredArrow other = byName.putIfAbsent(d.name(), d);
            if (other != null) {
                throw new ExtensionConfigurationException("two @RunArrow fields are named '" + d.name() + "' ("
                        + other.describe() + " and " + d.describe() + "): rename one, since @ArrowField names a field");
            }
        }
        return declared;
    }

    private static DeclaredArrow checked(Field field) {
        if (field.getType() != Arrow.class) {
            throw new ExtensionConfigurationException("@RunArrow field " + qualifiedName(field) + " is declared as "
                    + field.getType().getName() + ": declare it as " + Arrow.class.getName() + ", the builder the extension starts");
        }
        boolean template = field.getAnnotation(RunArrow.class).template();
        if (template && !ModifierSupport.isStatic(field)) {
            throw new ExtensionConfigurationException("@RunArrow(template = true) field " + qualifiedName(field)
                    + " is not static, but a template is booted once per class: make the field static, or drop"
                    + " template = true to start a fresh arrow for each test");
        }
        return new DeclaredArrow(field, template);
    }

    /** "HttpdTest.httpd". */
    private static String qualifiedName(Field field) {
        return field.getDeclaringClass().getSimpleName() + "." + field.getName();
    }

    /** Whether the arrow belongs to the class (started once, or its template booted once) rather than to each test. */
    boolean isStatic() {
        return ModifierSupport.isStatic(field);
    }

    /** The field's name, which {@link ArrowField} gives. */
    String name() {
        return field.getName();
    }

    /** "@RunArrow field HttpdTest.httpd", for messages. */
    String describe() {
        return "@RunArrow field " + qualifiedName(field);
    }

    /**
     * The builder the field holds in {@code testInstance} (null for a static field).
     *
     * @throws ExtensionConfigurationException if the field is null or cannot be read
     */
    Arrow read(Object testInstance) {
        Object value = ReflectionSupport.tryToReadFieldValue(field, testInstance).getOrThrow(e ->
                new ExtensionConfigurationException("cannot read " + describe() + ": " + e, e));
        if (value == null) {
            throw new ExtensionConfigurationException(describe() + " is null: assign it the arrow to start, e.g. "
                    + "Arrow.of(Path.of(\"/bin/busybox\")).args(...)");
        }
        return (Arrow) value;
    }
}
