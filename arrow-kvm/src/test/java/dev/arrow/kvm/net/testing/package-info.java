/**
 * The host side of a guest NIC, simulated in Java: {@link dev.arrow.kvm.net.testing.FakeBackend},
 * a network backend whose frames the caller queues and whose sent frames it records, and
 * {@link dev.arrow.kvm.net.testing.PcapSummary}, which reads a capture of the guest's traffic
 * ({@code Net.user().capture(file)}) into lines a failed test can report. Shared by unit
 * tests, fuzz tests and benchmarks (with {@link dev.arrow.kvm.virtio.testing} for the driver side);
 * it lives in arrow-kvm's test sources, out of the production jar, and reaches other modules through
 * arrow-kvm's test-jar.
 */
package dev.arrow.kvm.net.testing;
