/* Compares float_math.h's tf_fmodf with the C library's fmodf, tf_floor_f64 with floor and
 * tf_div_f32_as_f64 with a double division, bit for bit (NaN as any NaN): edge operands crossed with each other, then `count` pseudo-random
 * pairs (half random bit patterns, half operands with nearby exponents, where the long division
 * is short and the remainders are not tiny). Prints "<pairs> <fmod differences> <floor differences> <division differences>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "float_math.h"

static uint32_t state = 0x9e3779b9u;
static uint32_t next(void) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static int same_f32(float a, float b) {
    return (a != a && b != b) || tf_float_bits(a) == tf_float_bits(b);
}

static int same_f64(double a, double b) {
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return (a != a && b != b) || x == y;
}

static long fmod_diffs, floor_diffs, div_diffs, pairs;

static void check(float x, float y) {
    ++pairs;
    if (!same_f32(tf_fmodf(x, y), fmodf(x, y))) {
        if (fmod_diffs++ < 5) fprintf(stderr, "fmodf(%a, %a): %a vs %a\n", (double)x, (double)y, (double)tf_fmodf(x, y), (double)fmodf(x, y));
    }
    const double q = (double)x / (double)y;
    if (!same_f64(tf_div_f32_as_f64(x, y), q)) {
        if (div_diffs++ < 5) fprintf(stderr, "%a / %a: %a vs %a\n", (double)x, (double)y, tf_div_f32_as_f64(x, y), q);
    }
    if (!same_f64(tf_floor_f64(q), floor(q))) {
        if (floor_diffs++ < 5) fprintf(stderr, "floor(%a): %a vs %a\n", q, tf_floor_f64(q), floor(q));
    }
}

int main(int argc, char **argv) {
    const long count = argc > 1 ? atol(argv[1]) : 1000000;
    const uint32_t edges[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x00800000u, 0x3f800000u, 0xbf800000u,
                              0x3f7fffffu, 0x40000000u, 0xc0400000u, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                              0x4b800000u, 0x4b7fffffu, 0x3effffffu, 0x3f000000u, 0x00000003u, 0x00000002u, 0x40490fdbu, 0x2f800000u};
    const int n = (int)(sizeof edges / sizeof edges[0]);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) check(tf_bits_float(edges[i]), tf_bits_float(edges[j]));
    for (long k = 0; k < count; ++k) {
        const uint32_t a = next();
        uint32_t b = next();
        /* Every other pair: b's exponent within 24 of a's. */
        if (k & 1) b = (b & 0x807fffffu) | (((((a >> 23) & 0xffu) + (next() % 49u) + 231u) % 256u) << 23);
        check(tf_bits_float(a), tf_bits_float(b));
    }
    printf("%ld %ld %ld %ld\n", pairs, fmod_diffs, floor_diffs, div_diffs);
    return 0;
}
