/* tinyforge board support: tf_hal.h for the STM32H743ZI on a NUCLEO-H743ZI / NUCLEO-H743ZI2,
 * bare metal.
 *
 * UART: USART3 on PD8 (TX) and PD9 (RX), alternate function 7. On the NUCLEO-144 board these two
 * pins go to the ST-LINK's virtual COM port, so the host talks to the agent through the USB
 * cable that powers the board. 8 data bits, no parity, 1 stop bit, TF_HAL_BAUD
 * (tf_board_config.h), polled, with the 16-byte receive FIFO enabled so that a short burst
 * arriving while the agent is busy is kept.
 *
 * Clock: nothing here touches the RCC clock tree, the power supply configuration or the voltage
 * scaling, so the part runs on its reset configuration: the 64 MHz internal HSI with every
 * prescaler at 1, the LDO supply, the reset flash latency. USART3's kernel clock is then
 * rcc_pclk1 = 64 MHz (RCC_D2CCIP2R.USART234578SEL at its reset value), and
 * BRR = round(TF_STM32_PCLK1_HZ / baud) with 16x oversampling (64 MHz / 115200 -> 556,
 * 0.08 % off). Firmware that raises the clock must define TF_STM32_PCLK1_HZ to the new USART3
 * kernel clock. The caches stay off, as after reset; cycle counts measured with them off and
 * at the reset flash latency are not those of a 480 MHz configuration with caches on.
 *
 * Counter: DWT CYCCNT (unlocked through DWT_LAR, which the Cortex-M7 requires), one core cycle
 * per tick.
 * Stack: __StackLimit .. __StackTop of the generated linker script (in AXI SRAM). */
#include <stdint.h>

#include "tf_board_config.h"
#define TF_DWT_UNLOCK 1
#include "tf_dwt.h"
#include "tf_hal.h"

#ifndef TF_HAL_BAUD
#define TF_HAL_BAUD 115200u
#endif
#ifndef TF_HAL_COUNTER_NAME
#define TF_HAL_COUNTER_NAME "dwt-cyccnt"
#endif
#ifndef TF_STM32_PCLK1_HZ
#define TF_STM32_PCLK1_HZ 64000000u
#endif

#define TF_REG(addr) (*(volatile uint32_t *)(addr))

#define TF_RCC_BASE 0x58024400u
#define TF_RCC_AHB4ENR TF_REG(TF_RCC_BASE + 0x0E0u)
#define TF_RCC_APB1LENR TF_REG(TF_RCC_BASE + 0x0E8u)
#define TF_RCC_AHB4ENR_GPIODEN (1u << 3)
#define TF_RCC_APB1LENR_USART3EN (1u << 18)

#define TF_GPIOD_BASE 0x58020C00u
#define TF_GPIOD_MODER TF_REG(TF_GPIOD_BASE + 0x00u)
#define TF_GPIOD_PUPDR TF_REG(TF_GPIOD_BASE + 0x0Cu)
#define TF_GPIOD_AFRH TF_REG(TF_GPIOD_BASE + 0x24u)
#define TF_TX_PIN 8u
#define TF_RX_PIN 9u
#define TF_USART3_AF 7u

#define TF_USART3_BASE 0x40004800u
#define TF_USART_CR1 TF_REG(TF_USART3_BASE + 0x00u)
#define TF_USART_BRR TF_REG(TF_USART3_BASE + 0x0Cu)
#define TF_USART_ISR TF_REG(TF_USART3_BASE + 0x1Cu)
#define TF_USART_ICR TF_REG(TF_USART3_BASE + 0x20u)
#define TF_USART_RDR TF_REG(TF_USART3_BASE + 0x24u)
#define TF_USART_TDR TF_REG(TF_USART3_BASE + 0x28u)
#define TF_USART_CR1_UE (1u << 0)
#define TF_USART_CR1_RE (1u << 2)
#define TF_USART_CR1_TE (1u << 3)
#define TF_USART_CR1_FIFOEN (1u << 29)
#define TF_USART_ISR_ORE (1u << 3)
#define TF_USART_ISR_RXFNE (1u << 5)
#define TF_USART_ISR_TC (1u << 6)
#define TF_USART_ISR_TXFNF (1u << 7)
#define TF_USART_ICR_ERRORS 0xFu /* PECF, FECF, NECF, ORECF */

extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

void tf_hal_panic_write(const uint8_t *data, uint32_t n);
void tf_hal_panic_flush(void);

static void tf_uart_setup(void) {
  uint32_t v;
  TF_RCC_AHB4ENR |= TF_RCC_AHB4ENR_GPIODEN;
  TF_RCC_APB1LENR |= TF_RCC_APB1LENR_USART3EN;
  (void)TF_RCC_APB1LENR; /* read back: the clocks run before the peripherals are written */

  v = TF_GPIOD_AFRH; /* pins 8..15 live in AFRH */
  v &= ~((0xFu << (4u * (TF_TX_PIN - 8u))) | (0xFu << (4u * (TF_RX_PIN - 8u))));
  v |= (TF_USART3_AF << (4u * (TF_TX_PIN - 8u))) | (TF_USART3_AF << (4u * (TF_RX_PIN - 8u)));
  TF_GPIOD_AFRH = v;
  v = TF_GPIOD_PUPDR; /* pull-up on RX so an unconnected line idles high */
  v &= ~(3u << (2u * TF_RX_PIN));
  v |= 1u << (2u * TF_RX_PIN);
  TF_GPIOD_PUPDR = v;
  v = TF_GPIOD_MODER; /* reset value is analog (0b11); 0b10 is alternate function */
  v &= ~((3u << (2u * TF_TX_PIN)) | (3u << (2u * TF_RX_PIN)));
  v |= (2u << (2u * TF_TX_PIN)) | (2u << (2u * TF_RX_PIN));
  TF_GPIOD_MODER = v;

  TF_USART_CR1 = 0u; /* FIFOEN and the frame format may only change while UE = 0 */
  TF_USART_BRR = (TF_STM32_PCLK1_HZ + TF_HAL_BAUD / 2u) / TF_HAL_BAUD;
  TF_USART_CR1 = TF_USART_CR1_FIFOEN | TF_USART_CR1_TE | TF_USART_CR1_RE;
  TF_USART_CR1 |= TF_USART_CR1_UE;
}

/* Whether CYCCNT runs (tf_dwt_start): HELLO names the counter "none" when it does not. */
static int tf_counter_running;

void tf_hal_init(void) {
  tf_uart_setup();
  tf_counter_running = tf_dwt_start();
}

uint8_t tf_hal_uart_getc(void) {
  for (;;) {
    uint32_t isr = TF_USART_ISR;
    if ((isr & TF_USART_ISR_RXFNE) != 0u) {
      return (uint8_t)TF_USART_RDR;
    }
    if ((isr & TF_USART_ISR_ORE) != 0u) {
      /* Bytes were lost while the FIFO was full: clear the flag and go on (the host retransmits). */
      TF_USART_ICR = TF_USART_ICR_ERRORS;
    }
  }
}

void tf_hal_uart_write(const uint8_t *data, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i) {
    while ((TF_USART_ISR & TF_USART_ISR_TXFNF) == 0u) {
    }
    TF_USART_TDR = data[i];
  }
}

uint32_t tf_hal_cycles(void) { return tf_dwt_cycles(); }

uint32_t tf_hal_cycles_per_tick(void) { return 1u; }

const char *tf_hal_counter_name(void) { return tf_counter_running ? TF_HAL_COUNTER_NAME : "none"; }

uint8_t *tf_hal_stack_lowest(void) { return __StackLimit; }

uint8_t *tf_hal_stack_top(void) { return __StackTop; }

void tf_hal_panic_write(const uint8_t *data, uint32_t n) {
  if ((TF_USART_CR1 & TF_USART_CR1_UE) == 0u || (TF_RCC_APB1LENR & TF_RCC_APB1LENR_USART3EN) == 0u) {
    tf_uart_setup();
  }
  tf_hal_uart_write(data, n);
}

void tf_hal_panic_flush(void) {
  while ((TF_USART_ISR & TF_USART_ISR_TC) == 0u) {
  }
}
