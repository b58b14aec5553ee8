/* Kiln's C runtime: status codes, tensor descriptors, weights (safetensors), datasets (IDX),
 * thread control and the descriptor every compiled model exports. Plain C99; no C++, MLIR,
 * LLVM or Halide types. Functions that can fail return a kiln_status; on failure a detailed,
 * located message is available from kiln_last_error() on the same thread. Out-parameters come
 * last and are cleared on entry. */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------------------------ */

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_INVALID_ARGUMENT = 1, /* a null pointer or an option out of range */
  KILN_SHAPE_MISMATCH = 2,   /* a tensor of the wrong rank or extents */
  KILN_DTYPE_MISMATCH = 3,   /* a tensor of the wrong element type */
  KILN_IO_ERROR = 4,         /* a file missing, unreadable or unwritable */
  KILN_CORRUPT_FILE = 5,     /* a malformed or truncated safetensors or IDX file */
  KILN_MISSING_TENSOR = 6,   /* a weights file without a tensor the model needs */
  KILN_OUT_OF_MEMORY = 7,
  KILN_KERNEL_ERROR = 8,     /* a generated kernel (Halide runtime) reported an error */
  KILN_DEVICE_ERROR = 9,     /* no such device, or a device (CUDA) failure */
  KILN_NUMERIC_ERROR = 10,   /* a non-finite loss or value where a finite one is required */
  KILN_INTERNAL_ERROR = 11,
  KILN_UNSUPPORTED_CPU = 12  /* the CPU lacks an instruction set the library was compiled for */
} kiln_status;

/* A fixed description of the status code ("shape mismatch"); never NULL. */
const char *kiln_status_message(kiln_status status);

/* The detailed message of the last failure on this thread ("weights.safetensors: tensor
 * 'conv1.weight' has shape [20, 1, 5, 4], expected [20, 1, 5, 5]"); "" when none. The pointer
 * stays valid until the next failing call on this thread. */
const char *kiln_last_error(void);

/* Records a failure's message (printf-style) for kiln_last_error() and returns status; used by
 * the runtime and by generated drivers. */
kiln_status kiln_fail(kiln_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Translates a Halide runtime error code (negative int) from kernel `kernel` into a status with
 * a message, ending with the text Halide's runtime last reported on this thread through
 * kiln_halide_error_handler, if any; 0 gives KILN_OK. */
kiln_status kiln_status_from_halide(int halide_error, const char *kernel);

/* A Halide error handler (halide_error_handler_t) that records Halide's message on this thread
 * for kiln_status_from_halide, instead of Halide's default, which prints it and aborts.
 * Generated libraries install it in <model>_create (halide_set_error_handler). */
void kiln_halide_error_handler(void *user_context, const char *message);

/* ---- tensors ----------------------------------------------------------------------------- */

typedef enum kiln_dtype {
  KILN_F32 = 1,
  KILN_F64 = 2,
  KILN_I32 = 3,
  KILN_I64 = 4,
  KILN_U8 = 5
} kiln_dtype;

#define KILN_MAX_RANK 8

/* A dense, row-major (C-order) tensor. The descriptor does not own `data` unless it came from
 * kiln_tensor_alloc or a loader, which say so. */
typedef struct kiln_tensor {
  void *data;
  kiln_dtype dtype;
  int32_t rank;
  int64_t shape[KILN_MAX_RANK];
} kiln_tensor;

size_t kiln_dtype_size(kiln_dtype dtype); /* 0 for an unknown dtype */
const char *kiln_dtype_name(kiln_dtype dtype); /* "f32", ... ; "unknown" */

/* A descriptor over caller-owned data. */
kiln_tensor kiln_tensor_view(void *data, kiln_dtype dtype, int32_t rank, const int64_t *shape);

/* The element count; 0 for a malformed descriptor. */
int64_t kiln_tensor_numel(const kiln_tensor *tensor);

/* Allocates a zeroed tensor (64-byte aligned); release it with kiln_tensor_free. */
kiln_status kiln_tensor_alloc(kiln_dtype dtype, int32_t rank, const int64_t *shape,
                              kiln_tensor *out_tensor);
void kiln_tensor_free(kiln_tensor *tensor); /* frees data and clears the descriptor; NULL ok */

/* Checks a tensor at an API boundary: non-NULL with data, the dtype, the rank, and each extent
 * (an expected extent < 0 accepts any positive extent, e.g. the batch). `what` names the tensor
 * in the message ("lenet_forward: data"). */
kiln_status kiln_tensor_check(const kiln_tensor *tensor, const char *what, kiln_dtype dtype,
                              int32_t rank, const int64_t *shape);

/* ---- weights: safetensors ---------------------------------------------------------------- */

/* A loaded safetensors file: every tensor's name, dtype, shape and data. */
typedef struct kiln_weights kiln_weights;

/* Reads and validates a whole safetensors file (header JSON, offsets within the file, sizes
 * matching shapes and dtypes, no overlaps). */
kiln_status kiln_weights_load(const char *path, kiln_weights **out_weights);
void kiln_weights_free(kiln_weights *weights); /* NULL ok */
size_t kiln_weights_count(const kiln_weights *weights);
const char *kiln_weights_name(const kiln_weights *weights, size_t index); /* NULL past the end */
/* A view of the named tensor (valid while `weights` lives); KILN_MISSING_TENSOR if absent. */
kiln_status kiln_weights_get(const kiln_weights *weights, const char *name,
                             kiln_tensor *out_tensor);
/* Copies the named tensor into `dst` after checking its dtype and shape against dst's. */
kiln_status kiln_weights_copy_to(const kiln_weights *weights, const char *name,
                                 const kiln_tensor *dst);

/* Writes tensors to a safetensors file atomically: a temporary file beside `path`, fsync,
 * rename. On failure `path` is untouched and no temporary file is left. */
kiln_status kiln_weights_save(const char *path, size_t count, const char *const *names,
                              const kiln_tensor *tensors);

/* Writes `size` bytes to `path` the same way: a temporary file beside it, fsync, rename (mode
 * 0666 less the umask). On failure `path` is untouched and no temporary file is left. */
kiln_status kiln_file_write_atomic(const char *path, const void *data, size_t size);

/* ---- datasets: IDX (MNIST, Fashion-MNIST) -------------------------------------------------- */

/* Reads an IDX file, gzip'd or not (by content, not name), into a newly allocated tensor of
 * its dtype (u8 for MNIST) and shape; release it with kiln_tensor_free. */
kiln_status kiln_idx_load(const char *path, kiln_tensor *out_tensor);

/* Loads `<dir>/<split>-images-idx3-ubyte[.gz]` and `<dir>/<split>-labels-idx1-ubyte[.gz]`
 * (split "train" or "t10k"), checking that the counts agree. */
kiln_status kiln_mnist_load(const char *dir, const char *split, kiln_tensor *out_images,
                            kiln_tensor *out_labels);

/* ---- initialization ---------------------------------------------------------------------- */

/* Fills data[0..count) with independent uniform values in [-bound, bound) from a counter-based
 * generator: element i of stream `stream` under `seed` is the same on every machine and in any
 * order, so kilnc's initial weights file and a library created without one agree bit for bit.
 * (PyTorch's default init for conv and dense weights and biases is U(-1/sqrt(fan_in), +).) */
void kiln_fill_uniform(float *data, int64_t count, float bound, uint64_t seed, uint64_t stream);

/* ---- threads ------------------------------------------------------------------------------ */

/* The most threads a library's kernels run on. */
#define KILN_MAX_THREADS 4096

/* The thread count kernels use, in *threads: `requested` when > 0, else $KILN_NUM_THREADS when
 * set, else the number of online processors (at most KILN_MAX_THREADS). Fails with
 * KILN_INVALID_ARGUMENT, naming the value, for `requested` < 0 or > KILN_MAX_THREADS and for a
 * $KILN_NUM_THREADS that is not a count from 1 to KILN_MAX_THREADS. */
kiln_status kiln_num_threads(int32_t requested, int32_t *threads);

/* As kiln_num_threads, for display and never failing: `requested` when > 0 (at most
 * KILN_MAX_THREADS), else $KILN_NUM_THREADS where valid, else the online processors. */
int32_t kiln_resolve_num_threads(int32_t requested);

/* Seconds on a monotonic clock (for timing; the origin is arbitrary). */
double kiln_seconds(void);

/* ---- CPU features --------------------------------------------------------------------------- */

/* Whether the CPU this process runs on, with the operating system's support, has a feature,
 * named as LLVM names it: "sse4.1", "avx2", "fma", "avx512f", "avx512vnni", "avxvnni", ... on
 * x86-64, "dotprod", "fullfp16", "sve", ... on AArch64. 1 if so; 0 if not, for a name this
 * runtime does not know, or for a feature named in the environment variable KILN_CPU_DISABLE
 * (comma-separated), which makes the features it names read as absent: how a library's
 * load-time check is tried as on a lesser CPU. */
int kiln_cpu_has_feature(const char *name);

/* Checks, before code compiled for `target` (a Halide target string) runs, that the CPU has
 * every feature in `required` (comma-separated, as above; "" requires none). Otherwise fails
 * with KILN_UNSUPPORTED_CPU and a message that starts with `what` and names the target and
 * each missing feature. */
kiln_status kiln_cpu_check(const char *what, const char *target, const char *required);

/* ---- compiled models ------------------------------------------------------------------------ */

typedef struct kiln_options {
  const char *weights_path; /* safetensors to load; NULL: the model's default initial weights */
  int32_t num_threads;      /* 0: kiln_num_threads(0); at most KILN_MAX_THREADS */
  int32_t device;           /* 0: CPU; for CUDA libraries, the GPU ordinal + 1 */
} kiln_options;

void kiln_options_init(kiln_options *options);

/* Hyperparameters of one training step; the optimizer itself (SGD with momentum and weight
 * decay, or Adam) is chosen when the model is compiled (kilnc --optimizer). */
typedef struct kiln_optimizer_params {
  float learning_rate; /* default 0.01 */
  float momentum;      /* SGD; default 0.9 */
  float weight_decay;  /* L2, added to the gradient; default 0 */
  float beta1;         /* Adam; default 0.9 */
  float beta2;         /* Adam; default 0.999 */
  float epsilon;       /* Adam; default 1e-8 */
} kiln_optimizer_params;

void kiln_optimizer_params_init(kiln_optimizer_params *params);

#define KILN_MODEL_ABI_VERSION 3

/* One input or output of a model; shape[i] < 0 marks the dynamic batch. */
typedef struct kiln_io_desc {
  const char *name;
  kiln_dtype dtype;
  int32_t rank;
  int64_t shape[KILN_MAX_RANK];
} kiln_io_desc;

/* One kernel of a model's forward pass (a fused group of layers), for profiles. */
typedef struct kiln_kernel_desc {
  const char *name;   /* the kernel's symbol suffix: its anchor layer ("layer1_0_conv1") */
  const char *layers; /* the model's layers it computes, '+'-separated */
  double flops;       /* per sample: 2 per multiply-add of its convolutions and dense layers */
} kiln_kernel_desc;

/* What every compiled model's shared library exports as the symbol `kiln_model_descriptor`
 * (a `const kiln_model_desc *(void)` function), so a tool can dlopen it without its header. */
typedef struct kiln_model_desc {
  uint32_t abi_version; /* KILN_MODEL_ABI_VERSION */
  const char *name;
  int32_t num_inputs;
  const kiln_io_desc *inputs;
  int32_t num_outputs;
  const kiln_io_desc *outputs;
  kiln_status (*create)(const kiln_options *options, void **out_model);
  /* inputs[num_inputs] in; outputs[num_outputs] caller-allocated with the right shapes. */
  kiln_status (*forward)(void *model, const kiln_tensor *inputs, kiln_tensor *outputs);
  kiln_status (*save)(const void *model, const char *safetensors_path);
  void (*destroy)(void *model);
  /* Since ABI version 2. */
  double flops;                    /* per sample of forward: the sum of its kernels' */
  int32_t num_kernels;             /* forward's kernels, in call order */
  const kiln_kernel_desc *kernels;
  /* kernel_seconds non-NULL: from now on every forward adds each kernel's wall time to
   * kernel_seconds[k] (num_kernels entries, owned by the caller); NULL: stops. */
  kiln_status (*set_profile)(void *model, double *kernel_seconds);
  /* The training step (inputs as forward's, labels i64 [N]); NULL when the model has no loss. */
  kiln_status (*train_step)(void *model, const kiln_tensor *inputs, const kiln_tensor *labels,
                            const kiln_optimizer_params *params, float *loss);
  /* Since ABI version 3: the largest batch forward accepts (a larger one would make some tensor
   * reach 2^31 bytes), so a tool can refuse it before allocating the inputs. */
  int64_t max_batch;
} kiln_model_desc;

typedef const kiln_model_desc *(*kiln_model_descriptor_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
