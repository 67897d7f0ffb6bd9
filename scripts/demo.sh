#!/usr/bin/env bash
# The quick-start job: compile the micro_speech wake-word model to C and validate it on the
# emulated Cortex-M4 (QEMU mps2-an386) through the on-device agent over its serial port: against
# TFLite Micro's golden outputs when the shared workspace data is next to the repository, and
# against the TS reference on random inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
model=examples/micro_speech/micro_speech.tflite
node bin/tinyforge.mjs compile "$model" --board qemu-mps2-an386 --out out/micro_speech
echo
if [ -d ../shared/golden/micro_speech ]; then
  node bin/tinyforge.mjs validate "$model" --board qemu-mps2-an386 --golden ../shared/golden/micro_speech
  echo
fi
node bin/tinyforge.mjs validate "$model" --board qemu-mps2-an386 --random 16
