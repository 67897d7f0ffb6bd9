/* tinyforge board support: tf_hal.h for the STM32F446RE on a NUCLEO-F446RE, bare metal.
 *
 * UART: USART2 on PA2 (TX) and PA3 (RX), alternate function 7. On the NUCLEO-64 board these two
 * pins go to the ST-LINK's virtual COM port (solder bridges SB13/SB14, closed as shipped), so the
 * host talks to the agent through the same USB cable that powers the board. 8 data bits, no
 * parity, 1 stop bit, TF_HAL_BAUD (tf_board_config.h), polled, no interrupts.
 *
 * Clock: nothing here touches the RCC clock tree, so the core and the buses run on the reset
 * clock, the 16 MHz internal HSI RC with all prescalers at 1. USART2 sits on APB1, hence
 * BRR = round(TF_STM32_PCLK1_HZ / baud) with 16x oversampling (16 MHz / 115200 -> 139, 0.08 %
 * off). Firmware that raises the clock must define TF_STM32_PCLK1_HZ to the new APB1 clock.
 * Cycle counts do not depend on the clock rate, but flash wait states do: at 16 MHz the flash
 * needs none, at 180 MHz it needs five, so counts measured here are a lower bound for a
 * full-speed configuration.
 *
 * Counter: DWT CYCCNT, one core cycle per tick.
 * Stack: __StackLimit .. __StackTop of the generated linker script. */
#include <stdint.h>

#include "tf_board_config.h"
#include "tf_dwt.h"
#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "dwt-cyccnt"
#endif
#ifndef TF_STM32_PCLK1_HZ
#define TF_STM32_PCLK1_HZ 16000000u
#endif

#define TF_REG(addr) (*(volatile uint32_t *)(addr))

#define TF_RCC_BASE 0x40023800u
#define TF_RCC_AHB1ENR TF_REG(TF_RCC_BASE + 0x30u)
#define TF_RCC_APB1ENR TF_REG(TF_RCC_BASE + 0x40u)
#define TF_RCC_AHB1ENR_GPIOAEN (1u << 0)
#define TF_RCC_APB1ENR_USART2EN (1u << 17)

#define TF_GPIOA_BASE 0x40020000u
#define TF_GPIOA_MODER TF_REG(TF_GPIOA_BASE + 0x00u)
#define TF_GPIOA_PUPDR TF_REG(TF_GPIOA_BASE + 0x0Cu)
#define TF_GPIOA_AFRL TF_REG(TF_GPIOA_BASE + 0x20u)
#define TF_TX_PIN 2u
#define TF_RX_PIN 3u
#define TF_USART2_AF 7u

#define TF_USART2_BASE 0x40004400u
#define TF_USART_SR TF_REG(TF_USART2_BASE + 0x00u)
#define TF_USART_DR TF_REG(TF_USART2_BASE + 0x04u)
#define TF_USART_BRR TF_REG(TF_USART2_BASE + 0x08u)
#define TF_USART_CR1 TF_REG(TF_USART2_BASE + 0x0Cu)
#define TF_USART_SR_RXNE (1u << 5)
#define TF_USART_SR_TC (1u << 6)
#define TF_USART_SR_TXE (1u << 7)
#define TF_USART_CR1_RE (1u << 2)
#define TF_USART_CR1_TE (1u << 3)
#define TF_USART_CR1_UE (1u << 13)

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

static void tf_uart_setup(void) {
  uint32_t v;
  TF_RCC_AHB1ENR |= TF_RCC_AHB1ENR_GPIOAEN;
  TF_RCC_APB1ENR |= TF_RCC_APB1ENR_USART2EN;
  (void)TF_RCC_APB1ENR; /* read back: the clocks run before the peripherals are written */

  v = TF_GPIOA_AFRL;
  v &= ~((0xFu << (4u * TF_TX_PIN)) | (0xFu << (4u * TF_RX_PIN)));
  v |= (TF_USART2_AF << (4u * TF_TX_PIN)) | (TF_USART2_AF << (4u * TF_RX_PIN));
  TF_GPIOA_AFRL = v;
  v = TF_GPIOA_PUPDR; /* pull-up on RX so an unconnected line idles high */
  v &= ~(3u << (2u * TF_RX_PIN));
  v |= 1u << (2u * TF_RX_PIN);
  TF_GPIOA_PUPDR = v;
  v = TF_GPIOA_MODER; /* 0b10: alternate function */
  v &= ~((3u << (2u * TF_TX_PIN)) | (3u << (2u * TF_RX_PIN)));
  v |= (2u << (2u * TF_TX_PIN)) | (2u << (2u * TF_RX_PIN));
  TF_GPIOA_MODER = v;

  TF_USART_CR1 = 0u;
  TF_USART_BRR = (TF_STM32_PCLK1_HZ + TF_HAL_BAUD / 2u) / TF_HAL_BAUD;
  TF_USART_CR1 = TF_USART_CR1_UE | TF_USART_CR1_TE | TF_USART_CR1_RE;
}

/* Whether CYCCNT runs (tf_dwt_start): HELLO names the counter "none" when it does not. */
static int tf_counter_running;

void tf_hal_init(void) {
  tf_uart_setup();
  tf_counter_running = tf_dwt_start();
}

uint8_t tf_hal_uart_getc(void) {
  /* Reading SR then DR also clears an overrun (a byte lost while the agent was busy). */
  while ((TF_USART_SR & TF_USART_SR_RXNE) == 0u) {
  }
  return (uint8_t)TF_USART_DR;
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i) {
    while ((TF_USART_SR & TF_USART_SR_TXE) == 0u) {
    }
    TF_USART_DR = data[i];
  }
}

uint32_t tf_hal_cycles(void) { return tf_dwt_cycles(); }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return tf_counter_running ? TF_HAL_COUNTER_NAME : "none"; }

uint8_t *tf_hal_stack_lowest(void) { return __StackLimit; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }

void tf_hal_panic_write(const uint8_t *data, uint32_t n) {
  if ((TF_USART_CR1 & TF_USART_CR1_UE) == 0u || (TF_RCC_APB1ENR & TF_RCC_APB1ENR_USART2EN) == 0u) {
    tf_uart_setup();
  }
  tf_hal_uart_write(data, n);
}

void tf_hal_panic_flush(void) {
  while ((TF_USART_SR & TF_USART_SR_TC) == 0u) {
  }
}
