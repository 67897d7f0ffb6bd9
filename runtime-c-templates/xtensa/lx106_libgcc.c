/* Integer helpers that Debian's xtensa-lx106-elf libgcc.a leaves out because the ESP8266 keeps
 * them in its mask ROM: 32-bit division and remainder, 64-bit multiply and division. The lx106
 * has MULL (32x32 -> low 32) but no DIV32 and no MUL32_HIGH, so these are shift-and-subtract and
 * 16-bit partial products. Nothing here may use '/', '%' or a 64x64 '*' on the types it
 * implements (that would call itself). */
#include <stdint.h>

uint32_t __udivsi3(uint32_t n, uint32_t d);
uint32_t __umodsi3(uint32_t n, uint32_t d);
int32_t __divsi3(int32_t a, int32_t b);
uint64_t __umulsidi3(uint32_t a, uint32_t b);
uint64_t __muldi3(uint64_t a, uint64_t b);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t a, int64_t b);
/* In libgcc.a. */
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
int64_t __divmoddi4(int64_t a, int64_t b, int64_t *rem);

/* Quotient of n / d, remainder in *rem. Division by zero is undefined in C: it gives all ones
 * and the dividend as remainder, deterministically. */
static uint32_t tf_udivmod32(uint32_t n, uint32_t d, uint32_t *rem) {
  if (d == 0u) {
    *rem = n;
    return 0xFFFFFFFFu;
  }
  if (n < d) {
    *rem = n;
    return 0u;
  }
  const int shift = __builtin_clz(d) - __builtin_clz(n); /* NSAU */
  uint32_t q = 0u;
  d <<= shift;
  for (int i = 0; i <= shift; ++i) {
    q <<= 1;
    if (n >= d) {
      n -= d;
      q |= 1u;
    }
    d >>= 1;
  }
  *rem = n;
  return q;
}

uint32_t __udivsi3(uint32_t n, uint32_t d) {
  uint32_t r;
  return tf_udivmod32(n, d, &r);
}

uint32_t __umodsi3(uint32_t n, uint32_t d) {
  uint32_t r;
  (void)tf_udivmod32(n, d, &r);
  return r;
}

/* Truncates toward zero, as C requires. */
int32_t __divsi3(int32_t a, int32_t b) {
  uint32_t r;
  const uint32_t ua = a < 0 ? 0u - (uint32_t)a : (uint32_t)a;
  const uint32_t ub = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
  const uint32_t q = tf_udivmod32(ua, ub, &r);
  return (int32_t)((a < 0) != (b < 0) ? 0u - q : q);
}

/* Full 64-bit product of two 32-bit values from four 16x16 partial products. */
uint64_t __umulsidi3(uint32_t a, uint32_t b) {
  const uint32_t al = a & 0xFFFFu, ah = a >> 16, bl = b & 0xFFFFu, bh = b >> 16;
  const uint32_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const uint32_t mid = (ll >> 16) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  const uint32_t lo = (ll & 0xFFFFu) | (mid << 16);
  const uint32_t hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
  return ((uint64_t)hi << 32) | lo;
}

/* Low 64 bits of the product (the same for signed and unsigned operands). */
uint64_t __muldi3(uint64_t a, uint64_t b) {
  const uint32_t al = (uint32_t)a, ah = (uint32_t)(a >> 32), bl = (uint32_t)b, bh = (uint32_t)(b >> 32);
  const uint32_t cross = al * bh + ah * bl;
  return __umulsidi3(al, bl) + ((uint64_t)cross << 32);
}

uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, (uint64_t *)0); }

uint64_t __umoddi3(uint64_t n, uint64_t d) {
  uint64_t r;
  (void)__udivmoddi4(n, d, &r);
  return r;
}

int64_t __divdi3(int64_t a, int64_t b) {
  int64_t r;
  return __divmoddi4(a, b, &r);
}
