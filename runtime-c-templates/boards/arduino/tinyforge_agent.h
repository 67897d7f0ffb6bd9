/* tinyforge on-device agent as an Arduino library: what a sketch needs.
 *
 *   #include <tinyforge_agent.h>
 *   void setup() { tf_agent_main(); }   // serves the host over Serial; never returns
 *   void loop() {}
 *
 * The protocol is docs/protocol.md of tinyforge; the model is the one this library was
 * generated for (tf_agent_model.c). */
#ifndef TINYFORGE_AGENT_H
#define TINYFORGE_AGENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The agent's main loop: brings up the serial line and the cycle counter, then answers the
 * host's requests forever. */
int tf_agent_main(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYFORGE_AGENT_H */
