package dev.arrow.kvm.device;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A 16550A-compatible UART, as much of one as Linux's 8250 driver uses: the eight registers at
 * offsets 0..7 (THR/RBR and IER, or the divisor latch when LCR.DLAB is set; IIR/FCR; LCR; MCR
 * with loopback; LSR; MSR; scratch), a 16-byte receive FIFO (1 byte with FIFOs off) and a
 * transmitter that sends every byte at once to the output stream.
 *
 * <p>Interrupts follow the 16550 priority order (line status, received data, transmitter
 * empty, modem status), masked by IER; {@link InterruptTrigger#trigger()} is called whenever a
 * source becomes pending that was not pending before (edge semantics, as for ISA IRQ 4). The
 * transmitter-empty interrupt is raised when ETBEI goes from 0 to 1 with an empty transmitter
 * and after each transmitted byte, and cleared by reading IIR while it is the reported source or
 * by writing THR. Interrupts are not gated by MCR.OUT2. Character timeouts and receive trigger
 * levels are not modelled: received data interrupts as soon as one byte is there.
 *
 * <p>Host input goes in through {@link #receive}, which accepts what fits in the FIFO; when the
 * guest frees space after a short accept, the optional {@code inputSpaceAvailable} callback runs
 * (on the vCPU thread, under this device's lock: it should only signal). In loopback mode the
 * input line is disconnected: transmitted bytes come back as received ones and host input is not
 * accepted.
 *
 * <p>State: {@link #state()} captures the registers, the pending transmitter-empty interrupt and
 * the bytes in the receive FIFO as a {@link State}; {@link #restore} builds a UART that continues
 * from it. Nothing is buffered on the host side (transmitted bytes leave at once), so a state can
 * be captured at any time.
 *
 * <p>Thread-safe: all methods synchronize on the device. The output stream is written and flushed
 * per byte while the lock is held; an {@link IOException} from it is logged once and the byte is
 * counted in {@link #droppedOutputBytes()}.
 */
public final class Serial8250 implements BusDevice {

    private static final Logger log = LoggerFactory.getLogger(Serial8250.class);

    // Register offsets.
    public static final int RBR_THR_DLL = 0;
    public static final int IER_DLM = 1;
    public static final int IIR_FCR = 2;
    public static final int LCR = 3;
    public static final int MCR = 4;
    public static final int LSR = 5;
    public static final int MSR = 6;
    public static final int SCR = 7;
    public static final int REGISTER_COUNT = 8;

    // IER bits.
    public static final int IER_RDI = 0x01;
    public static final int IER_THRI = 0x02;
    public static final int IER_RLSI = 0x04;
    public static final int IER_MSI = 0x08;
    // IIR values.
    public static final int IIR_NO_INTERRUPT = 0x01;
    public static final int IIR_MSI = 0x00;
    public static final int IIR_THRI = 0x02;
    public static final int IIR_RDI = 0x04;
    public static final int IIR_RLSI = 0x06;
    public static final int IIR_FIFO_ENABLED = 0xc0;
    // FCR bits.
    public static final int FCR_ENABLE_FIFO = 0x01;
    public static final int FCR_CLEAR_RCVR = 0x02;
    public static final int FCR_CLEAR_XMIT = 0x04;
    // LCR bits.
    public static final int LCR_DLAB = 0x80;
    // MCR bits.
    public static final int MCR_DTR = 0x01;
    public static final int MCR_RTS = 0x02;
    public static final int MCR_OUT1 = 0x04;
    public static final int MCR_OUT2 = 0x08;
    public static final int MCR_LOOP = 0x10;
    // LSR bits.
    public static final int LSR_DR = 0x01;
    public static final int LSR_OE = 0x02;
    public static final int LSR_THRE = 0x20;
    public static final int LSR_TEMT = 0x40;
    // MSR bits.
    public static final int MSR_DCTS = 0x01;
    public static final int MSR_DDSR = 0x02;
    public static final int MSR_TERI = 0x04;
    public static final int MSR_DDCD = 0x08;
    public static final int MSR_CTS = 0x10;
    public static final int MSR_DSR = 0x20;
    public static final int MSR_RI = 0x40;
    public static final int MSR_DCD = 0x80;

    /** Receive FIFO depth of a 16550A. */
    public static final int FIFO_SIZE = 16;

    /** Modem lines seen by the guest outside loopback: carrier, data set ready, clear to send. */
    private static final int MSR_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS;

    // Interrupt source bits for edge detection.
    private static final int SRC_LINE = 1;
    private static final int SRC_DATA = 2;
    private static final int SRC_THRE = 4;
    private static final int SRC_MODEM = 8;

    private final InterruptTrigger interrupt;
    private final OutputStream output;
    private final Runnable inputSpaceAvailable;

    private int ier;
    private int lcr = 0x03; // 8 data bits, no parity, 1 stop bit
    private int mcr = MCR_OUT2;
    private int scr;
    private int dll = 12; // 9600 baud from the 1.8432 MHz clock
    private int dlm;
    private boolean fifoEnabled;
    private boolean overrun;
    private int msr = MSR_CONNECTED;
    private boolean thrInterruptPending;
    private final byte[] rx = new byte[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private boolean inputBlocked;
    private long droppedOutputBytes;
    private long transmittedBytes;
    private boolean outputFailureLogged;

    public Serial8250(InterruptTrigger interrupt, OutputStream output) {
        this(interrupt, output, null);
    }

    /**
     * @param interrupt           raised on a new pending interrupt source
     * @param output              receives every transmitted byte (outside loopback)
     * @param inputSpaceAvailable run when the guest has made room after {@link #receive} could
     *                            not take everything; may be null
     */
    public Serial8250(InterruptTrigger interrupt, OutputStream output, Runnable inputSpaceAvailable) {
        if (interrupt == null || output == null) {
            throw new IllegalArgumentException("interrupt trigger and output stream are required");
        }
        this.interrupt = interrupt;
        this.output = output;
        this.inputSpaceAvailable = inputSpaceAvailable;
    }

    /**
     * The guest-visible state of a UART (as vm-superio's {@code SerialState}): the registers, the
     * divisor latch, whether a transmitter-empty interrupt is pending, an overrun not yet reported,
     * and the received bytes the guest has not read yet ({@code receiveFifo}, oldest first).
     */
    public record State(int ier, int lcr, int mcr, int scr, int dll, int dlm, int msr, boolean fifoEnabled,
                        boolean overrun, boolean thrInterruptPending, byte[] receiveFifo) {
        /** @throws IllegalArgumentException naming the register that no UART could hold */
        public State {
            checkBits("IER", ier, 0x0f);
            checkBits("LCR", lcr, 0xff);
            checkBits("MCR", mcr, 0x1f);
            checkBits("SCR", scr, 0xff);
            checkBits("DLL", dll, 0xff);
            checkBits("DLM", dlm, 0xff);
            checkBits("MSR", msr, 0xff);
            if (receiveFifo == null) {
                throw new IllegalArgumentException("serial state: receiveFifo is required");
            }
            int capacity = fifoEnabled ? FIFO_SIZE : 1;
            if (receiveFifo.length > capacity) {
                throw new IllegalArgumentException("serial state: " + receiveFifo.length
                        + " received bytes do not fit a receive FIFO of " + capacity);
            }
            receiveFifo = receiveFifo.clone();
        }

        private static void checkBits(String register, int value, int mask) {
            if ((value & ~mask) != 0) {
                throw new IllegalArgumentException(String.format(
                        "serial state: %s 0x%x has bits outside 0x%x", register, value, mask));
            }
        }

        @Override
        public byte[] receiveFifo() {
            return receiveFifo.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State s && s.ier == ier && s.lcr == lcr && s.mcr == mcr && s.scr == scr
                    && s.dll == dll && s.dlm == dlm && s.msr == msr && s.fifoEnabled == fifoEnabled
                    && s.overrun == overrun && s.thrInterruptPending == thrInterruptPending
                    && Arrays.equals(s.receiveFifo, receiveFifo);
        }

        @Override
        public int hashCode() {
            return Objects.hash(ier, lcr, mcr, scr, dll, dlm, msr, fifoEnabled, overrun, thrInterruptPending,
                    Arrays.hashCode(receiveFifo));
        }

        @Override
        public String toString() {
            return String.format("Serial8250.State[ier=0x%x, lcr=0x%x, mcr=0x%x, scr=0x%x, dll=%d, dlm=%d, msr=0x%x, "
                    + "fifoEnabled=%b, overrun=%b, thrInterruptPending=%b, receiveFifo=%s]", ier, lcr, mcr, scr, dll, dlm,
                    msr, fifoEnabled, overrun, thrInterruptPending, Arrays.toString(receiveFifo));
        }
    }

    /**
     * A UART that continues from {@code state}; the other parameters are those of the
     * constructor. Raises no interrupt: what is pending shows in IIR, and the interrupt
     * controller's state is restored by the VMM.
     */
    public static Serial8250 restore(State state, InterruptTrigger interrupt, OutputStream output,
                                     Runnable inputSpaceAvailable) {
        Serial8250 serial = new Serial8250(interrupt, output, inputSpaceAvailable);
        synchronized (serial) {
            serial.ier = state.ier();
            serial.lcr = state.lcr();
            serial.mcr = state.mcr();
            serial.scr = state.scr();
            serial.dll = state.dll();
            serial.dlm = state.dlm();
            serial.msr = state.msr();
            serial.fifoEnabled = state.fifoEnabled();
            serial.overrun = state.overrun();
            serial.thrInterruptPending = state.thrInterruptPending();
            for (byte b : state.receiveFifo()) {
                serial.push(b);
            }
        }
        return serial;
    }

    /** The UART's guest-visible state as it stands. */
    public synchronized State state() {
        byte[] fifo = new byte[rxCount];
        for (int i = 0; i < rxCount; i++) {
            fifo[i] = rx[(rxHead + i) % FIFO_SIZE];
        }
        return new State(ier, lcr, mcr, scr, dll, dlm, msr, fifoEnabled, overrun, thrInterruptPending, fifo);
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        int before = pendingSources();
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) readRegister(offset + i);
        }
        afterAccess(before);
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        int before = pendingSources();
        for (int i = 0; i < data.length; i++) {
            writeRegister(offset + i, data[i] & 0xff);
        }
        afterAccess(before);
    }

    /**
     * Host input: puts as many of {@code data[offset, offset+length)} into the receive FIFO as
     * fit and returns how many it took (0 in loopback mode or with a full FIFO).
     */
    public synchronized int receive(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        int before = pendingSources();
        int taken = 0;
        if ((mcr & MCR_LOOP) == 0) {
            while (taken < length && rxCount < capacity()) {
                push(data[offset + taken]);
                taken++;
            }
        }
        if (taken < length) {
            inputBlocked = true;
        }
        raiseIfNew(before);
        return taken;
    }

    /** Free bytes in the receive FIFO for host input (0 in loopback mode). */
    public synchronized int receiveSpace() {
        return (mcr & MCR_LOOP) != 0 ? 0 : capacity() - rxCount;
    }

    /** Bytes the output stream refused (its write threw). */
    public synchronized long droppedOutputBytes() {
        return droppedOutputBytes;
    }

    /** Bytes the guest transmitted (outside loopback), whether or not the output stream took them. */
    public synchronized long transmittedBytes() {
        return transmittedBytes;
    }

    private int readRegister(long offset) {
        switch ((int) offset) {
            case RBR_THR_DLL:
                if ((lcr & LCR_DLAB) != 0) {
                    return dll;
                }
                return rxCount == 0 ? 0 : pop();
            case IER_DLM:
                return (lcr & LCR_DLAB) != 0 ? dlm : ier;
            case IIR_FCR: {
                int id = interruptId();
                if (id == IIR_THRI) {
                    thrInterruptPending = false; // reading IIR acknowledges THRE
                }
                return id | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
            }
            case LCR:
                return lcr;
            case MCR:
                return mcr;
            case LSR: {
                int lsr = LSR_THRE | LSR_TEMT | (rxCount > 0 ? LSR_DR : 0) | (overrun ? LSR_OE : 0);
                overrun = false;
                return lsr;
            }
            case MSR: {
                int value = msr;
                msr &= 0xf0; // reading clears the delta bits
                return value;
            }
            case SCR:
                return scr;
            default:
                return 0xff;
        }
    }

    private void writeRegister(long offset, int value) {
        switch ((int) offset) {
            case RBR_THR_DLL -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dll = value;
                } else {
                    transmit(value);
                }
            }
            case IER_DLM -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dlm = value;
                } else {
                    int old = ier;
                    ier = value & 0x0f;
                    if ((old & IER_THRI) == 0 && (ier & IER_THRI) != 0) {
                        thrInterruptPending = true; // the transmitter is always empty
                    } else if ((ier & IER_THRI) == 0) {
                        thrInterruptPending = false;
                    }
                }
            }
            case IIR_FCR -> {
                boolean enable = (value & FCR_ENABLE_FIFO) != 0;
                if (enable != fifoEnabled || (value & FCR_CLEAR_RCVR) != 0) {
                    rxHead = 0;
                    rxCount = 0;
                }
                fifoEnabled = enable;
            }
            case LCR -> lcr = value;
            case MCR -> {
                mcr = value & 0x1f;
                updateModemStatus();
            }
            case SCR -> scr = value;
            default -> { } // LSR and MSR are read-only
        }
    }

    private void transmit(int value) {
        thrInterruptPending = false;
        if ((mcr & MCR_LOOP) != 0) {
            if (rxCount < capacity()) {
                push((byte) value);
            } else {
                overrun = true;
            }
        } else {
            transmittedBytes++;
            try {
                output.write(value);
                output.flush();
            } catch (IOException e) {
                droppedOutputBytes++;
                if (!outputFailureLogged) {
                    outputFailureLogged = true;
                    log.warn("serial output stream failed ({}); bytes it refuses are dropped", e.toString());
                }
            }
        }
        // The byte left at once: the holding register is empty again.
        if ((ier & IER_THRI) != 0) {
            thrInterruptPending = true;
        }
    }

    private void updateModemStatus() {
        int lines;
        if ((mcr & MCR_LOOP) != 0) {
            lines = ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                    | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                    | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                    | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
        } else {
            lines = MSR_CONNECTED;
        }
        int old = msr & 0xf0;
        int changed = old ^ lines;
        int delta = msr & 0x0f;
        if ((changed & MSR_CTS) != 0) {
            delta |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            delta |= MSR_DDSR;
        }
        if ((old & MSR_RI) != 0 && (lines & MSR_RI) == 0) {
            delta |= MSR_TERI; // trailing edge of ring indicator
        }
        if ((changed & MSR_DCD) != 0) {
            delta |= MSR_DDCD;
        }
        msr = lines | delta;
    }

    private int interruptId() {
        int sources = pendingSources();
        if ((sources & SRC_LINE) != 0) {
            return IIR_RLSI;
        }
        if ((sources & SRC_DATA) != 0) {
            return IIR_RDI;
        }
        if ((sources & SRC_THRE) != 0) {
            return IIR_THRI;
        }
        if ((sources & SRC_MODEM) != 0) {
            return IIR_MSI;
        }
        return IIR_NO_INTERRUPT;
    }

    private int pendingSources() {
        int s = 0;
        if ((ier & IER_RLSI) != 0 && overrun) {
            s |= SRC_LINE;
        }
        if ((ier & IER_RDI) != 0 && rxCount > 0) {
            s |= SRC_DATA;
        }
        if ((ier & IER_THRI) != 0 && thrInterruptPending) {
            s |= SRC_THRE;
        }
        if ((ier & IER_MSI) != 0 && (msr & 0x0f) != 0) {
            s |= SRC_MODEM;
        }
        return s;
    }

    private void afterAccess(int before) {
        raiseIfNew(before);
        if (inputBlocked && inputSpaceAvailable != null && receiveSpace() > 0) {
            inputBlocked = false;
            inputSpaceAvailable.run();
        }
    }

    private void raiseIfNew(int before) {
        if ((pendingSources() & ~before) != 0) {
            interrupt.trigger();
        }
    }

    private int capacity() {
        return fifoEnabled ? FIFO_SIZE : 1;
    }

    private void push(byte b) {
        rx[(rxHead + rxCount) % FIFO_SIZE] = b;
        rxCount++;
    }

    private int pop() {
        int value = rx[rxHead] & 0xff;
        rxHead = (rxHead + 1) % FIFO_SIZE;
        rxCount--;
        return value;
    }
}
