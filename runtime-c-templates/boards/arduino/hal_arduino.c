/* tinyforge board support: tf_hal.h for the Arduino Nano 33 BLE (nRF52840) under the Arduino
 * core (ArduinoCore-mbed), in the Arduino IDE or PlatformIO.
 *
 * Entry: the core owns main(); the sketch's setup() calls tf_agent_main(), which is the agent's
 * main() renamed (see the first lines of this library's tf_agent.c), and never returns.
 *
 * Serial line: the board's native USB port as a CDC serial device (the core's `Serial`,
 * VID:PID 2341:805a), through the C++ bridge in tf_serial_bridge.cpp. The baud rate means
 * nothing to USB CDC but is passed on anyway. tf_hal_init waits until the host has opened the
 * port (DTR), so the agent's BOOT frame is not sent into the void. Define TF_ARDUINO_SERIAL
 * (e.g. to Serial1, the UART on pins D1/TX and D0/RX) to use another stream.
 *
 * Counter: DWT CYCCNT of the Cortex-M4, one core cycle (64 MHz) per tick. Mbed OS keeps running
 * its own interrupts (USB, the RTOS tick) during an inference, and their cycles are counted.
 * Stack: unknown here (the sketch runs on an Mbed OS thread whose stack this library does not
 * see): both bounds are NULL, and the agent's STATS reports stack usage as 0. */
#include <stddef.h>
#include <stdint.h>

#include "tf_board_config.h"
#include "tf_dwt.h"
#include "tf_hal.h"
#include "tf_serial_bridge.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "dwt-cyccnt"
#endif

/* Whether CYCCNT runs (tf_dwt_start): HELLO names the counter "none" when it does not. */
static int tf_counter_running;

void tf_hal_init(void) {
  tf_serial_begin(TF_HAL_BAUD);
  tf_counter_running = tf_dwt_start();
}

uint8_t tf_hal_uart_getc(void) { return (uint8_t)tf_serial_read_blocking(); }

void tf_hal_uart_write(const uint8_t *data, uint32_t n) { tf_serial_write(data, n); }

uint32_t tf_hal_cycles(void) { return tf_dwt_cycles(); }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return tf_counter_running ? TF_HAL_COUNTER_NAME : "none"; }

uint8_t *tf_hal_stack_lowest(void) { return NULL; }

uint8_t *tf_hal_stack_top(void) { return NULL; }
