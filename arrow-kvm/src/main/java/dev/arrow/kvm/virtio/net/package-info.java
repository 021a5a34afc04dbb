/**
 * The virtio network card ({@link dev.arrow.kvm.virtio.net.VirtioNet}) and its frame header
 * ({@link dev.arrow.kvm.virtio.net.VirtioNetHeader}). The device sits behind a
 * {@link dev.arrow.kvm.virtio.VirtioMmioTransport} and in front of a
 * {@link dev.arrow.kvm.net.NetworkBackend}; it owns no thread: transmit work runs on the vCPU
 * thread that notified the queue, receive work on whichever thread runs the transport's host
 * tasks (by default the backend's reader thread), always under the transport's lock.
 */
package dev.arrow.kvm.virtio.net;
