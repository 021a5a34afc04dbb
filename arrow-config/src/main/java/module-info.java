/**
 * The arrow spec: what to run and how (binary, arguments, environment, files, memory, network), its
 * validation, and its JSON form. Used by the API ({@code dev.arrow}) and by every backend.
 */
module dev.arrow.config {
    requires com.fasterxml.jackson.databind;

    exports dev.arrow.config;
}
