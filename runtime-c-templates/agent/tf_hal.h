/* tinyforge on-device agent: the board support it needs. One implementation per board family
 * (runtime-c-templates/<family>/hal_*.c); the agent itself is portable C99.
 * The agent (tf_agent.c) provides main(); the protocol is docs/protocol.md. The host build
 * runtime-c-templates/host/hal_host_pty.c is a reference implementation. */
#ifndef TF_HAL_H
#define TF_HAL_H

#include <stdint.h>

/* Bring up the UART at the board's baud rate and start the cycle counter. */
void tf_hal_init(void);

/* Blocking read of one byte from the UART. Within a frame the agent calls it in a tight loop; the
 * host sends nothing while it waits for a reply except retransmissions after a timeout, so a
 * one-byte receive register suffices. A lost byte costs one retransmission. */
uint8_t tf_hal_uart_getc(void);

/* Blocking write; returns when the bytes are queued in the UART. The agent hands over each frame,
 * delimiters included, in one call. */
void tf_hal_uart_write(const uint8_t *data, uint32_t n);

/* A free-running counter; the agent reports the difference around an inference. */
uint32_t tf_hal_cycles(void);

/* How many core cycles one tick of tf_hal_cycles() stands for (1 for DWT CYCCNT / CCOUNT /
 * mcycle; the prescale of a timer otherwise), and a short name of the counter for HELLO. */
uint32_t tf_hal_cycles_per_tick(void);
const char *tf_hal_counter_name(void);

/* The stack region, so the agent can paint it and report the high-water mark: lowest = the lowest
 * address the stack may grow down to (e.g. __StackLimit), top = one past its highest address, the
 * initial SP (e.g. __StackTop). Either may be NULL when unknown; STATS then reports 0. Called once,
 * right after tf_hal_init(), from main(). */
uint8_t *tf_hal_stack_lowest(void);
uint8_t *tf_hal_stack_top(void);

#endif /* TF_HAL_H */
