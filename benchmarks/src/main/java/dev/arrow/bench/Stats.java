package dev.arrow.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of small samples (benchmark iterations). */
final class Stats {
    private Stats() {
    }

    static double median(Collection<? extends Number> values) {
        double[] v = sorted(values);
        if (v.length == 0) {
            return Double.NaN;
        }
        int mid = v.length / 2;
        return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    }

    static double min(Collection<? extends Number> values) {
        double[] v = sorted(values);
        return v.length == 0 ? Double.NaN : v[0];
    }

    static double max(Collection<? extends Number> values) {
        double[] v = sorted(values);
        return v.length == 0 ? Double.NaN : v[v.length - 1];
    }

    /**
     * The {@code p}-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest value with at
     * least p% of the values at or below it (so p90 of 10 values is the 9th smallest); NaN for none.
     */
    static double percentile(Collection<? extends Number> values, double p) {
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile " + p + " is outside (0, 100]");
        }
        double[] v = sorted(values);
        if (v.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100 * v.length);
        return v[Math.max(1, rank) - 1];
    }

    static double geometricMean(Collection<? extends Number> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        for (Number n : values) {
            sum += Math.log(n.doubleValue());
        }
        return Math.exp(sum / values.size());
    }

    private static double[] sorted(Collection<? extends Number> values) {
        double[] v = values.stream().mapToDouble(Number::doubleValue).toArray();
        Arrays.sort(v);
        return v;
    }
}
