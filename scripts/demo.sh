#!/usr/bin/env bash
# The quick-start job: compile the micro_speech wake-word model to C and validate it on the
# emulated Cortex-M4 (QEMU mps2-an386) through the on-device agent over its serial port: against
# TFLite Micro's golden outputs when the shared workspace data is next to the repository, and
# against the TS reference on random inputs.
#
#   bash scripts/demo.sh [model.tflite]     (npm run demo [-- model.tflite])
#
# The model is third-party (TensorFlow Lite Micro's micro_speech example) and is not kept in this
# repository: the demo reads it from ../shared/models, or from the file given.
set -euo pipefail
given=${1:+$(realpath -m -- "$1")}   # relative to where the demo was started
cd "$(dirname "$0")/.."
default_model=../shared/models/micro_speech.tflite
model=${given:-$default_model}
if [ ! -f "$model" ]; then
  cat >&2 <<MSG
demo: $model not found.
The demo compiles TensorFlow Lite Micro's micro_speech model (int8 [1, 1960] -> [1, 4], 18,800 bytes,
sha256 09e5e2a9dfb2d8ed78802bf18ce297bff54281a66ca18e0c23d69ca14f822a83). It is third-party, so the
repository does not carry it; see examples/micro_speech/README.md. Either
  - put the shared workspace data next to the repository (../shared/models/micro_speech.tflite), or
  - download it and pass it:
      curl -L -o micro_speech.tflite https://raw.githubusercontent.com/tensorflow/tflite-micro/90b983c2b3f1480642e040bbd2ddb37b998f3424/tensorflow/lite/micro/examples/micro_speech/models/micro_speech_quantized.tflite
      npm run demo -- micro_speech.tflite
  (any int8 .tflite model works the same way).
MSG
  exit 2
fi
stem=$(basename "$model" .tflite)
node bin/tinyforge.mjs compile "$model" --board qemu-mps2-an386 --out "out/$stem"
echo
if [ "$model" = "$default_model" ] && [ -d ../shared/golden/micro_speech ]; then
  node bin/tinyforge.mjs validate "$model" --board qemu-mps2-an386 --golden ../shared/golden/micro_speech
  echo
fi
node bin/tinyforge.mjs validate "$model" --board qemu-mps2-an386 --random 16
