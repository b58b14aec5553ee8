// Status codes, the thread-local last-error message, and the translation of Halide's error codes.
#include "Internal.h"

#include <HalideRuntime.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// Indexed by kiln_status.
const char *const kStatusMessages[] = {
    "ok",
    "invalid argument",
    "shape mismatch",
    "dtype mismatch",
    "I/O error",
    "corrupt file",
    "missing tensor",
    "out of memory",
    "kernel error",
    "device error",
    "numeric error",
    "internal error",
    "unsupported CPU",
};

thread_local std::string lastError;
// What Halide's runtime last reported on this thread (kiln_halide_error_handler).
thread_local std::string lastHalideMessage;

// What a Halide error code means, in a user's terms, and which status it becomes. Codes not
// listed become KILN_KERNEL_ERROR with a generic meaning.
struct HalideError {
  int code;
  kiln_status status;
  const char *meaning;
};

const HalideError kHalideErrors[] = {
    {halide_error_code_generic_error, KILN_KERNEL_ERROR, "an uncategorized error"},
    {halide_error_code_explicit_bounds_too_small, KILN_KERNEL_ERROR,
     "an explicit bound is smaller than the region used"},
    {halide_error_code_bad_type, KILN_KERNEL_ERROR, "an input or output has the wrong element type"},
    {halide_error_code_access_out_of_bounds, KILN_KERNEL_ERROR,
     "an input or output has the wrong shape (an access falls outside it)"},
    {halide_error_code_buffer_allocation_too_large, KILN_KERNEL_ERROR,
     "a buffer spans more than 2 GB"},
    {halide_error_code_buffer_extents_too_large, KILN_KERNEL_ERROR,
     "a buffer has more than 2^31-1 elements"},
    {halide_error_code_constraints_make_required_region_smaller, KILN_KERNEL_ERROR,
     "an input or output has the wrong shape (smaller than the region used)"},
    {halide_error_code_constraint_violated, KILN_KERNEL_ERROR,
     "an input or output has the wrong shape or strides"},
    {halide_error_code_param_too_small, KILN_KERNEL_ERROR, "a scalar parameter is too small"},
    {halide_error_code_param_too_large, KILN_KERNEL_ERROR, "a scalar parameter is too large"},
    {halide_error_code_out_of_memory, KILN_OUT_OF_MEMORY, "an allocation failed"},
    {halide_error_code_buffer_argument_is_null, KILN_KERNEL_ERROR, "a buffer argument is NULL"},
    {halide_error_code_debug_to_file_failed, KILN_KERNEL_ERROR, "debug_to_file failed"},
    {halide_error_code_copy_to_host_failed, KILN_DEVICE_ERROR, "copying from the device failed"},
    {halide_error_code_copy_to_device_failed, KILN_DEVICE_ERROR, "copying to the device failed"},
    {halide_error_code_device_malloc_failed, KILN_DEVICE_ERROR, "a device allocation failed"},
    {halide_error_code_device_sync_failed, KILN_DEVICE_ERROR, "synchronizing the device failed"},
    {halide_error_code_device_free_failed, KILN_DEVICE_ERROR, "freeing device memory failed"},
    {halide_error_code_no_device_interface, KILN_DEVICE_ERROR,
     "a buffer has a device allocation but no device interface"},
    {halide_error_code_internal_error, KILN_KERNEL_ERROR, "an internal error in Halide"},
    {halide_error_code_device_run_failed, KILN_DEVICE_ERROR, "launching a device kernel failed"},
    {halide_error_code_unaligned_host_ptr, KILN_KERNEL_ERROR,
     "an input or output is not aligned as the kernel requires"},
    {halide_error_code_bad_fold, KILN_KERNEL_ERROR, "a storage fold is accessed non-monotonically"},
    {halide_error_code_fold_factor_too_small, KILN_KERNEL_ERROR, "a storage fold is too small"},
    {halide_error_code_requirement_failed, KILN_KERNEL_ERROR, "a require() condition failed"},
    {halide_error_code_buffer_extents_negative, KILN_KERNEL_ERROR,
     "an input or output has the wrong shape (a negative extent)"},
    {halide_error_code_specialize_fail, KILN_KERNEL_ERROR, "no specialization matches the inputs"},
    {halide_error_code_device_wrap_native_failed, KILN_DEVICE_ERROR,
     "wrapping a native device handle failed"},
    {halide_error_code_device_detach_native_failed, KILN_DEVICE_ERROR,
     "detaching a native device handle failed"},
    {halide_error_code_host_is_null, KILN_KERNEL_ERROR,
     "a buffer used on the host has no host memory"},
    {halide_error_code_bad_extern_fold, KILN_KERNEL_ERROR,
     "an extern stage's region wraps around a storage fold"},
    {halide_error_code_device_interface_no_device, KILN_DEVICE_ERROR,
     "a buffer has a device interface but no device allocation"},
    {halide_error_code_host_and_device_dirty, KILN_DEVICE_ERROR,
     "a buffer is dirty on both host and device"},
    {halide_error_code_buffer_is_null, KILN_KERNEL_ERROR, "a buffer passed to the runtime is NULL"},
    {halide_error_code_device_buffer_copy_failed, KILN_DEVICE_ERROR,
     "copying between device buffers failed"},
    {halide_error_code_device_crop_unsupported, KILN_DEVICE_ERROR,
     "the device does not support cropping buffers"},
    {halide_error_code_device_crop_failed, KILN_DEVICE_ERROR, "cropping a device buffer failed"},
    {halide_error_code_incompatible_device_interface, KILN_DEVICE_ERROR,
     "a buffer is already allocated on another device"},
    {halide_error_code_bad_dimensions, KILN_KERNEL_ERROR, "an input or output has the wrong rank"},
    {halide_error_code_device_dirty_with_no_device_support, KILN_DEVICE_ERROR,
     "a buffer is dirty on a device this kernel was not compiled for"},
    {halide_error_code_storage_bound_too_small, KILN_KERNEL_ERROR,
     "an explicit storage bound is too small"},
};

} // namespace

namespace kiln_rt {

std::string formatV(const char *format, va_list args) {
  va_list measure;
  va_copy(measure, args);
  int length = std::vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  std::string text;
  if (length > 0) {
    text.resize(static_cast<size_t>(length));
    std::vsnprintf(text.data(), text.size() + 1, format, args);
  }
  return text;
}

std::string errnoMessage(int error) {
  char buffer[256];
  // GNU strerror_r returns the message, which may or may not be `buffer`.
  return strerror_r(error, buffer, sizeof buffer);
}

} // namespace kiln_rt

extern "C" {

const char *kiln_status_message(kiln_status status) {
  size_t index = static_cast<size_t>(status);
  if (index < sizeof kStatusMessages / sizeof kStatusMessages[0])
    return kStatusMessages[index];
  return "unknown status";
}

const char *kiln_last_error(void) { return lastError.c_str(); }

kiln_status kiln_fail(kiln_status status, const char *format, ...) {
  if (!format) {
    lastError = kiln_status_message(status);
    return status;
  }
  // Format into a fresh string before replacing lastError: the arguments may point into it
  // (kiln_fail(s, "%s: %s", context, kiln_last_error())).
  va_list args;
  va_start(args, format);
  std::string message = kiln_rt::formatV(format, args);
  va_end(args);
  lastError.swap(message);
  return status;
}

void kiln_halide_error_handler(void *user_context, const char *message) {
  (void)user_context;
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  lastHalideMessage = text;
}

kiln_status kiln_status_from_halide(int halide_error, const char *kernel) {
  if (halide_error == 0)
    return KILN_OK;
  if (!kernel)
    kernel = "kernel";
  std::string detail;
  if (!lastHalideMessage.empty())
    detail = ": " + lastHalideMessage;
  lastHalideMessage.clear();
  for (const HalideError &error : kHalideErrors)
    if (error.code == halide_error)
      return kiln_fail(error.status, "%s: %s (Halide error %d)%s", kernel, error.meaning,
                       halide_error, detail.c_str());
  return kiln_fail(KILN_KERNEL_ERROR, "%s: unknown Halide error %d%s", kernel, halide_error,
                   detail.c_str());
}

} // extern "C"
