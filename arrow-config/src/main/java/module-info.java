/**
 * The arrow spec: what to run and how (binary, arguments, environment, files, memory, network), its
 * validation, and its JSON form. Used by the API ({@code dev.arrow}) and by every backend.
 */
module dev.arrow.config {
    // optional: only ArrowSpecJson (the JSON form) needs it, and says so when it is missing
    requires static com.fasterxml.jackson.databind;

    exports dev.arrow.config;
}
