// tinyforge validation agent: runs the generated model for the tinyforge host over the USB
// serial port. Flash it, then run `tinyforge validate` on the host.
#include <tinyforge_agent.h>

void setup() {
  tf_agent_main();  // never returns
}

void loop() {}
