// tinyforge board support: tf_serial_bridge.h over an Arduino serial stream (default `Serial`,
// the board's USB CDC port). Waiting loops sleep with delay(), which on the Mbed OS core lets
// other threads run, only while nothing can be read or written: a burst of bytes is taken
// without pause.
#include <Arduino.h>

#include "tf_serial_bridge.h"

#ifndef TF_ARDUINO_SERIAL
#define TF_ARDUINO_SERIAL Serial
#endif

extern "C" void tf_serial_begin(uint32_t baud) {
  TF_ARDUINO_SERIAL.begin(baud);
  while (!TF_ARDUINO_SERIAL) {
    delay(10);
  }
}

extern "C" int tf_serial_read_blocking(void) {
  int c;
  while ((c = TF_ARDUINO_SERIAL.read()) < 0) {
    delay(1);
  }
  return c & 0xFF;
}

extern "C" void tf_serial_write(const uint8_t *data, uint32_t n) {
  while (n > 0u) {
    size_t sent = TF_ARDUINO_SERIAL.write(data, static_cast<size_t>(n));
    if (sent == 0u) {
      delay(1);
      continue;
    }
    data += sent;
    n -= static_cast<uint32_t>(sent);
  }
}
