/* Self-test of the lx106 runtime helpers (runtime-c-templates/xtensa/lx106_libgcc.c and
 * lx106_softfloat.c): the same arithmetic on many operands, built for the host (the reference:
 * x86-64 hardware arithmetic) and for qemu-xtensa-lx106 (our helpers), prints one hash per
 * operation; test/qemu_xtensa_runtime.test.ts compares the two outputs. NaN results are hashed
 * as one value (their sign and payload are not specified by C). */
#include <stdint.h>
#include <string.h>

#include "runner_io.h"

static uint64_t rng = 0x243F6A8885A308D3u;
static uint64_t next64(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* x >> (next64() % n), with the two draws in a fixed order (C does not order the operands of >>). */
static uint64_t shifted(uint64_t x, uint32_t n) { return x >> (next64() % n); }

static uint32_t hash;
static void mix(uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    hash ^= (uint32_t)(v >> (8 * i)) & 0xFFu;
    hash *= 16777619u;
  }
}
static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC00000u : u;
}
static uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return (u & 0x7FFFFFFFFFFFFFFFu) > 0x7FF0000000000000u ? 0x7FF8000000000000u : u;
}
static float ffrom(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static double dfrom(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

static const uint32_t FSPECIAL[] = {0u, 0x80000000u, 1u, 0x80000001u, 0x007FFFFFu, 0x00800000u, 0x3F800000u, 0xBF800000u, 0x3F000000u,
                                    0x7F7FFFFFu, 0xFF7FFFFFu, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x4B000000u, 0x4AFFFFFFu, 0x3EFFFFFFu, 0x34000000u};
#define NFS (sizeof FSPECIAL / sizeof FSPECIAL[0])

/* Random floats: a third any bit pattern, the rest with exponents close together (so that adds
 * round and cancel), some of them subnormal. */
static uint32_t rand_float(uint32_t near_exp) {
  const uint64_t r = next64();
  switch (r % 6u) {
    case 0: case 1: return (uint32_t)(r >> 32);
    case 2: return FSPECIAL[(r >> 8) % NFS];
    case 3: return ((uint32_t)(r >> 32) & 0x807FFFFFu) | (((uint32_t)(r >> 12) % 4u) << 23); /* subnormal or tiny */
    default: return ((uint32_t)(r >> 32) & 0x807FFFFFu) | (((near_exp + (uint32_t)(r >> 10) % 30u) & 0xFFu) << 23);
  }
}

static uint64_t rand_double(uint32_t near_exp) {
  const uint64_t r = next64();
  switch (r % 5u) {
    case 0: return next64();
    case 1: return next64() & 0x800FFFFFFFFFFFFFu; /* subnormal */
    default: return (next64() & 0x800FFFFFFFFFFFFFu) | ((uint64_t)((near_exp + (uint32_t)(r >> 10) % 60u) & 0x7FFu) << 52);
  }
}

/* A double with a short significand (`bits` significant bits) and exponent field `e`: products of
 * two of them land exactly halfway between doubles often, which random operands almost never do. */
static uint64_t short_double(uint32_t e, int bits) {
  const uint64_t sig = (next64() >> (64 - bits)) | ((uint64_t)1 << (bits - 1));
  return (next64() & 0x8000000000000000u) | ((uint64_t)(e & 0x7FFu) << 52) | ((sig << (53 - bits)) & 0x000FFFFFFFFFFFFFu);
}

static volatile float vf1, vf2;
static volatile double vd1, vd2;
static volatile int32_t vi;
static volatile uint32_t vu;
static volatile int64_t vl1, vl2;

static char line[64];
static void report(const char *name) {
  int n = 0;
  while (*name) line[n++] = *name++;
  line[n++] = ' ';
  for (int i = 28; i >= 0; i -= 4) line[n++] = "0123456789abcdef"[(hash >> i) & 15u];
  line[n++] = '\n';
  (void)tf_io_write(line, (unsigned long)n);
  hash = 2166136261u;
}

int main(void) {
  const int N = 20000;
  if (tf_io_open() != 0) return 2;
  hash = 2166136261u;
  for (int i = 0; i < N; ++i) {
    const uint32_t e = (uint32_t)(next64() % 256u);
    vf1 = ffrom(rand_float(e));
    vf2 = ffrom(rand_float(e));
    mix(fbits(vf1 + vf2));
    mix(fbits(vf1 - vf2));
  }
  report("addsf3");
  for (int i = 0; i < N; ++i) {
    const uint32_t e = (uint32_t)(next64() % 256u);
    vf1 = ffrom(rand_float(e));
    vf2 = ffrom(rand_float(127u - (e > 127u ? e - 127u : 127u - e) / 2u));
    mix(fbits(vf1 * vf2));
  }
  report("mulsf3");
  for (int i = 0; i < N; ++i) {
    const uint32_t e = (uint32_t)(next64() % 2048u);
    vd1 = dfrom(rand_double(e));
    vd2 = dfrom(rand_double(e));
    mix(dbits(vd1 + vd2));
    mix(dbits(vd1 - vd2));
  }
  report("adddf3");
  for (int i = 0; i < N; ++i) {
    const uint32_t e = (uint32_t)(next64() % 2048u);
    vd1 = dfrom(rand_double(e));
    vd2 = dfrom(rand_double(2046u - e + (uint32_t)(next64() % 64u)));
    mix(dbits(vd1 * vd2));
  }
  for (int i = 0; i < N; ++i) {
    const uint32_t e = (uint32_t)(next64() % 2048u);
    vd1 = dfrom(short_double(e, 27 + (int)(next64() % 4u)));
    const uint32_t e2 = 2046u - e + (uint32_t)(next64() % 64u);
    vd2 = dfrom(short_double(e2, 27 + (int)(next64() % 4u)));
    mix(dbits(vd1 * vd2));
  }
  report("muldf3");
  for (int i = 0; i < N; ++i) {
    vf1 = ffrom(rand_float((uint32_t)(next64() % 256u)));
    vd1 = dfrom(rand_double(896u + (uint32_t)(next64() % 300u)));
    mix(dbits((double)vf1));
    mix(fbits((float)vd1));
  }
  report("extend_trunc");
  for (int i = 0; i < N; ++i) {
    vi = (int32_t)shifted(next64(), 40u);
    vu = (uint32_t)shifted(next64(), 40u);
    mix(fbits((float)vi));
    mix(fbits((float)vu));
    mix(dbits((double)vi));
    mix(dbits((double)vu));
    vd1 = dfrom(rand_double(1000u));
    const double d = vd1;
    if (d > -2147483648.0 && d < 2147483648.0) mix((uint32_t)(int32_t)d);
  }
  report("int_float");
  for (int i = 0; i < N; ++i) {
    const uint32_t a = (uint32_t)shifted((uint32_t)next64(), 32u);
    const uint32_t b = (uint32_t)shifted((uint32_t)next64(), 32u);
    vi = (int32_t)a;
    vu = b | 1u;
    int32_t d = (int32_t)(b & 0x7FFFFFFFu) | 1;
    if (next64() & 1u) d = -d;
    if (!(vi == INT32_MIN && d == -1)) mix((uint32_t)(vi / d));
    mix(a / vu);
    mix(a % vu);
    const uint64_t l1 = next64(), l2 = next64();
    vl1 = (int64_t)l1 >> (next64() % 64u);
    vl2 = (int64_t)l2 >> (next64() % 64u);
    mix((uint64_t)(vl1 * vl2));
    mix((uint64_t)((int64_t)vi * (int64_t)(int32_t)vu));
    if (vl2 != 0 && !(vl2 == -1 && vl1 == INT64_MIN)) {
      mix((uint64_t)(vl1 / vl2));
      mix((uint64_t)vl1 / (uint64_t)vl2);
      mix((uint64_t)vl1 % (uint64_t)vl2);
    }
  }
  report("integer");
  tf_io_exit(0);
  return 0;
}
