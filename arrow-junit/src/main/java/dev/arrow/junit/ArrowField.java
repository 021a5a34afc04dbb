package dev.arrow.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Says which {@link RunArrow} field an {@link dev.arrow.ArrowProcess} parameter is the started arrow of, e.g.
 * {@code void test(@ArrowField("db") ArrowProcess db, @ArrowField("app") ArrowProcess app)}. Needed only when
 * more than one arrow could be meant; a class with one {@link RunArrow} field needs no qualifier. Fields of an
 * enclosing and a {@code @Nested} class that share a name cannot be told apart: rename one.
 *
 * <p>Test methods and {@code @BeforeEach}/{@code @AfterEach} methods see every arrow of the test (its own, its
 * clones and its class's); {@code @BeforeAll}/{@code @AfterAll} methods see the class's static, non-template
 * arrows only.
 */
@Target(ElementType.PARAMETER)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface ArrowField {

    /** The name of the {@link RunArrow} field. */
    String value();
}
