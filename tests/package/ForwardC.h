/* LeNet's forward pass from C (ForwardC.c), for the C++ tests to compare with. */
#ifndef KILN_TESTS_PACKAGE_FORWARDC_H
#define KILN_TESTS_PACKAGE_FORWARDC_H

#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates LeNet (weights from weights_path, or the defaults when NULL), runs it on `batch`
 * images [batch, 1, 28, 28] into logits [batch, 10] and destroys it. */
kiln_status lenet_forward_from_c(const char *weights_path, float *images, int64_t batch,
                                 float *logits);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TESTS_PACKAGE_FORWARDC_H */
