/**
 * The driver side of virtio, simulated in Java: a bump allocator for guest memory
 * ({@link dev.arrow.kvm.virtio.testing.GuestArena}), a split-queue driver that lays out rings and
 * adds well-formed or deliberately malformed chains ({@link dev.arrow.kvm.virtio.testing.QueueDriver}),
 * and a virtio-mmio driver that initializes a transport the way Linux does
 * ({@link dev.arrow.kvm.virtio.testing.VirtioMmioDriver}). Shared by unit tests, fuzz tests and
 * benchmarks. It lives in arrow-kvm's test sources, out of the production jar; other modules use it
 * through arrow-kvm's test-jar (tests at test scope, benchmarks at compile scope).
 */
package dev.arrow.kvm.virtio.testing;
