/* tinyforge on-device agent: runs the compiled model for a host over the serial line.
 *
 * Protocol version 1, specified in docs/protocol.md: COBS frames delimited by 0x00, each a 6-byte
 * header (version, type, seq, length), a payload and a CRC-32. Portable C99 with no allocation and
 * no stdio; the board is reached only through tf_hal.h and the model only through
 * tf_agent_model.h. Every index, offset and length from the wire is checked against the model's
 * tensor sizes before any buffer is touched.
 *
 * Build options:
 *   -DTF_AGENT_MAX_PAYLOAD=n  largest payload accepted and sent, 256..1024 (default 1024); the
 *                             agent's protocol RAM is about 3 * (n + 14) bytes.
 *   -DTF_AGENT_STACK_MARGIN=n bytes left unpainted below the painting function's local
 *                             (default 64; it must cover that function's frame). */
#include <stddef.h>
#include <stdint.h>

#include "tf_agent_model.h"
#include "tf_hal.h"
#include "tf_protocol.h"

#ifndef TF_AGENT_MAX_PAYLOAD
#define TF_AGENT_MAX_PAYLOAD TF_PROTO_MAX_PAYLOAD
#endif
#if TF_AGENT_MAX_PAYLOAD > TF_PROTO_MAX_PAYLOAD || TF_AGENT_MAX_PAYLOAD < TF_PROTO_MIN_PAYLOAD
#error "TF_AGENT_MAX_PAYLOAD must be between TF_PROTO_MIN_PAYLOAD and TF_PROTO_MAX_PAYLOAD"
#endif

#ifndef TF_AGENT_STACK_MARGIN
#define TF_AGENT_STACK_MARGIN 64u
#endif

/* The painting function must have its own (small) frame rather than be merged into main's. */
#if defined(__GNUC__)
#define TF_NOINLINE __attribute__((noinline))
#else
#define TF_NOINLINE
#endif
#define TF_AGENT_STACK_PAINT 0xA5u

#define TF_FRAME_MAX (TF_PROTO_HEADER_BYTES + TF_AGENT_MAX_PAYLOAD + TF_PROTO_CRC_BYTES)
#define TF_ENCODED_MAX TF_COBS_MAX_ENCODED(TF_FRAME_MAX)
/* Encoded frame plus the leading and trailing 0x00. */
#define TF_WIRE_MAX (TF_ENCODED_MAX + 2u)
#define TF_ERROR_FRAME_BYTES (TF_PROTO_HEADER_BYTES + TF_ERROR_PAYLOAD_BYTES + TF_PROTO_CRC_BYTES)
#define TF_ERROR_WIRE_MAX (TF_COBS_MAX_ENCODED(TF_ERROR_FRAME_BYTES) + 2u)
/* The largest chunk of tensor bytes one WRITE_INPUT or READ_OUTPUT carries. */
#define TF_MAX_CHUNK (TF_AGENT_MAX_PAYLOAD - TF_IO_HEADER_BYTES)

/* Received bytes up to the delimiter; decoded in place. */
static uint8_t tf_rx[TF_ENCODED_MAX];
static uint32_t tf_rx_len;
static int tf_rx_overflow;

/* The reply being built (header, payload, CRC) and, once sent, its wire form: the cached reply. */
static uint8_t tf_tx_frame[TF_FRAME_MAX];
static uint8_t tf_tx_wire[TF_WIRE_MAX];
static uint32_t tf_tx_wire_len;

/* Uncached frames (framing and sequence errors, BOOT) use their own buffers so that the cached
 * reply survives them. */
static uint8_t tf_err_frame[TF_ERROR_FRAME_BYTES];
static uint8_t tf_err_wire[TF_ERROR_WIRE_MAX];

static struct {
  int synced;             /* a HELLO has been executed since boot */
  uint16_t last_seq;      /* the last executed request ... */
  uint8_t last_type;
  uint32_t last_crc;
  int outputs_valid;      /* an INVOKE succeeded after the last WRITE_INPUT */
  uint32_t last_ticks;
  uint32_t invoke_count;
  uint32_t rx_errors;
} tf_st;

static struct {
  int known;
  uintptr_t lowest;
  uintptr_t painted_end; /* one past the last painted byte */
  uintptr_t top;
} tf_stack;

/* ---- little-endian helpers ---- */

static void tf_put_u16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xFFu);
  p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void tf_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xFFu);
  p[1] = (uint8_t)((v >> 8) & 0xFFu);
  p[2] = (uint8_t)((v >> 16) & 0xFFu);
  p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

static uint32_t tf_get_u16(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t tf_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void tf_copy(uint8_t *dst, const uint8_t *src, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    dst[i] = src[i];
  }
}

static uint16_t tf_next_seq(uint16_t seq) {
  return (uint16_t)(seq == 0xFFFFu ? 1u : seq + 1u);
}

static uint32_t tf_num_inputs(void) {
  return tf_agent_model.num_inputs < TF_AGENT_MAX_IO ? tf_agent_model.num_inputs : TF_AGENT_MAX_IO;
}

static uint32_t tf_num_outputs(void) {
  return tf_agent_model.num_outputs < TF_AGENT_MAX_IO ? tf_agent_model.num_outputs : TF_AGENT_MAX_IO;
}

/* ---- sending ---- */

/* Completes the frame whose payload (payload_len bytes) is already at frame + 6, encodes it into
 * wire (leading and trailing 0x00) and writes it with one tf_hal_uart_write. Returns the wire
 * length (0 if it did not fit, which the buffer sizes rule out). */
static uint32_t tf_send(uint8_t *frame, uint32_t payload_len, uint8_t type, uint16_t seq, uint8_t *wire,
                        uint32_t wire_cap) {
  uint32_t n = TF_PROTO_HEADER_BYTES + payload_len;
  uint32_t enc;
  frame[0] = (uint8_t)TF_PROTO_VERSION;
  frame[1] = type;
  tf_put_u16(frame + 2, seq);
  tf_put_u16(frame + 4, payload_len);
  tf_put_u32(frame + n, tf_crc32(frame, n));
  n += TF_PROTO_CRC_BYTES;
  wire[0] = 0u;
  enc = tf_cobs_encode(frame, n, wire + 1, wire_cap - 2u);
  if (enc == 0u) {
    return 0;
  }
  wire[enc + 1u] = 0u;
  tf_hal_uart_write(wire, enc + 2u);
  return enc + 2u;
}

static void tf_put_error_payload(uint8_t *p, uint32_t code, uint32_t req_type, uint32_t detail) {
  p[0] = (uint8_t)code;
  p[1] = (uint8_t)req_type;
  p[2] = 0u;
  p[3] = 0u;
  tf_put_u32(p + 4, detail);
}

/* An ERROR that is not a reply to an executed request: not cached, no state change. */
static void tf_send_uncached_error(uint32_t code, uint32_t req_type, uint16_t seq, uint32_t detail) {
  tf_put_error_payload(tf_err_frame + TF_PROTO_HEADER_BYTES, code, req_type, detail);
  (void)tf_send(tf_err_frame, TF_ERROR_PAYLOAD_BYTES, (uint8_t)TF_MSG_ERROR, seq, tf_err_wire,
                (uint32_t)sizeof tf_err_wire);
}

static void tf_send_framing_error(uint32_t code, uint16_t seq, uint32_t detail) {
  tf_st.rx_errors++;
  tf_send_uncached_error(code, 0u, seq, detail);
}

/* ---- stack painting ---- */

/* Fills the stack from tf_hal_stack_lowest() up to TF_AGENT_STACK_MARGIN bytes below this
 * function's local with TF_AGENT_STACK_PAINT. Everything below the current stack pointer is free;
 * the margin covers the part of this frame that may lie below `marker`. */
static TF_NOINLINE void tf_stack_paint(void);

static void tf_stack_paint(void) {
  volatile uint8_t marker = 0;
  uintptr_t here = (uintptr_t)&marker;
  uintptr_t lowest = (uintptr_t)tf_hal_stack_lowest();
  uintptr_t top = (uintptr_t)tf_hal_stack_top();
  uintptr_t p;
  tf_stack.known = 0;
  if (lowest == 0u || top <= lowest || here <= lowest || here > top) {
    return;
  }
  if (here - lowest <= TF_AGENT_STACK_MARGIN) {
    return;
  }
  tf_stack.lowest = lowest;
  tf_stack.top = top;
  tf_stack.painted_end = here - TF_AGENT_STACK_MARGIN;
  for (p = lowest; p < tf_stack.painted_end; p++) {
    *(volatile uint8_t *)p = (uint8_t)TF_AGENT_STACK_PAINT;
  }
  tf_stack.known = 1;
}

static uint32_t tf_stack_high_water(void) {
  uintptr_t p;
  if (!tf_stack.known) {
    return 0;
  }
  for (p = tf_stack.lowest; p < tf_stack.painted_end; p++) {
    if (*(volatile const uint8_t *)p != (uint8_t)TF_AGENT_STACK_PAINT) {
      break;
    }
  }
  return (uint32_t)(tf_stack.top - p);
}

/* ---- commands ---- */

typedef struct {
  uint32_t error;  /* 0, or a TF_ERR_* code */
  uint32_t detail; /* the ERROR detail */
  uint32_t len;    /* reply payload bytes written at tf_tx_frame + 6 */
} tf_result_t;

static tf_result_t tf_ok(uint32_t len) {
  tf_result_t r;
  r.error = 0;
  r.detail = 0;
  r.len = len;
  return r;
}

static tf_result_t tf_fail(uint32_t code, uint32_t detail) {
  tf_result_t r;
  r.error = code;
  r.detail = detail;
  r.len = 0;
  return r;
}

static int tf_hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Copies a NUL-terminated string of at most max bytes; returns the bytes copied. */
static uint32_t tf_copy_string(uint8_t *dst, const char *s, uint32_t max) {
  uint32_t n = 0;
  if (s == NULL) {
    return 0;
  }
  while (n < max && s[n] != '\0') {
    dst[n] = (uint8_t)s[n];
    n++;
  }
  return n;
}

static tf_result_t tf_cmd_hello(uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  const char *sha = tf_agent_model.model_sha256;
  uint32_t ni = tf_num_inputs();
  uint32_t no = tf_num_outputs();
  uint32_t off;
  uint32_t i;
  uint32_t board_len;
  uint32_t counter_len;
  int sha_ok = sha != NULL;
  if (len != 0u) {
    return tf_fail(TF_ERR_BAD_REQUEST, 0);
  }
  out[0] = (uint8_t)TF_PROTO_VERSION;
  out[1] = (uint8_t)ni;
  out[2] = (uint8_t)no;
  out[7] = 0u;
  tf_put_u16(out + 4, TF_AGENT_MAX_PAYLOAD);
  tf_put_u32(out + 8, tf_agent_model.arena_bytes);
  tf_put_u32(out + 12, tf_hal_cycles_per_tick());
  /* The sha256 as 32 raw bytes; all zeros when the string is not 64 hex digits. */
  for (i = 0; sha_ok && i < 64u; i++) {
    sha_ok = tf_hex_digit(sha[i]) >= 0;
  }
  for (i = 0; i < 32u; i++) {
    out[16u + i] = sha_ok ? (uint8_t)((tf_hex_digit(sha[2u * i]) << 4) | tf_hex_digit(sha[2u * i + 1u])) : 0u;
  }
  off = TF_HELLO_FIXED_BYTES;
  for (i = 0; i < ni; i++, off += 4u) {
    tf_put_u32(out + off, tf_agent_model.input_bytes[i]);
  }
  for (i = 0; i < no; i++, off += 4u) {
    tf_put_u32(out + off, tf_agent_model.output_bytes[i]);
  }
  board_len = tf_copy_string(out + off, tf_agent_model.board_id, TF_HELLO_MAX_BOARD_ID);
  off += board_len;
  counter_len = tf_copy_string(out + off, tf_hal_counter_name(), TF_HELLO_MAX_COUNTER_NAME);
  off += counter_len;
  out[3] = (uint8_t)board_len;
  out[6] = (uint8_t)counter_len;
  return tf_ok(off);
}

static tf_result_t tf_cmd_write_input(const uint8_t *p, uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  uint32_t index;
  uint32_t offset;
  uint32_t count;
  uint32_t size;
  if (len < TF_IO_HEADER_BYTES) {
    return tf_fail(TF_ERR_BAD_REQUEST, TF_IO_HEADER_BYTES);
  }
  index = p[0];
  offset = tf_get_u32(p + 4);
  count = len - TF_IO_HEADER_BYTES;
  if (index >= tf_num_inputs()) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, tf_num_inputs());
  }
  size = tf_agent_model.input_bytes[index];
  if (offset > size || count > size - offset || tf_agent_model.inputs[index] == NULL) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, size);
  }
  tf_copy(tf_agent_model.inputs[index] + offset, p + TF_IO_HEADER_BYTES, count);
  tf_st.outputs_valid = 0;
  out[0] = (uint8_t)index;
  out[1] = 0u;
  out[2] = 0u;
  out[3] = 0u;
  tf_put_u32(out + 4, offset + count);
  return tf_ok(TF_IO_HEADER_BYTES);
}

static tf_result_t tf_cmd_invoke(uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  uint32_t t0;
  uint32_t t1;
  int status;
  if (len != 0u) {
    return tf_fail(TF_ERR_BAD_REQUEST, 0);
  }
  tf_st.outputs_valid = 0;
  t0 = tf_hal_cycles();
  status = tf_agent_model_invoke();
  t1 = tf_hal_cycles();
  tf_st.last_ticks = t1 - t0;
  tf_st.invoke_count++;
  if (status != 0) {
    return tf_fail(TF_ERR_INVOKE_FAILED, (uint32_t)status);
  }
  tf_st.outputs_valid = 1;
  tf_put_u32(out, 0u);
  tf_put_u32(out + 4, tf_st.last_ticks);
  return tf_ok(TF_INVOKE_REPLY_BYTES);
}

static tf_result_t tf_cmd_read_output(const uint8_t *p, uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  uint32_t index;
  uint32_t length;
  uint32_t offset;
  uint32_t size;
  if (len != TF_IO_HEADER_BYTES) {
    return tf_fail(TF_ERR_BAD_REQUEST, TF_IO_HEADER_BYTES);
  }
  index = p[0];
  length = tf_get_u16(p + 2);
  offset = tf_get_u32(p + 4);
  if (index >= tf_num_outputs()) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, tf_num_outputs());
  }
  if (length > TF_MAX_CHUNK) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, TF_MAX_CHUNK);
  }
  size = tf_agent_model.output_bytes[index];
  if (offset > size || length > size - offset || tf_agent_model.outputs[index] == NULL) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, size);
  }
  if (!tf_st.outputs_valid) {
    return tf_fail(TF_ERR_NOT_READY, 0);
  }
  tf_copy(out, p, TF_IO_HEADER_BYTES);
  out[1] = 0u;
  tf_copy(out + TF_IO_HEADER_BYTES, tf_agent_model.outputs[index] + offset, length);
  return tf_ok(TF_IO_HEADER_BYTES + length);
}

static tf_result_t tf_cmd_stats(uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  if (len != 0u) {
    return tf_fail(TF_ERR_BAD_REQUEST, 0);
  }
  tf_put_u32(out, tf_st.last_ticks);
  tf_put_u32(out + 4, tf_stack_high_water());
  tf_put_u32(out + 8, tf_stack.known ? (uint32_t)(tf_stack.top - tf_stack.lowest) : 0u);
  tf_put_u32(out + 12, tf_agent_model.arena_bytes);
  tf_put_u32(out + 16, tf_st.invoke_count);
  tf_put_u32(out + 20, tf_st.rx_errors);
  return tf_ok(TF_STATS_REPLY_BYTES);
}

/* ---- per-layer profile ----
 * Firmware built with -DTF_PROFILE has the model call tf_profile_mark(i) before layer i and
 * after the last one; PROFILE reads those counter values of the last inference. */
#ifdef TF_PROFILE
#define TF_PROFILE_MAX_MARKS 256u
static uint32_t tf_profile_ticks[TF_PROFILE_MAX_MARKS];
static uint32_t tf_profile_marks;

void tf_profile_mark(int layer);
void tf_profile_mark(int layer) {
  if (layer < 0 || (uint32_t)layer >= TF_PROFILE_MAX_MARKS) return;
  tf_profile_ticks[layer] = tf_hal_cycles();
  if ((uint32_t)layer + 1u > tf_profile_marks) tf_profile_marks = (uint32_t)layer + 1u;
}
#endif

static tf_result_t tf_cmd_profile(const uint8_t *p, uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  uint32_t first;
  uint32_t total = 0u;
  uint32_t n = 0u;
  if (len != TF_PROFILE_REQUEST_BYTES) {
    return tf_fail(TF_ERR_BAD_REQUEST, TF_PROFILE_REQUEST_BYTES);
  }
  first = tf_get_u16(p);
#ifdef TF_PROFILE
  total = tf_profile_marks;
  if (first > total) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, total);
  }
  n = total - first;
  if (n > (TF_AGENT_MAX_PAYLOAD - TF_PROFILE_REPLY_HEADER_BYTES) / 4u) n = (TF_AGENT_MAX_PAYLOAD - TF_PROFILE_REPLY_HEADER_BYTES) / 4u;
  for (uint32_t i = 0; i < n; ++i) tf_put_u32(out + TF_PROFILE_REPLY_HEADER_BYTES + 4u * i, tf_profile_ticks[first + i]);
#else
  (void)first;
#endif
  out[0] = (uint8_t)total;
  out[1] = (uint8_t)(total >> 8);
  out[2] = (uint8_t)n;
  out[3] = (uint8_t)(n >> 8);
  return tf_ok(TF_PROFILE_REPLY_HEADER_BYTES + 4u * n);
}

/* ---- RESET: start a new stream (a stateful model forgets what earlier invokes left) ---- */

static tf_result_t tf_cmd_reset(uint32_t len) {
  if (len != 0u) {
    return tf_fail(TF_ERR_BAD_REQUEST, 0);
  }
  tf_agent_model_reset();
  tf_st.outputs_valid = 0;
  return tf_ok(0);
}

/* ---- TEXT: tokenize a sentence on the device and run the text model on it ---- */

static tf_result_t tf_cmd_text(const uint8_t *p, uint32_t len) {
  uint8_t *out = tf_tx_frame + TF_PROTO_HEADER_BYTES;
  uint32_t seq_len = tf_agent_model.text_seq_len;
  uint32_t count = 0u;
  uint32_t t0;
  uint32_t t1;
  uint32_t i;
  int status;
  if (seq_len == 0u || tf_num_inputs() < 1u || tf_agent_model.inputs[0] == NULL) {
    return tf_fail(TF_ERR_UNKNOWN_COMMAND, 0);
  }
  if (TF_TEXT_REPLY_HEADER_BYTES + 4u * seq_len > TF_AGENT_MAX_PAYLOAD) {
    return tf_fail(TF_ERR_OUT_OF_RANGE, TF_AGENT_MAX_PAYLOAD);
  }
  tf_st.outputs_valid = 0;
  t0 = tf_hal_cycles();
  status = tf_agent_model_text(p, len, &count);
  t1 = tf_hal_cycles();
  tf_st.last_ticks = t1 - t0;
  tf_st.invoke_count++;
  if (status != 0) {
    return tf_fail(TF_ERR_INVOKE_FAILED, (uint32_t)status);
  }
  tf_st.outputs_valid = 1;
  tf_put_u32(out, 0u);
  tf_put_u32(out + 4, tf_st.last_ticks);
  tf_put_u16(out + 8, (uint16_t)count);
  tf_put_u16(out + 10, (uint16_t)seq_len);
  /* The ids as the model got them (input 0 is int32, in the target's byte order). */
  for (i = 0; i < seq_len; i++) {
    int32_t id;
    tf_copy((uint8_t *)&id, tf_agent_model.inputs[0] + 4u * i, 4u);
    tf_put_u32(out + TF_TEXT_REPLY_HEADER_BYTES + 4u * i, (uint32_t)id);
  }
  return tf_ok(TF_TEXT_REPLY_HEADER_BYTES + 4u * seq_len);
}

static tf_result_t tf_dispatch(uint32_t type, const uint8_t *payload, uint32_t len) {
  switch (type) {
    case TF_MSG_HELLO:
      return tf_cmd_hello(len);
    case TF_MSG_WRITE_INPUT:
      return tf_cmd_write_input(payload, len);
    case TF_MSG_INVOKE:
      return tf_cmd_invoke(len);
    case TF_MSG_READ_OUTPUT:
      return tf_cmd_read_output(payload, len);
    case TF_MSG_STATS:
      return tf_cmd_stats(len);
    case TF_MSG_PROFILE:
      return tf_cmd_profile(payload, len);
    case TF_MSG_RESET:
      return tf_cmd_reset(len);
    case TF_MSG_TEXT:
      return tf_cmd_text(payload, len);
    default:
      return tf_fail(TF_ERR_UNKNOWN_COMMAND, 0);
  }
}

/* ---- one received frame ---- */

static void tf_handle_frame(uint32_t encoded_len) {
  int32_t decoded = tf_cobs_decode(tf_rx, encoded_len, tf_rx, (uint32_t)sizeof tf_rx);
  uint32_t n;
  uint32_t len;
  uint32_t type;
  uint32_t crc;
  uint16_t seq;
  tf_result_t r;
  if (decoded < 0) {
    tf_send_framing_error(TF_ERR_BAD_FRAME, 0, 0);
    return;
  }
  n = (uint32_t)decoded;
  seq = n >= 4u ? (uint16_t)tf_get_u16(tf_rx + 2) : 0u;
  if (n < TF_PROTO_HEADER_BYTES + TF_PROTO_CRC_BYTES) {
    tf_send_framing_error(TF_ERR_BAD_LENGTH, seq, n);
    return;
  }
  len = tf_get_u16(tf_rx + 4);
  if (len > TF_AGENT_MAX_PAYLOAD) {
    tf_send_framing_error(TF_ERR_OVERSIZED, seq, TF_AGENT_MAX_PAYLOAD);
    return;
  }
  if (len != n - TF_PROTO_HEADER_BYTES - TF_PROTO_CRC_BYTES) {
    tf_send_framing_error(TF_ERR_BAD_LENGTH, seq, n);
    return;
  }
  crc = tf_crc32(tf_rx, TF_PROTO_HEADER_BYTES + len);
  if (crc != tf_get_u32(tf_rx + TF_PROTO_HEADER_BYTES + len)) {
    tf_send_framing_error(TF_ERR_BAD_CRC, seq, 0);
    return;
  }
  type = tf_rx[1];
  if (tf_rx[0] != TF_PROTO_VERSION) {
    tf_send_uncached_error(TF_ERR_BAD_VERSION, type, seq, TF_PROTO_VERSION);
    return;
  }

  /* Sequence rules (docs/protocol.md section 3). */
  if (tf_st.synced && seq == tf_st.last_seq && type == tf_st.last_type && crc == tf_st.last_crc) {
    tf_hal_uart_write(tf_tx_wire, tf_tx_wire_len);
    return;
  }
  if (seq == 0u) {
    tf_send_uncached_error(TF_ERR_SEQUENCE, type, seq, tf_st.synced ? tf_next_seq(tf_st.last_seq) : 0u);
    return;
  }
  if (type != TF_MSG_HELLO) {
    if (!tf_st.synced) {
      tf_send_uncached_error(TF_ERR_SEQUENCE, type, seq, 0u);
      return;
    }
    if (seq != tf_next_seq(tf_st.last_seq)) {
      tf_send_uncached_error(TF_ERR_SEQUENCE, type, seq, tf_next_seq(tf_st.last_seq));
      return;
    }
  }

  r = tf_dispatch(type, tf_rx + TF_PROTO_HEADER_BYTES, len);
  if (type == TF_MSG_HELLO && r.error == 0u) {
    tf_st.synced = 1;
  }
  tf_st.last_seq = seq;
  tf_st.last_type = (uint8_t)type;
  tf_st.last_crc = crc;
  if (r.error != 0u) {
    tf_put_error_payload(tf_tx_frame + TF_PROTO_HEADER_BYTES, r.error, type, r.detail);
    tf_tx_wire_len = tf_send(tf_tx_frame, TF_ERROR_PAYLOAD_BYTES, (uint8_t)TF_MSG_ERROR, seq, tf_tx_wire,
                             (uint32_t)sizeof tf_tx_wire);
  } else {
    tf_tx_wire_len = tf_send(tf_tx_frame, r.len, (uint8_t)(type | TF_MSG_REPLY), seq, tf_tx_wire,
                             (uint32_t)sizeof tf_tx_wire);
  }
}

int main(void) {
  tf_hal_init();
  tf_stack_paint();
  /* BOOT: seq 0, empty payload, so the host can tell that the agent (re)started. */
  (void)tf_send(tf_err_frame, 0u, (uint8_t)TF_MSG_BOOT, 0u, tf_err_wire, (uint32_t)sizeof tf_err_wire);
  for (;;) {
    uint8_t b = tf_hal_uart_getc();
    if (b != 0u) {
      if (tf_rx_len < (uint32_t)sizeof tf_rx) {
        tf_rx[tf_rx_len++] = b;
      } else {
        tf_rx_overflow = 1;
      }
      continue;
    }
    if (tf_rx_overflow) {
      uint16_t seq = tf_rx_len >= 5u && tf_rx[0] >= 5u ? (uint16_t)tf_get_u16(tf_rx + 3) : 0u;
      tf_send_framing_error(TF_ERR_OVERSIZED, seq, TF_AGENT_MAX_PAYLOAD);
    } else if (tf_rx_len > 0u) {
      tf_handle_frame(tf_rx_len);
    }
    tf_rx_len = 0;
    tf_rx_overflow = 0;
  }
  return 0;
}
