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
    uint32_t head_classes;              /* classes of the learnable head (compile --adapt); 0: none */
} tf_agent_model_t;

extern const tf_agent_model_t tf_agent_model;

/* Calls <prefix>_invoke on the buffers above; returns its result. */
int tf_agent_model_invoke(void);
/* Returns the model's state (resource variables, recurrent state) to its initial value. */
void tf_agent_model_reset(void);

/* Learnable head (compile --adapt last). Without one, enroll returns TF_AGENT_NO_HEAD and head
 * returns NULL with *n = 0. */
#define TF_AGENT_NO_HEAD (-100)
/* Adds input 0 as an example of class cls: 0, -1 (class out of range), -2 (class full). */
int tf_agent_model_enroll(uint32_t cls);
/* Examples enrolled in class cls. */
uint32_t tf_agent_model_class_count(uint32_t cls);
/* The head's saved image (<prefix>_save), rebuilt on each call; its size in *n. */
const uint8_t *tf_agent_model_head(uint32_t *n);

#endif /* TF_AGENT_MODEL_H */
