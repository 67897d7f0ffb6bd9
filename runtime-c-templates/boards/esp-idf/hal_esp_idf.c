/* tinyforge board support: tf_hal.h and the application entry for ESP32, ESP32-S3 and ESP32-C3
 * boards under ESP-IDF (v5.1 or later).
 *
 * Entry: ESP-IDF calls app_main() from its main task once the system is up. The agent's own
 * entry is main() in tf_agent.c, which the component's CMakeLists.txt compiles with
 * -Dmain=tf_agent_main; app_main() starts it in a task of its own, pinned to one core (the
 * cycle counter is per core, and a task that migrated between the two reads of an INVOKE would
 * report nonsense), with a statically allocated stack of TF_ESP_AGENT_STACK_BYTES so that the
 * agent knows its bounds and can report the stack high-water mark. app_main() then returns,
 * which ends ESP-IDF's main task.
 *
 * UART: UART0 through the ESP-IDF UART driver, on the chip's default UART0 pins, which the
 * DevKits wire to their USB-serial bridge (the port the ROM loader is flashed through):
 * ESP32 GPIO1 TX / GPIO3 RX, ESP32-S3 GPIO43 TX / GPIO44 RX, ESP32-C3 GPIO21 TX / GPIO20 RX.
 * 8 data bits, no parity, 1 stop bit, TF_HAL_BAUD (tf_board_config.h). The agent owns the port:
 * sdkconfig.defaults turns the ESP-IDF console off (CONFIG_ESP_CONSOLE_NONE), so neither logs nor
 * printf reach it; only the ROM bootloader's banner at reset does, and the protocol's leading
 * 0x00 delimiter makes the host discard it. Reads block in the driver (the task sleeps, the
 * scheduler runs), writes return once the bytes are in the hardware FIFO.
 *
 * Counter: esp_cpu_get_cycle_count(): the CCOUNT special register on the Xtensa cores, the
 * machine performance counter on the ESP32-C3's RISC-V core; one CPU cycle per tick, at the
 * CPU frequency chosen in sdkconfig.defaults.
 * Stack: the agent task's static stack, tf_esp_agent_stack. */
#include <stdint.h>
#include <stdlib.h>

#include "driver/uart.h"
#include "esp_cpu.h"
#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "soc/soc_caps.h"

#include "tf_board_config.h"
#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "ccount"
#endif
#ifndef TF_ESP_UART_NUM
#define TF_ESP_UART_NUM UART_NUM_0
#endif
/* Room for several largest frames (1041 bytes on the wire) while the agent computes. */
#ifndef TF_ESP_UART_RX_BUFFER
#define TF_ESP_UART_RX_BUFFER 4096
#endif
#ifndef TF_ESP_AGENT_STACK_BYTES
#define TF_ESP_AGENT_STACK_BYTES 16384u
#endif
#ifndef TF_ESP_AGENT_PRIORITY
#define TF_ESP_AGENT_PRIORITY 5
#endif
/* The second core when there is one and FreeRTOS uses it: it carries no ESP-IDF system tasks
 * (timers, inter-processor calls), so fewer interruptions land inside a measured inference. */
#ifndef TF_ESP_AGENT_CORE
#if defined(CONFIG_FREERTOS_UNICORE) || !defined(SOC_CPU_CORES_NUM) || SOC_CPU_CORES_NUM < 2
#define TF_ESP_AGENT_CORE 0
#else
#define TF_ESP_AGENT_CORE 1
#endif
#endif

int tf_agent_main(void);

/* ESP-IDF's FreeRTOS counts stack sizes in bytes (StackType_t is one byte wide there). */
static StackType_t tf_esp_agent_stack[TF_ESP_AGENT_STACK_BYTES / sizeof(StackType_t)] __attribute__((aligned(16)));
static StaticTask_t tf_esp_agent_tcb;

static void tf_esp_agent_task(void *arg) {
  (void)arg;
  (void)tf_agent_main(); /* does not return */
  vTaskDelete(NULL);
}

void app_main(void) {
  TaskHandle_t task = xTaskCreateStaticPinnedToCore(tf_esp_agent_task, "tf_agent", TF_ESP_AGENT_STACK_BYTES, NULL,
                                                    TF_ESP_AGENT_PRIORITY, tf_esp_agent_stack, &tf_esp_agent_tcb,
                                                    TF_ESP_AGENT_CORE);
  if (task == NULL) {
    abort(); /* static allocation cannot fail unless the core number is wrong */
  }
}

void tf_hal_init(void) {
  const uart_config_t config = {
      .baud_rate = (int)TF_HAL_BAUD,
      .data_bits = UART_DATA_8_BITS,
      .parity = UART_PARITY_DISABLE,
      .stop_bits = UART_STOP_BITS_1,
      .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
      .source_clk = UART_SCLK_DEFAULT,
  };
  ESP_ERROR_CHECK(uart_param_config(TF_ESP_UART_NUM, &config));
  ESP_ERROR_CHECK(uart_set_pin(TF_ESP_UART_NUM, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE,
                               UART_PIN_NO_CHANGE));
  /* No TX ring buffer: uart_write_bytes returns when the bytes are in the hardware FIFO. */
  ESP_ERROR_CHECK(uart_driver_install(TF_ESP_UART_NUM, TF_ESP_UART_RX_BUFFER, 0, 0, NULL, 0));
}

uint8_t tf_hal_uart_getc(void) {
  uint8_t b = 0;
  while (uart_read_bytes(TF_ESP_UART_NUM, &b, 1, portMAX_DELAY) != 1) {
  }
  return b;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  while (n > 0u) {
    int sent = uart_write_bytes(TF_ESP_UART_NUM, data, n);
    if (sent <= 0) {
      continue;
    }
    data += sent;
    n -= (uint32_t)sent;
  }
}

uint32_t tf_hal_cycles(void) { return (uint32_t)esp_cpu_get_cycle_count(); }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return TF_HAL_COUNTER_NAME; }

uint8_t *tf_hal_stack_lowest(void) { return (uint8_t *)tf_esp_agent_stack; }

uint8_t *tf_hal_stack_top(void) { return (uint8_t *)tf_esp_agent_stack + sizeof tf_esp_agent_stack; }
