// The generated headers compile as C++ under -Wall -Wextra -Werror -pedantic, side by side.
#include "lenet.h"
#include "tiny.h"

#include <type_traits>

static_assert(LENET_MAX_BATCH >= 256, "LeNet's batches of 256 fit Halide's 2^31-byte buffers");
static_assert(std::is_same_v<decltype(&lenet_forward),
                             kiln_status (*)(lenet *, const kiln_tensor *, kiln_tensor *)>,
              "lenet_forward(model, data, logits)");
static_assert(std::is_same_v<decltype(&lenet_descriptor), const kiln_model_desc *(*)()>,
              "the static library's descriptor accessor");
