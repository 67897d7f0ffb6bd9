/* tinyforge on-device agent: the model binding, generated per model by the host
 * (compiler/targets/agent_model_source.ts) as tf_agent_model.c. */
#ifndef TF_AGENT_MODEL_H
#define TF_AGENT_MODEL_H

#include <stdint.h>

#define TF_AGENT_MAX_IO 8

typedef struct {
    const char *board_id;      /* e.g. "qemu-mps2-an386" */
    const char *model_sha256;  /* 64 hex digits of the .tflite file */
    uint32_t arena_bytes;
    uint32_t num_inputs, num_outputs;
    uint32_t input_bytes[TF_AGENT_MAX_IO];
    uint32_t output_bytes[TF_AGENT_MAX_IO];
    uint8_t *inputs[TF_AGENT_MAX_IO];   /* static, 16-byte aligned buffers */
    uint8_t *outputs[TF_AGENT_MAX_IO];
    /* Text models built with their tokenizer (compile --vocab): the sequence length of the int32
     * token-id input 0; 0 when the firmware has no tokenizer (TEXT is then UNKNOWN_COMMAND). */
    uint32_t text_seq_len;
} tf_agent_model_t;

extern const tf_agent_model_t tf_agent_model;

/* Calls <prefix>_invoke on the buffers above; returns its result. */
int tf_agent_model_invoke(void);
/* Tokenizes `length` UTF-8 bytes into input 0 (text_seq_len int32 ids), stores the number of
 * tokens in *count and invokes the model; returns invoke's result (-1 without a tokenizer). */
int tf_agent_model_text(const uint8_t *text, uint32_t length, uint32_t *count);
/* Returns the model's state (resource variables, recurrent state) to its initial value. */
void tf_agent_model_reset(void);

#endif /* TF_AGENT_MODEL_H */
