package dev.arrow.kvm.virtio;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/** A test device: records every call; queue notifications run an optional action. */
final class RecordingDevice implements VirtioDevice {
    final List<String> calls = new ArrayList<>();
    final byte[] config = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    VirtioContext context;
    IntConsumer onNotify = index -> { };

    @Override
    public int deviceType() {
        return 42;
    }

    @Override
    public long deviceFeatures() {
        return 0b101;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize(int index) {
        return index == 0 ? 16 : 4;
    }

    @Override
    public int configSize() {
        return config.length;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        calls.add("readConfig " + offset + "/" + data.length);
        System.arraycopy(config, offset, data, 0, data.length);
    }

    @Override
    public void writeConfig(int offset, byte[] data) {
        calls.add("writeConfig " + offset + "/" + data.length);
        System.arraycopy(data, 0, config, offset, data.length);
    }

    @Override
    public void activate(VirtioContext context) {
        this.context = context;
        calls.add("activate");
    }

    @Override
    public void queueNotify(int index) {
        calls.add("notify " + index);
        onNotify.accept(index);
    }

    @Override
    public void reset() {
        context = null;
        calls.add("reset");
    }

    @Override
    public void guestStopped() {
        calls.add("guestStopped");
    }

    @Override
    public void close() {
        calls.add("close");
    }
}
