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
