package dev.arrow.kvm.device;

import static dev.arrow.kvm.device.Serial8250.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class Serial8250Test {

    private int interrupts;
    private int spaceCallbacks;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private Serial8250 uart;

    @BeforeEach
    void create() {
        uart = new Serial8250(() -> interrupts++, out, () -> spaceCallbacks++);
    }

    private int in(int reg) {
        byte[] b = new byte[1];
        uart.read(reg, b);
        return b[0] & 0xff;
    }

    private void out(int reg, int value) {
        uart.write(reg, new byte[] {(byte) value});
    }

    private int receive(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return uart.receive(b, 0, b.length);
    }

    /** Linux 8250_port.c autoconfig(): the IER probe, the loopback test, then FIFO detection via IIR. */
    private String linuxAutoconfig() {
        int scratch = in(IER_DLM);
        out(IER_DLM, 0);
        int scratch2 = in(IER_DLM) & 0x0f;
        out(IER_DLM, 0x0f);
        int scratch3 = in(IER_DLM) & 0x0f;
        out(IER_DLM, scratch);
        if (scratch2 != 0 || scratch3 != 0x0f) {
            return "IER test failed";
        }
        int saveMcr = in(MCR);
        int saveLcr = in(LCR);
        out(MCR, MCR_LOOP | 0x0a);
        int status1 = in(MSR) & 0xf0;
        out(MCR, saveMcr);
        if (status1 != 0x90) {
            return "LOOP test failed";
        }
        out(LCR, 0xbf); // UART_LCR_CONF_MODE_B
        out(IIR_FCR, 0); // UART_EFR shares the offset
        out(LCR, 0);
        out(IIR_FCR, FCR_ENABLE_FIFO);
        int iir = in(IIR_FCR);
        String type = switch (iir >> 6) {
            case 0 -> "8250/16450";
            case 1 -> "unknown";
            case 2 -> "16550";
            default -> "16550A";
        };
        if (type.equals("16550A")) {
            // autoconfig_16550a with CONFIG_SERIAL_8250_16550A_VARIANTS: no EFR when DLAB is set ...
            out(LCR, 0x80);
            if (in(IIR_FCR) == 0) {
                return "EFR found: ST16C650V1";
            }
            out(LCR, 0xbf);
            if (in(IIR_FCR) == 0) {
                return "EFR found: 16C950 and friends";
            }
            // ... no National Semiconductor EXCR1 ...
            out(LCR, 0);
            int mcr = in(MCR);
            out(LCR, 0xe0);
            int excr1 = in(2);
            if (((excr1 ^ mcr) & MCR_LOOP) == 0) {
                out(LCR, 0);
                out(MCR, mcr ^ MCR_LOOP);
                out(LCR, 0xe0);
                excr1 = in(2);
                out(LCR, 0);
                out(MCR, mcr);
                if (((excr1 ^ mcr) & MCR_LOOP) != 0) {
                    return "NS16550A";
                }
            }
            // ... no 64-byte FIFO of a TI16750 ...
            out(LCR, 0);
            out(IIR_FCR, FCR_ENABLE_FIFO | 0x20);
            int s1 = in(IIR_FCR) >> 5;
            out(IIR_FCR, FCR_ENABLE_FIFO);
            out(LCR, 0x80);
            out(IIR_FCR, FCR_ENABLE_FIFO | 0x20);
            int s2 = in(IIR_FCR) >> 5;
            out(IIR_FCR, FCR_ENABLE_FIFO);
            out(LCR, 0);
            if (s1 == 6 && s2 == 7) {
                return "16750";
            }
            // ... and no XScale UUE bit in IER.
            int ier = in(IER_DLM);
            out(IER_DLM, ier & ~0x40);
            if ((in(IER_DLM) & 0x40) == 0) {
                out(IER_DLM, ier | 0x40);
                if ((in(IER_DLM) & 0x40) != 0) {
                    return "XScale";
                }
            }
            out(IER_DLM, ier);
        }
        out(LCR, saveLcr);
        return type;
    }

    @Test
    void linuxAutoconfigFindsA16550A() {
        assertThat(linuxAutoconfig()).isEqualTo("16550A");
        assertThat(out.size()).as("probing prints nothing").isZero();
    }

    @Test
    void fifoSizeProbeInLoopbackCountsSixteenBytes() {
        // size_fifo(): loopback, fill with 256 bytes, count what can be read back.
        out(IIR_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
        out(MCR, MCR_LOOP);
        for (int i = 0; i < 256; i++) {
            out(RBR_THR_DLL, i);
        }
        int count = 0;
        while ((in(LSR) & LSR_DR) != 0 && count < 256) {
            assertThat(in(RBR_THR_DLL)).isEqualTo(count);
            count++;
        }
        assertThat(count).isEqualTo(16);
        assertThat(out.size()).as("loopback output never leaves the UART").isZero();
    }

    @Test
    void loopbackOverrunSetsOverrunErrorUntilLsrIsRead() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        out(MCR, MCR_LOOP);
        for (int i = 0; i < 17; i++) {
            out(RBR_THR_DLL, 'a');
        }
        assertThat(in(LSR) & LSR_OE).isNotZero();
        assertThat(in(LSR) & LSR_OE).as("cleared by reading LSR").isZero();
    }

    @Test
    void transmittedBytesGoToTheOutputAndTheTransmitterIsAlwaysEmpty() {
        for (char c : "hello\n".toCharArray()) {
            assertThat(in(LSR) & (LSR_THRE | LSR_TEMT)).isEqualTo(LSR_THRE | LSR_TEMT);
            out(RBR_THR_DLL, c);
        }
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("hello\n");
    }

    @Test
    void divisorLatchIsReachedThroughDlab() {
        out(LCR, LCR_DLAB | 0x03);
        out(RBR_THR_DLL, 0x01);
        out(IER_DLM, 0x00); // 115200 baud
        assertThat(in(RBR_THR_DLL)).isEqualTo(1);
        assertThat(in(IER_DLM)).isZero();
        out(LCR, 0x03);
        assertThat(in(IER_DLM)).as("IER untouched by the divisor write").isZero();
        out(IER_DLM, IER_RDI);
        out(LCR, LCR_DLAB | 0x03);
        assertThat(in(IER_DLM)).as("DLM, not IER").isZero();
        assertThat(out.size()).as("DLL write is not a transmitted byte").isZero();
    }

    @Test
    void scratchRegisterHoldsAByte() {
        out(SCR, 0x5a);
        assertThat(in(SCR)).isEqualTo(0x5a);
        out(SCR, 0xa5);
        assertThat(in(SCR)).isEqualTo(0xa5);
    }

    @Test
    void hostInputRaisesReceivedDataInterruptWhenEnabled() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        assertThat(receive("x")).isEqualTo(1);
        assertThat(interrupts).as("RDI not enabled").isZero();
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_NO_INTERRUPT);
        out(IER_DLM, IER_RDI);
        assertThat(interrupts).as("enabling with data waiting raises it").isEqualTo(1);
        assertThat(in(IIR_FCR)).isEqualTo(IIR_FIFO_ENABLED | IIR_RDI);
        assertThat(in(LSR) & LSR_DR).isNotZero();
        assertThat(in(RBR_THR_DLL)).isEqualTo('x');
        assertThat(in(LSR) & LSR_DR).isZero();
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_NO_INTERRUPT);
        receive("yz");
        assertThat(interrupts).isEqualTo(2);
        receive("!");
        assertThat(interrupts).as("data already pending: no new edge").isEqualTo(2);
    }

    @Test
    void fifoAcceptsSixteenBytesAndSignalsWhenSpaceReturns() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        assertThat(receive("0123456789abcdefXYZ")).isEqualTo(16);
        assertThat(uart.receiveSpace()).isZero();
        assertThat(spaceCallbacks).isZero();
        assertThat(in(RBR_THR_DLL)).isEqualTo('0');
        assertThat(spaceCallbacks).isEqualTo(1);
        assertThat(uart.receiveSpace()).isEqualTo(1);
        in(RBR_THR_DLL);
        assertThat(spaceCallbacks).as("only once per short accept").isEqualTo(1);
    }

    @Test
    void withoutFifoOnlyOneByteIsHeld() {
        assertThat(in(IIR_FCR) & IIR_FIFO_ENABLED).isZero();
        assertThat(receive("ab")).isEqualTo(1);
        assertThat(in(RBR_THR_DLL)).isEqualTo('a');
        assertThat(in(RBR_THR_DLL)).as("empty reads as 0").isZero();
    }

    @Test
    void fifoClearDropsReceivedBytes() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        receive("abc");
        out(IIR_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR);
        assertThat(in(LSR) & LSR_DR).isZero();
        receive("d");
        out(IIR_FCR, 0); // disabling the FIFO clears it as well
        assertThat(in(LSR) & LSR_DR).isZero();
    }

    @Test
    void thrEmptyInterruptOnEnableIsClearedByIirAndReassertedByToggling() {
        // serial8250_do_startup's THRE re-assertion test
        out(IER_DLM, IER_THRI);
        assertThat(interrupts).isEqualTo(1);
        int iir1 = in(IIR_FCR);
        assertThat(iir1 & 0x0f).isEqualTo(IIR_THRI);
        assertThat(in(IIR_FCR) & 0x0f).as("IIR read acknowledged THRE").isEqualTo(IIR_NO_INTERRUPT);
        out(IER_DLM, 0);
        out(IER_DLM, IER_THRI);
        assertThat(interrupts).isEqualTo(2);
        assertThat(in(IIR_FCR) & 0x0f).as("re-asserted").isEqualTo(IIR_THRI);
    }

    @Test
    void eachTransmittedByteRaisesThrEmptyAgain() {
        out(IER_DLM, IER_THRI);
        in(IIR_FCR);
        out(RBR_THR_DLL, 'a');
        assertThat(interrupts).isEqualTo(2);
        out(RBR_THR_DLL, 'b');
        assertThat(interrupts).as("still pending, no new edge").isEqualTo(2);
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_THRI);
        out(RBR_THR_DLL, 'c');
        assertThat(interrupts).isEqualTo(3);
        out(IER_DLM, 0);
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_NO_INTERRUPT);
    }

    @Test
    void receivedDataOutranksThrEmpty() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        out(IER_DLM, IER_THRI | IER_RDI);
        receive("k");
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_RDI);
        in(RBR_THR_DLL);
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_THRI);
    }

    @Test
    void overrunIsALineStatusInterruptOfTopPriority() {
        out(IIR_FCR, FCR_ENABLE_FIFO);
        out(IER_DLM, IER_RLSI | IER_RDI);
        out(MCR, MCR_LOOP);
        for (int i = 0; i < 17; i++) {
            out(RBR_THR_DLL, i);
        }
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_RLSI);
        in(LSR);
        assertThat(in(IIR_FCR) & 0x0f).isEqualTo(IIR_RDI);
    }

    @Test
    void modemStatusFollowsMcrInLoopbackWithDeltas() {
        assertThat(in(MSR) & 0xf0).as("connected outside loopback").isEqualTo(MSR_DCD | MSR_DSR | MSR_CTS);
        out(IER_DLM, IER_MSI);
        out(MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
        int msr = in(MSR);
        assertThat(msr & 0xf0).isEqualTo(MSR_DSR | MSR_RI);
        assertThat(msr & 0x0f).isEqualTo(MSR_DCTS | MSR_DDCD); // CTS and DCD dropped
        assertThat(interrupts).isEqualTo(1);
        assertThat(in(MSR) & 0x0f).as("deltas cleared by reading").isZero();
        out(MCR, MCR_LOOP | MCR_DTR);
        assertThat(in(MSR) & 0x0f).as("RI trailing edge").isEqualTo(MSR_TERI);
    }

    @Test
    void loopbackDisconnectsHostInput() {
        out(MCR, MCR_LOOP);
        assertThat(uart.receiveSpace()).isZero();
        assertThat(receive("q")).isZero();
        out(MCR, MCR_OUT2);
        assertThat(spaceCallbacks).isEqualTo(1);
        assertThat(receive("q")).isEqualTo(1);
    }

    @Test
    void lsrAndMsrWritesAreIgnoredAndUnknownOffsetsReadAsOnes() {
        out(LSR, 0);
        assertThat(in(LSR) & LSR_THRE).isNotZero();
        out(MSR, 0);
        assertThat(in(MSR) & 0xf0).isEqualTo(0xb0);
        assertThat(in(8)).isEqualTo(0xff);
    }

    @Test
    void multiByteAccessesActOnConsecutiveRegisters() {
        uart.write(SCR - 1, new byte[] {0x00, 0x33}); // MSR (ignored), SCR
        byte[] b = new byte[2];
        uart.read(LSR, b);
        assertThat(b[0] & LSR_THRE).isNotZero();
        assertThat(b[1] & 0xf0).isEqualTo(0xb0);
        assertThat(in(SCR)).isEqualTo(0x33);
    }

    @Test
    void failingOutputIsCountedNotThrown() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("pipe closed");
            }
        };
        Serial8250 u = new Serial8250(InterruptTrigger.NONE, broken);
        u.write(RBR_THR_DLL, new byte[] {'a'});
        u.write(RBR_THR_DLL, new byte[] {'b'});
        assertThat(u.droppedOutputBytes()).isEqualTo(2);
        assertThat(u.transmittedBytes()).as("transmitted, though the stream refused them").isEqualTo(2);
    }

    @Test
    void transmittedBytesAreCountedButLoopbackIsNot() {
        out(RBR_THR_DLL, 'x');
        out(RBR_THR_DLL, 'y');
        out(MCR, MCR_LOOP);
        out(RBR_THR_DLL, 'z');
        assertThat(uart.transmittedBytes()).isEqualTo(2);
        assertThat(out.toByteArray()).containsExactly('x', 'y');
    }

    @Test
    void receiveChecksItsBounds() {
        assertThatThrownBy(() -> uart.receive(new byte[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
