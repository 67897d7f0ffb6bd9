/* Probe of runtime-c-templates/portable/float_math.h for test/float_math.test.ts.
 *   float_math_probe sample STRIDE OUT   writes, for every STRIDE-th float bit pattern and a few
 *                                        special values, 10 uint32 words: the input, tf_expf,
 *                                        tf_expm1f, tf_tanhf, tf_logisticf, tf_logf, and the C
 *                                        library's expf, expm1f, tanhf, logf.
 *   float_math_probe all                 prints, for each function, how many of the 2^32 inputs
 *                                        differ from the C library's and the first few of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "float_math.h"

static const uint32_t special[] = {
    0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x00800000u, 0x3f800000u, 0xbf800000u,
    0x41b00000u, 0xc1b00000u, 0x42b17218u, 0x42b17217u, 0xc2cff1b4u, 0xc2cff1b5u, 0x4184f3cfu, 0x4184f3d0u,
    0xc1100000u, 0xc10fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f7fffffu, 0xff7fffffu, 0x4202422fu,
    0xc27c65d9u, 0x3eb17218u, 0x3eb17219u, 0x3f851592u, 0x33000000u, 0x32ffffffu, 0x24000000u, 0x23ffffffu,
    0x3f330000u, 0x3f32ffffu, 0x3fb30000u, 0x3f7fffffu, 0x3f800001u, 0x00000002u, 0x80800000u, 0xffc00000u,
};

static int same(float a, float b) { return (isnan(a) && isnan(b)) || tf_float_bits(a) == tf_float_bits(b); }

static void record(FILE *out, uint32_t u) {
    const float x = tf_bits_float(u);
    const float v[9] = {tf_expf(x), tf_expm1f(x), tf_tanhf(x), tf_logisticf(x), tf_logf(x), expf(x), expm1f(x), tanhf(x), logf(x)};
    uint32_t w[10];
    w[0] = u;
    for (int i = 0; i < 9; ++i) w[i + 1] = tf_float_bits(v[i]);
    fwrite(w, sizeof w, 1, out);
}

int main(int argc, char **argv) {
    if (argc == 4 && argv[1][0] == 's') {
        const uint32_t stride = (uint32_t)strtoul(argv[2], NULL, 10);
        FILE *out = fopen(argv[3], "wb");
        if (out == NULL || stride == 0) return 2;
        for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i) record(out, special[i]);
        for (uint64_t u = 0; u <= 0xffffffffu; u += stride) record(out, (uint32_t)u);
        return fclose(out) == 0 ? 0 : 2;
    }
    if (argc == 2 && argv[1][0] == 'a') {
        unsigned long long diff[4] = {0, 0, 0, 0};
        uint32_t u = 0;
        do {
            const float x = tf_bits_float(u);
            const int bad[4] = {!same(tf_expf(x), expf(x)), !same(tf_expm1f(x), expm1f(x)), !same(tf_tanhf(x), tanhf(x)), !same(tf_logf(x), logf(x))};
            for (int i = 0; i < 4; ++i) {
                if (bad[i] && diff[i]++ < 4) printf("differs %d 0x%08x\n", i, (unsigned)u);
            }
            ++u;
        } while (u != 0);
        printf("expf %llu expm1f %llu tanhf %llu logf %llu\n", diff[0], diff[1], diff[2], diff[3]);
        return 0;
    }
    return 2;
}
