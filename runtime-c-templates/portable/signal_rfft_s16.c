/* tinyforge portable kernel: SignalRfft on int16, KISS FFT v1.3.0's FIXED_POINT=16 real FFT
 * (kiss_fftr over a half-length complex FFT). Each butterfly divides its inputs by the radix,
 * products round to 15 fractional bits and sums wrap to int16, as KISS FFT's macros do; the
 * compiler supplies the factorisation (radix 4 and 2 only) and the twiddle tables. */
#include "signal.h"

typedef struct {
    int32_t fft_length, input_length, frames;
    const int32_t *factors;        /* radix, remaining length, ... (kf_factor) */
    const int16_t *twiddles;       /* fft_length / 2 complex, interleaved re, im */
    const int16_t *super_twiddles; /* fft_length / 4 complex */
} tf_signal_rfft_params;

typedef struct {
    int16_t r, i;
} tf_signal_cpx;

/* sround: a product with 15 fractional bits rounded back to int16 (truncated to 16 bits). */
static inline int16_t tf_signal_sround(int32_t x) {
    return (int16_t)(uint16_t)(uint32_t)((x + (1 << 14)) >> 15);
}

static inline int16_t tf_signal_add16(int32_t a, int32_t b) {
    return (int16_t)(uint16_t)(uint32_t)(a + b);
}

/* C_FIXDIV(c, k): both parts times 32767 / k, rounded. */
static inline tf_signal_cpx tf_signal_fixdiv(tf_signal_cpx c, int32_t k) {
    tf_signal_cpx out;
    out.r = tf_signal_sround(c.r * (32767 / k));
    out.i = tf_signal_sround(c.i * (32767 / k));
    return out;
}

static inline tf_signal_cpx tf_signal_cmul(tf_signal_cpx a, const int16_t *w) {
    tf_signal_cpx out;
    out.r = tf_signal_sround(a.r * w[0] - a.i * w[1]);
    out.i = tf_signal_sround(a.r * w[1] + a.i * w[0]);
    return out;
}

static void tf_signal_bfly2(tf_signal_cpx *out, int32_t fstride, const int16_t *tw, int32_t m) {
    for (int32_t k = 0; k < m; ++k) {
        tf_signal_cpx a = tf_signal_fixdiv(out[k], 2);
        const tf_signal_cpx b = tf_signal_fixdiv(out[k + m], 2);
        const tf_signal_cpx t = tf_signal_cmul(b, tw + 2 * k * fstride);
        out[k + m].r = tf_signal_add16(a.r, -t.r);
        out[k + m].i = tf_signal_add16(a.i, -t.i);
        a.r = tf_signal_add16(a.r, t.r);
        a.i = tf_signal_add16(a.i, t.i);
        out[k] = a;
    }
}

static void tf_signal_bfly4(tf_signal_cpx *out, int32_t fstride, const int16_t *tw, int32_t m) {
    for (int32_t k = 0; k < m; ++k) {
        tf_signal_cpx *f = out + k;
        tf_signal_cpx s0, s1, s2, s3, s4, s5, f0;
        f[0] = tf_signal_fixdiv(f[0], 4);
        f[m] = tf_signal_fixdiv(f[m], 4);
        f[2 * m] = tf_signal_fixdiv(f[2 * m], 4);
        f[3 * m] = tf_signal_fixdiv(f[3 * m], 4);
        s0 = tf_signal_cmul(f[m], tw + 2 * k * fstride);
        s1 = tf_signal_cmul(f[2 * m], tw + 4 * k * fstride);
        s2 = tf_signal_cmul(f[3 * m], tw + 6 * k * fstride);
        f0 = f[0];
        s5.r = tf_signal_add16(f0.r, -s1.r);
        s5.i = tf_signal_add16(f0.i, -s1.i);
        f0.r = tf_signal_add16(f0.r, s1.r);
        f0.i = tf_signal_add16(f0.i, s1.i);
        s3.r = tf_signal_add16(s0.r, s2.r);
        s3.i = tf_signal_add16(s0.i, s2.i);
        s4.r = tf_signal_add16(s0.r, -s2.r);
        s4.i = tf_signal_add16(s0.i, -s2.i);
        f[2 * m].r = tf_signal_add16(f0.r, -s3.r);
        f[2 * m].i = tf_signal_add16(f0.i, -s3.i);
        f[0].r = tf_signal_add16(f0.r, s3.r);
        f[0].i = tf_signal_add16(f0.i, s3.i);
        /* Forward transform. */
        f[m].r = tf_signal_add16(s5.r, s4.i);
        f[m].i = tf_signal_add16(s5.i, -s4.r);
        f[3 * m].r = tf_signal_add16(s5.r, -s4.i);
        f[3 * m].i = tf_signal_add16(s5.i, s4.r);
    }
}

/* kf_work: decimation in time, one recursion level per factor. */
static void tf_signal_kf_work(tf_signal_cpx *out, const tf_signal_cpx *in, int32_t fstride, const int32_t *factors, const int16_t *tw) {
    const int32_t p = factors[0], m = factors[1];
    if (m == 1) {
        for (int32_t j = 0; j < p; ++j) out[j] = in[j * fstride];
    } else {
        for (int32_t j = 0; j < p; ++j) tf_signal_kf_work(out + j * m, in + j * fstride, fstride * p, factors + 2, tw);
    }
    if (p == 2) tf_signal_bfly2(out, fstride, tw, m);
    else tf_signal_bfly4(out, fstride, tw, m);
}

/* scratch: fft_length int16 (the zero-padded frame) then fft_length / 2 complex bins. */
static void tf_signal_rfft_s16(const tf_signal_rfft_params *p, const int16_t *input, int16_t *output, void *scratch) {
    const int32_t n = p->fft_length / 2;
    tf_signal_cpx *frame = (tf_signal_cpx *)scratch;
    tf_signal_cpx *tmp = frame + n;
    for (int32_t t = 0; t < p->frames; ++t) {
        tf_signal_cpx *freq = (tf_signal_cpx *)(output + (size_t)t * (size_t)(2 * (n + 1)));
        tf_signal_cpx dc;
        memcpy(frame, input + (size_t)t * (size_t)p->input_length, (size_t)p->input_length * sizeof(int16_t));
        memset((int16_t *)frame + p->input_length, 0, (size_t)(p->fft_length - p->input_length) * sizeof(int16_t));
        tf_signal_kf_work(tmp, frame, 1, p->factors, p->twiddles);
        dc = tf_signal_fixdiv(tmp[0], 2);
        freq[0].r = tf_signal_add16(dc.r, dc.i);
        freq[n].r = tf_signal_add16(dc.r, -dc.i);
        freq[0].i = 0;
        freq[n].i = 0;
        for (int32_t k = 1; k <= n / 2; ++k) {
            tf_signal_cpx pk = tmp[k], pnk, f1, f2, tw;
            pnk.r = tmp[n - k].r;
            pnk.i = (int16_t)(uint16_t)(uint32_t)(-(int32_t)tmp[n - k].i);
            pk = tf_signal_fixdiv(pk, 2);
            pnk = tf_signal_fixdiv(pnk, 2);
            f1.r = tf_signal_add16(pk.r, pnk.r);
            f1.i = tf_signal_add16(pk.i, pnk.i);
            f2.r = tf_signal_add16(pk.r, -pnk.r);
            f2.i = tf_signal_add16(pk.i, -pnk.i);
            tw = tf_signal_cmul(f2, p->super_twiddles + 2 * (k - 1));
            freq[k].r = (int16_t)((f1.r + tw.r) >> 1);
            freq[k].i = (int16_t)((f1.i + tw.i) >> 1);
            freq[n - k].r = (int16_t)((f1.r - tw.r) >> 1);
            freq[n - k].i = (int16_t)((tw.i - f1.i) >> 1);
        }
    }
}
