/* tinyforge board support: the C view of the Arduino serial stream used by hal_arduino.c.
 * Implemented in C++ (tf_serial_bridge.cpp) because the Arduino stream objects are C++. */
#ifndef TF_SERIAL_BRIDGE_H
#define TF_SERIAL_BRIDGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the stream at `baud` and, for a USB CDC port, waits until the host has opened it. */
void tf_serial_begin(uint32_t baud);

/* Waits for one byte and returns it (0..255). */
int tf_serial_read_blocking(void);

/* Writes all n bytes, waiting while the stream's buffer is full. */
void tf_serial_write(const uint8_t *data, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* TF_SERIAL_BRIDGE_H */
