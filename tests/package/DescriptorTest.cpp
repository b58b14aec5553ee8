// The shared library, opened with dlopen as kiln-run does: kiln_model_descriptor describes the
// model's input and output and runs it, with the same results as the static library.
#include "PackageTestSupport.h"

#include <dlfcn.h>

using namespace kiln::test;

namespace {

void expectDescribesLenet(const kiln_model_desc *desc) {
  ASSERT_NE(desc, nullptr);
  EXPECT_EQ(desc->abi_version, static_cast<uint32_t>(KILN_MODEL_ABI_VERSION));
  EXPECT_STREQ(desc->name, "lenet");
  ASSERT_EQ(desc->num_inputs, 1);
  EXPECT_STREQ(desc->inputs[0].name, "data");
  EXPECT_EQ(desc->inputs[0].dtype, KILN_F32);
  ASSERT_EQ(desc->inputs[0].rank, 4);
  EXPECT_EQ(std::vector<int64_t>(desc->inputs[0].shape, desc->inputs[0].shape + 4),
            (std::vector<int64_t>{-1, 1, 28, 28}));
  ASSERT_EQ(desc->num_outputs, 1);
  EXPECT_STREQ(desc->outputs[0].name, "logits");
  EXPECT_EQ(desc->outputs[0].dtype, KILN_F32);
  ASSERT_EQ(desc->outputs[0].rank, 2);
  EXPECT_EQ(std::vector<int64_t>(desc->outputs[0].shape, desc->outputs[0].shape + 2),
            (std::vector<int64_t>{-1, 10}));
  EXPECT_TRUE(desc->create && desc->forward && desc->save && desc->destroy);
  EXPECT_EQ(desc->max_batch, LENET_MAX_BATCH);
  EXPECT_GT(desc->max_batch, 1000);
}

TEST(LenetDescriptor, StaticLibraryDescribesTheModel) { expectDescribesLenet(lenet_descriptor()); }

TEST(LenetDescriptor, SharedLibraryExportsItAndRuns) {
  void *library = dlopen(kLenetShared.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  auto descriptor =
      reinterpret_cast<kiln_model_descriptor_fn>(dlsym(library, "kiln_model_descriptor"));
  ASSERT_NE(descriptor, nullptr) << dlerror();
  const kiln_model_desc *desc = descriptor();
  expectDescribesLenet(desc);
  // Its Halide runtime is private to it.
  EXPECT_EQ(dlsym(library, "halide_set_num_threads"), nullptr);
  // The library's own runtime (libkiln_runtime.so, found through the rpath) holds its errors.
  auto lastError = reinterpret_cast<const char *(*)(void)>(dlsym(library, "kiln_last_error"));
  ASSERT_NE(lastError, nullptr);

  kiln_options options;
  kiln_options_init(&options);
  options.num_threads = 2;
  void *model = nullptr;
  ASSERT_EQ(desc->create(&options, &model), KILN_OK) << lastError();
  const int64_t batch = 3;
  std::vector<float> input = images(batch), logits(batch * 10, 0.0f);
  int64_t dataShape[4] = {batch, 1, 28, 28}, logitsShape[2] = {batch, 10};
  kiln_tensor inputs[1] = {kiln_tensor_view(input.data(), KILN_F32, 4, dataShape)};
  kiln_tensor outputs[1] = {kiln_tensor_view(logits.data(), KILN_F32, 2, logitsShape)};
  ASSERT_EQ(desc->forward(model, inputs, outputs), KILN_OK) << lastError();

  LenetPtr reference = createLenet();
  ASSERT_TRUE(reference);
  EXPECT_EQ(logits, forward(reference.get(), input, batch));

  EXPECT_EQ(desc->forward(model, nullptr, outputs), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(lastError(), "lenet (descriptor) forward: inputs is NULL");
  EXPECT_EQ(desc->forward(nullptr, inputs, outputs), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(desc->create(&options, nullptr), KILN_INVALID_ARGUMENT);
  std::string saved = tempPath("descriptor.safetensors");
  EXPECT_EQ(desc->save(model, saved.c_str()), KILN_OK) << lastError();
  expectFreshCheckpoint(saved, kLenetWeights);
  std::remove(saved.c_str());
  desc->destroy(model);
  dlclose(library);
}

} // namespace
