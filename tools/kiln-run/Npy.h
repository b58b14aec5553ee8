// NumPy .npy files (format versions 1.0, 2.0 and 3.0) read into and written from kiln_tensors,
// for kiln-run's --input/--output. Errors are kiln_status values with a message naming the file
// (kiln_last_error()), never exceptions or aborts.
#ifndef KILN_TOOLS_KILN_RUN_NPY_H
#define KILN_TOOLS_KILN_RUN_NPY_H

#include "kiln/runtime.h"

#include <string>

namespace kiln_run {

// The .npy dtype string of a Kiln dtype ("<f4" for f32, "|u1" for u8); NULL for an unknown one.
const char *npyDescr(kiln_dtype dtype);

// Reads a whole .npy file whose dtype must be `expected`; `purpose` says what the file is for in
// messages ("input 0 'data'"). On success `out_tensor` holds a newly allocated C-order tensor of
// the file's shape (release it with kiln_tensor_free). Rejects, with KILN_IO_ERROR,
// KILN_CORRUPT_FILE or KILN_DTYPE_MISMATCH and a message: a missing or unreadable file, a file
// that is not .npy, a malformed header, Fortran order, another dtype, more than KILN_MAX_RANK
// dimensions, and data shorter or longer than the shape says.
kiln_status readNpy(const std::string &path, kiln_dtype expected, const std::string &purpose,
                    kiln_tensor *out_tensor);

// Writes `tensor` as a version 1.0 .npy file (C order, little-endian). On failure no partial
// file is left at `path`.
kiln_status writeNpy(const std::string &path, const kiln_tensor &tensor);

// "(2, 1, 28, 28)": a shape as NumPy prints it, for messages.
std::string formatNpyShape(int32_t rank, const int64_t *shape);

} // namespace kiln_run

#endif // KILN_TOOLS_KILN_RUN_NPY_H
