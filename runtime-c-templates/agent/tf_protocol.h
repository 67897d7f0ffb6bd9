/* tinyforge agent wire protocol, version 1: constants, COBS and CRC-32.
 * docs/protocol.md is the specification; flasher/protocol/ is the host side. */
#ifndef TF_PROTOCOL_H
#define TF_PROTOCOL_H

#include <stdint.h>

#define TF_PROTO_VERSION 1u

/* Decoded frame: version u8, type u8, seq u16, length u16, payload, CRC-32 u32 (all LE). */
#define TF_PROTO_HEADER_BYTES 6u
#define TF_PROTO_CRC_BYTES 4u
#define TF_PROTO_MAX_PAYLOAD 1024u
/* The smallest max payload an agent may be built with (HELLO's reply must fit). */
#define TF_PROTO_MIN_PAYLOAD 256u

/* Bound on the COBS encoding of n bytes (canonical encoding takes at most n + ceil(n/254)). */
#define TF_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Message types. Replies are request | TF_MSG_REPLY. */
#define TF_MSG_HELLO 0x01u
#define TF_MSG_WRITE_INPUT 0x02u
#define TF_MSG_INVOKE 0x03u
#define TF_MSG_READ_OUTPUT 0x04u
#define TF_MSG_STATS 0x05u
#define TF_MSG_PROFILE 0x06u
#define TF_MSG_RESET 0x07u
#define TF_MSG_FEED 0x08u
#define TF_MSG_ENROLL 0x09u
#define TF_MSG_READ_HEAD 0x0Au
#define TF_MSG_TEXT 0x0Bu
#define TF_MSG_REPLY 0x80u
#define TF_MSG_BOOT 0xFEu
#define TF_MSG_ERROR 0xFFu

/* ERROR codes. 1-4 are framing errors: nothing was executed, the host retransmits. */
#define TF_ERR_BAD_CRC 1u
#define TF_ERR_BAD_LENGTH 2u
#define TF_ERR_OVERSIZED 3u
#define TF_ERR_BAD_FRAME 4u
#define TF_ERR_BAD_VERSION 5u
#define TF_ERR_SEQUENCE 6u
#define TF_ERR_UNKNOWN_COMMAND 7u
#define TF_ERR_BAD_REQUEST 8u
#define TF_ERR_OUT_OF_RANGE 9u
#define TF_ERR_NOT_READY 10u
#define TF_ERR_INVOKE_FAILED 11u

/* Payload sizes. */
#define TF_HELLO_FIXED_BYTES 48u
#define TF_HELLO_MAX_BOARD_ID 63u
#define TF_HELLO_MAX_COUNTER_NAME 31u
#define TF_IO_HEADER_BYTES 8u /* WRITE_INPUT / READ_OUTPUT request header and their reply header */
#define TF_INVOKE_REPLY_BYTES 8u
#define TF_STATS_REPLY_BYTES 24u
#define TF_PROFILE_REQUEST_BYTES 2u
#define TF_PROFILE_REPLY_HEADER_BYTES 4u
#define TF_ERROR_PAYLOAD_BYTES 8u
#define TF_FEED_REPLY_HEADER_BYTES 16u
#define TF_ENROLL_REQUEST_BYTES 4u
#define TF_ENROLL_REPLY_BYTES 20u
#define TF_READ_HEAD_HEADER_BYTES 8u /* READ_HEAD request and its reply header */
/* ENROLL's detail when a class holds the most examples it can. */
#define TF_ENROLL_MAX_EXAMPLES 65535u
#define TF_TEXT_REPLY_HEADER_BYTES 12u /* status, ticks, token count, sequence length; then the ids */

/* CRC-32 (IEEE 802.3 / zlib): reflected 0xEDB88320, init and final XOR 0xFFFFFFFF.
 * tf_crc32("123456789", 9) == 0xCBF43926. */
uint32_t tf_crc32(const uint8_t *data, uint32_t n);

/* COBS-encodes n bytes of src into dst (canonical form, no delimiter). Returns the encoded length
 * (>= 1), or 0 when dst_cap is too small. src and dst must not overlap. */
uint32_t tf_cobs_encode(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t dst_cap);

/* Decodes n COBS bytes (no delimiter) of src into dst. Returns the decoded length, or -1 when the
 * input is not valid COBS (a zero byte, or a block running past the end) or does not fit dst_cap.
 * dst may equal src: decoding never writes ahead of where it reads. */
int32_t tf_cobs_decode(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t dst_cap);

#endif /* TF_PROTOCOL_H */
