/**
 * The host side of a guest's network card: backends that exchange Ethernet frames with a network
 * on the host, and the guest's address plan.
 *
 * <ul>
 *   <li>{@link dev.arrow.kvm.net.NetworkBackend}: the contract (send a frame; a reader thread owned
 *       by the backend fills a {@link dev.arrow.kvm.net.FrameInbox} and tells a listener).</li>
 *   <li>{@code AbstractNetworkBackend}: what both backends share (health, the listener, failure
 *       reporting, the inbox, the reader thread, the counters, the close order); each adds its
 *       transport. Set-up failures are {@link dev.arrow.kvm.net.NetworkBackendException}s with a
 *       reason.</li>
 *   <li>{@link dev.arrow.kvm.net.PasstBackend}: user-mode networking without privileges, one passt
 *       process per guest on a private Unix socket ({@link dev.arrow.kvm.net.PasstFrameCodec}); the
 *       host's loopback stays out of the guest's reach unless allowed
 *       ({@link dev.arrow.kvm.net.HostLoopbackGuard}, {@code LoopbackUdpReplies}). The process is
 *       {@code PasstProcess}'s: forwarded host ports are checked first
 *       ({@link dev.arrow.kvm.net.HostPorts}), passt is started with
 *       {@link dev.arrow.kvm.net.PasstCommand} and dies with the JVM ({@code SpawnThread},
 *       {@code setpriv --pdeathsig}), a failed start is explained from passt's log
 *       ({@code PasstLog}), and the private directories of dead JVMs are swept
 *       ({@code OwnedDirectory}).</li>
 *   <li>{@link dev.arrow.kvm.net.TapBackend}: an existing host TAP device.</li>
 *   <li>{@link dev.arrow.kvm.net.FrameCapture}: the pcap file of a guest's traffic, written by the
 *       virtio-net device whatever the backend.</li>
 *   <li>{@link dev.arrow.kvm.net.GuestNetwork}: MAC, IPv4 address, prefix, gateway, DNS and MTU, the
 *       same value for passt's options, the virtio-net configuration space and init's spec.</li>
 * </ul>
 *
 * <p>Facts about Debian 12's passt (0.0~git20230309) this package relies on: with
 * {@code --foreground} it stays our child; with {@code --one-off} it exits when our connection
 * closes (also when the JVM dies); Arrow starts it as uid 65534 when root (so the socket directory
 * belongs to that user); with {@code --no-map-gw} it no longer maps the gateway to 127.0.0.1 but
 * still connects to any other destination a frame names, loopback ones included, and still
 * forwards DNS to a loopback resolver; it exits with "Failed to bind any port" when a
 * forwarded port is taken; it addresses frames for a guest it has not heard from to the broadcast
 * MAC, which the guest's TCP drops, and sends the SYN of a connection to a forwarded port once, resetting
 * it after 10 s without an answer (so {@link dev.arrow.kvm.net.PasstBackend} introduces the guest as soon as
 * passt starts); its {@code --debug} logging crashes it
 * on the first TCP connection (never pass it); its {@code --pcap} calls {@code gettimeofday}, which
 * its seccomp filter kills it for where that is a real system call (a host clock without vDSO).
 */
package dev.arrow.kvm.net;
