// Stand-in ESP-IDF headers: the few declarations the generated ESP-IDF sources use, with the
// SDK's signatures, so the HAL and the model compile (not link) without ESP-IDF installed.

export const ESP_STUBS: Readonly<Record<string, string>> = {
  // ESP-IDF defines it as a numbered .ext_ram.bss section when CONFIG_SPIRAM_ALLOW_BSS_SEG_EXTERNAL_MEMORY
  // is set (empty otherwise); the linker fragment maps .ext_ram.bss* to PSRAM.
  'esp_attr.h': '#pragma once\n#define EXT_RAM_BSS_ATTR __attribute__((section(".ext_ram.bss.0")))\n',
  'sdkconfig.h': '#pragma once\n#define CONFIG_IDF_TARGET "stub"\n',
  'soc/soc_caps.h': '#pragma once\n#define SOC_CPU_CORES_NUM (2U)\n',
  'esp_err.h': `#pragma once
typedef int esp_err_t;
#define ESP_OK 0
void _esp_error_check_failed(esp_err_t rc, const char *file, int line, const char *function, const char *expression);
#define ESP_ERROR_CHECK(x) do { esp_err_t err_rc_ = (x); if (err_rc_ != ESP_OK) _esp_error_check_failed(err_rc_, __FILE__, __LINE__, __func__, #x); } while (0)
`,
  'esp_cpu.h': '#pragma once\n#include <stdint.h>\ntypedef uint32_t esp_cpu_cycle_count_t;\nesp_cpu_cycle_count_t esp_cpu_get_cycle_count(void);\n',
  'freertos/FreeRTOS.h': `#pragma once
#include <stdint.h>
typedef uint8_t StackType_t;
typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint32_t TickType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
typedef struct { void *opaque[48]; } StaticTask_t;
`,
  'freertos/task.h': `#pragma once
#include "freertos/FreeRTOS.h"
typedef struct tskTaskControlBlock *TaskHandle_t;
typedef void (*TaskFunction_t)(void *);
TaskHandle_t xTaskCreateStaticPinnedToCore(TaskFunction_t pxTaskCode, const char *const pcName, const uint32_t ulStackDepth,
                                           void *const pvParameters, UBaseType_t uxPriority, StackType_t *const puxStackBuffer,
                                           StaticTask_t *const pxTaskBuffer, const BaseType_t xCoreID);
void vTaskDelete(TaskHandle_t xTaskToDelete);
`,
  'driver/uart.h': `#pragma once
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"
#include "freertos/FreeRTOS.h"
typedef int uart_port_t;
#define UART_NUM_0 0
#define UART_PIN_NO_CHANGE (-1)
typedef enum { UART_DATA_5_BITS, UART_DATA_6_BITS, UART_DATA_7_BITS, UART_DATA_8_BITS } uart_word_length_t;
typedef enum { UART_PARITY_DISABLE = 0, UART_PARITY_EVEN = 2, UART_PARITY_ODD = 3 } uart_parity_t;
typedef enum { UART_STOP_BITS_1 = 1, UART_STOP_BITS_1_5 = 2, UART_STOP_BITS_2 = 3 } uart_stop_bits_t;
typedef enum { UART_HW_FLOWCTRL_DISABLE = 0, UART_HW_FLOWCTRL_CTS_RTS = 3 } uart_hw_flowcontrol_t;
typedef enum { UART_SCLK_DEFAULT = 4 } uart_sclk_t;
typedef struct {
  int baud_rate;
  uart_word_length_t data_bits;
  uart_parity_t parity;
  uart_stop_bits_t stop_bits;
  uart_hw_flowcontrol_t flow_ctrl;
  uint8_t rx_flow_ctrl_thresh;
  union {
    uart_sclk_t source_clk;
    int lp_source_clk;
  };
} uart_config_t;
esp_err_t uart_param_config(uart_port_t uart_num, const uart_config_t *uart_config);
esp_err_t uart_set_pin(uart_port_t uart_num, int tx_io_num, int rx_io_num, int rts_io_num, int cts_io_num);
esp_err_t uart_driver_install(uart_port_t uart_num, int rx_buffer_size, int tx_buffer_size, int queue_size, void *uart_queue, int intr_alloc_flags);
int uart_read_bytes(uart_port_t uart_num, void *buf, uint32_t length, TickType_t ticks_to_wait);
int uart_write_bytes(uart_port_t uart_num, const void *src, size_t size);
`,
};
