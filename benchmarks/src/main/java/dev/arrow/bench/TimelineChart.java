package dev.arrow.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Draws boot timelines as horizontal bars (PNG, java.awt headless): one bar per VMM, split into
 * segments between consecutive milestones (median offsets in ms), each segment coloured by the
 * stage it belongs to, milestone names below the bar.
 */
final class TimelineChart {
    /** A point on a bar: name, offset in ms from the bar's origin, the stage of the segment that ends here. */
    record Milestone(String name, double ms, Stage stage) {
    }

    /** One bar. */
    record Bar(String title, List<Milestone> milestones) {
    }

    enum Stage {
        HOST_SETUP("host set-up (VMM, image)", new Color(0x4C78A8)),
        SETUP_AND_EARLY_BOOT("QEMU: process, firmware, loading, early kernel (not separable)", new Color(0x8E6BB8)),
        KERNEL_BOOT("guest kernel boot", new Color(0xF58518)),
        APP("init and the app", new Color(0x54A24B)),
        SHUTDOWN("shut-down", new Color(0x9D9D9D));

        final String label;
        final Color color;

        Stage(String label, Color color) {
            this.label = label;
            this.color = color;
        }
    }

    private static final int WIDTH = 1400;
    private static final int LEFT = 40;
    private static final int RIGHT = 40;
    private static final int BAR_HEIGHT = 34;
    private static final int LABEL_ROWS = 6;
    private static final int ROW = 17;

    private TimelineChart() {
    }

    static void write(Path png, String title, String subtitle, List<Bar> bars) throws IOException {
        double maxMs = 1;
        for (Bar b : bars) {
            for (Milestone m : b.milestones()) {
                maxMs = Math.max(maxMs, m.ms());
            }
        }
        double scale = niceCeiling(maxMs);
        int barBlock = 28 + BAR_HEIGHT + LABEL_ROWS * ROW + 26;
        int height = 90 + bars.size() * barBlock + 60;
        BufferedImage img = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
            g.drawString(title, LEFT, 30);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            g.drawString(subtitle, LEFT, 52);
            legend(g, 70);
            int y = 100;
            int plotWidth = WIDTH - LEFT - RIGHT;
            for (Bar bar : bars) {
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
                Milestone last = bar.milestones().get(bar.milestones().size() - 1);
                g.drawString(String.format(Locale.ROOT, "%s: %.0f ms", bar.title(), last.ms()), LEFT, y + 16);
                int barTop = y + 24;
                double previous = 0;
                for (Milestone m : bar.milestones()) {
                    int x0 = LEFT + (int) Math.round(previous / scale * plotWidth);
                    int x1 = LEFT + (int) Math.round(m.ms() / scale * plotWidth);
                    if (x1 > x0) {
                        g.setColor(m.stage().color);
                        g.fillRect(x0, barTop, x1 - x0, BAR_HEIGHT);
                    }
                    previous = Math.max(previous, m.ms());
                }
                g.setColor(Color.DARK_GRAY);
                g.setStroke(new BasicStroke(1f));
                g.drawRect(LEFT, barTop, (int) Math.round(previous / scale * plotWidth), BAR_HEIGHT);
                labels(g, bar, barTop + BAR_HEIGHT, scale, plotWidth);
                y += barBlock;
            }
            axis(g, y, scale, plotWidth);
        } finally {
            g.dispose();
        }
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(img, "png", png.toFile());
    }

    private static void legend(Graphics2D g, int y) {
        int x = LEFT;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        for (Stage s : Stage.values()) {
            g.setColor(s.color);
            g.fillRect(x, y - 11, 14, 14);
            g.setColor(Color.BLACK);
            g.drawString(s.label, x + 20, y);
            x += 40 + g.getFontMetrics().stringWidth(s.label);
        }
    }

    /**
     * Milestone ticks and names, staggered over a few rows so neighbours do not overlap: each name
     * goes to the first row that is free at its tick, else to the row that frees up first, shifted
     * right of its neighbour with a leader line from the tick.
     */
    private static void labels(Graphics2D g, Bar bar, int top, double scale, int plotWidth) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        int[] rowEnd = new int[LABEL_ROWS];
        java.util.Arrays.fill(rowEnd, Integer.MIN_VALUE);
        List<Object[]> texts = new ArrayList<>();
        for (Milestone m : bar.milestones()) {
            int x = LEFT + (int) Math.round(m.ms() / scale * plotWidth);
            String text = String.format(Locale.ROOT, "%s %.0f", m.name(), m.ms());
            int w = fm.stringWidth(text);
            int row = -1;
            for (int r = 0; r < LABEL_ROWS; r++) {
                if (rowEnd[r] <= x) {
                    row = r;
                    break;
                }
            }
            int tx = x;
            if (row < 0) {
                row = 0;
                for (int r = 1; r < LABEL_ROWS; r++) {
                    if (rowEnd[r] < rowEnd[row]) {
                        row = r;
                    }
                }
                tx = rowEnd[row];
            }
            tx = Math.min(tx, WIDTH - RIGHT - w);
            rowEnd[row] = Math.max(tx, x) + w + 8;
            int ty = top + 14 + row * ROW;
            g.setColor(Color.GRAY);
            g.drawLine(x, top - BAR_HEIGHT, x, ty - 5);
            if (tx != x) {
                g.drawLine(x, ty - 5, tx, ty - 5);
            }
            texts.add(new Object[] {text, tx + (tx != x ? 2 : 0), ty, w});
        }
        // names over the lines, on white, so that no leader line crosses a name
        for (Object[] t : texts) {
            int tx = (int) t[1];
            int ty = (int) t[2];
            g.setColor(Color.WHITE);
            g.fillRect(tx - 1, ty - fm.getAscent(), (int) t[3] + 2, fm.getAscent() + fm.getDescent());
            g.setColor(Color.BLACK);
            g.drawString((String) t[0], tx, ty);
        }
    }

    private static void axis(Graphics2D g, int y, double scale, int plotWidth) {
        g.setColor(Color.BLACK);
        g.drawLine(LEFT, y, LEFT + plotWidth, y);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double step = scale / 10;
        for (int i = 0; i <= 10; i++) {
            int x = LEFT + (int) Math.round(i * step / scale * plotWidth);
            g.drawLine(x, y, x, y + 5);
            String t = String.format(Locale.ROOT, "%.0f", i * step);
            g.drawString(t, x - g.getFontMetrics().stringWidth(t) / 2, y + 18);
        }
        g.drawString("ms", LEFT + plotWidth - 10, y + 34);
    }

    /** The smallest of 1, 2, 2.5, 5 x 10^n at or above {@code v}. */
    static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double f : new double[] {1, 2, 2.5, 5, 10}) {
            if (f * p >= v) {
                return f * p;
            }
        }
        return 10 * p;
    }

    static List<Milestone> sorted(List<Milestone> list) {
        List<Milestone> copy = new ArrayList<>(list);
        copy.sort(java.util.Comparator.comparingDouble(Milestone::ms));
        return copy;
    }
}
