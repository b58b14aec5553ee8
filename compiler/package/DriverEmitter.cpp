// Generates a model's driver in C99: the model struct (state, activation slots, Halide buffer
// descriptors), create/forward/save/destroy with argument checks, and the generic descriptor;
// TrainEmitter.cpp adds the training step. The fixed code is a template; the tables and the
// kernel calls are generated.
#include "package/DriverTemplate.h"
#include "package/Emitters.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

namespace kiln::package {

namespace {

// A float as an exact C99 hexadecimal literal, so the driver's bounds equal the compiler's.
std::string floatLiteral(float value) {
  char text[64];
  std::snprintf(text, sizeof text, "%af", static_cast<double>(value));
  return text;
}

// A C string literal of text: quotes, backslashes and non-printable bytes escaped in octal.
std::string stringLiteral(llvm::StringRef text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char octal[8];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

} // namespace

std::string shapeInitializer(const std::vector<int64_t> &shape) {
  std::string out = "{";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.empty() ? "0}" : "}");
}

std::string tableInitializer(const std::vector<std::string> &rows) {
  if (rows.empty())
    return "{{0}}";
  std::string out = "{\n";
  for (const std::string &row : rows)
    out += "    " + row + ",\n";
  return out + "}";
}

std::string orderInitializer(const std::vector<int64_t> &layout, size_t rank) {
  std::vector<int64_t> order = layout;
  if (order.empty())
    for (size_t d = 0; d < rank; ++d)
      order.push_back(static_cast<int64_t>(d));
  return shapeInitializer(order);
}

std::string activationRow(const Activation &a) {
  return "{" + std::to_string(a.shape.size()) + ", " + shapeInitializer(a.shape) + ", " +
         std::to_string(a.slot) + ", " + orderInitializer(a.layout, a.shape.size()) + "}";
}

std::string slotRow(const Slot &s) {
  return "{" + std::string(s.batched ? "1" : "0") + ", " + std::to_string(s.elements) + "}";
}

std::string bufferLocals(const IOTensor &t) {
  std::string rank = std::to_string(std::max<size_t>(t.shape.size(), 1));
  return "  static const int64_t " + t.name + "_shape[" + rank + "] = " +
         shapeInitializer(t.shape) + ";\n  halide_dimension_t " + t.name + "_dims[" + rank +
         "];\n  halide_buffer_t " + t.name + "_buffer;\n";
}

int64_t forwardChunk(const ModelProgram &program) {
  if (program.chunkBatch > 0)
    return program.chunkBatch;
  return program.dynamicBatch ? program.maxBatch : 1;
}

std::string tensorChecks(const std::vector<const IOTensor *> &tensors, const std::string &entry) {
  std::string text;
  llvm::raw_string_ostream os(text);
  for (const IOTensor *t : tensors)
    os << "  status = kiln_tensor_check(" << t->name << ", \"" << entry << ": " << t->name
       << "\", KILN_F32, " << t->shape.size() << ", " << t->name << "_shape);\n"
       << "  if (status != KILN_OK)\n    return status;\n";
  // The batch is the first batched tensor's; every other batched tensor must agree.
  const IOTensor *batchSource = nullptr;
  for (const IOTensor *t : tensors) {
    if (t->shape.empty() || t->shape[0] != kBatch)
      continue;
    if (!batchSource) {
      batchSource = t;
      os << "  batch = " << t->name << "->shape[0];\n";
      continue;
    }
    os << "  if (" << t->name << "->shape[0] != batch)\n"
       << "    return kiln_fail(KILN_SHAPE_MISMATCH, \"" << entry << ": " << t->name
       << " has batch %lld but " << batchSource->name << " has %lld\", (long long)" << t->name
       << "->shape[0], (long long)batch);\n";
  }
  return text;
}

std::string kernelCalls(const std::vector<KernelCall> &kernels,
                        llvm::function_ref<std::string(ValueRef)> name,
                        const std::string &indent, const std::string &profile) {
  std::string text;
  for (auto [k, call] : llvm::enumerate(kernels)) {
    if (!profile.empty())
      text += indent + "if (" + profile + ")\n" + indent + "  started = kiln_seconds();\n";
    text += indent + "error = " + call.symbol + "(";
    for (ValueRef operand : call.operands)
      text += name(operand) + ", ";
    text += name(call.result) + ");\n";
    if (!profile.empty())
      text += indent + "if (" + profile + ")\n" + indent + "  " + profile + "[" +
              std::to_string(k) + "] += kiln_seconds() - started;\n";
    text += indent + "if (error) {\n" + indent + "  failed = \"" + call.name + "\";\n" + indent +
            "  goto done;\n" + indent + "}\n";
  }
  return text;
}

namespace {

std::string valueExpression(const ModelProgram &program, ValueRef ref) {
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    return "&" + program.inputs[ref.index].name + "_buffer";
  case ValueRef::Kind::Parameter:
    return "&model->state_buffers[" + std::to_string(ref.index) + "]";
  case ValueRef::Kind::Activation:
    return "&model->activation_buffers[" + std::to_string(ref.index) + "]";
  case ValueRef::Kind::Derived:
    return "&model->derived_buffers[" + std::to_string(ref.index) + "]";
  case ValueRef::Kind::Output:
    break;
  }
  return "&" + program.outputs[ref.index].name + "_buffer";
}

// prepare(): the prepare kernels, run when the state changed since they last ran.
std::string prepareFunction(const ModelProgram &program) {
  std::string text = "\n/* Recomputes the derived tensors (batch norm folded into the layers before it) from the\n"
                     " * state, once after each change of the state. */\n"
                     "static kiln_status prepare(" + program.name + " *model) {\n"
                     "  int error = 0;\n  const char *failed = NULL;\n"
                     "  if (model->prepared)\n    return KILN_OK;\n";
  text += kernelCalls(
      program.prepare, [&](ValueRef ref) { return valueExpression(program, ref); }, "  ");
  text += "  model->prepared = 1;\ndone:\n"
          "  if (error)\n    return kiln_status_from_halide(error, failed);\n"
          "  return KILN_OK;\n}\n";
  return text;
}

// The body of <model>_forward: checks, buffer descriptors, kernel calls, copies, cleanup.
std::string forwardFunction(const ModelProgram &program, const EmitInfo &info,
                            bool trainingForward) {
  std::string text;
  llvm::raw_string_ostream os(text);
  const std::string &m = program.name;
  std::vector<const IOTensor *> tensors;
  for (const IOTensor &t : program.inputs)
    tensors.push_back(&t);
  for (const IOTensor &t : program.outputs)
    tensors.push_back(&t);
  auto isInput = [&](size_t i) { return i < program.inputs.size(); };

  os << "\nkiln_status " << m << "_forward(" << m << " *model";
  for (size_t i = 0; i < tensors.size(); ++i)
    os << (isInput(i) ? ", const kiln_tensor *" : ", kiln_tensor *") << tensors[i]->name;
  os << ") {\n";
  for (const IOTensor *t : tensors)
    os << bufferLocals(*t);
  os << "  int64_t batch = 1, chunk, first;\n  int error = 0;\n  const char *failed = NULL;\n"
     << "  double started = 0;\n"
     << "  kiln_status status;\n"
     << "  if (!model)\n    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_forward: model is NULL\");\n";
  os << tensorChecks(tensors, m + "_forward");
  os << "  if (batch > MAX_BATCH)\n"
     << "    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_forward: batch %lld exceeds the largest this library supports, %lld (a tensor would "
        "reach 2^31 bytes)\", (long long)batch, MAX_BATCH);\n"
     ;
  for (size_t i = program.inputs.size(); i < tensors.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      os << "  status = check_disjoint(\"" << m << "_forward\", " << tensors[i]->name << ", \""
         << tensors[i]->name << "\", " << tensors[j]->name << ", \"" << tensors[j]->name
         << "\");\n  if (status != KILN_OK)\n    return status;\n";
  if (trainingForward) {
    os << "  if (model->training)\n    return forward_training(model";
    for (const IOTensor *t : tensors)
      os << ", " << t->name;
    os << ", batch);\n";
  }
  os << "  status = prepare(model);\n  if (status != KILN_OK)\n    return status;\n";
  os << "  chunk = batch < CHUNK ? batch : CHUNK;\n"
     << "  status = prepare_activations(model, chunk);\n"
     << "  if (status != KILN_OK)\n    return status;\n";
  for (const IOTensor *t : tensors)
    os << "  memset(&" << t->name << "_buffer, 0, sizeof " << t->name << "_buffer);\n";
  // The samples are independent, so the kernels run over chunks of the batch whose activations
  // stay in cache (see CHUNK); each chunk's tensors are views into the caller's.
  os << "  for (first = 0; first < batch; first += chunk) {\n"
     << "    int64_t n = batch - first < chunk ? batch - first : chunk;\n"
     << "    if (n != chunk) {\n"
     << "      status = prepare_activations(model, n);\n"
     << "      if (status != KILN_OK)\n        return status;\n    }\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const IOTensor *t = tensors[i];
    bool batched = !t->shape.empty() && t->shape[0] == kBatch;
    std::string host = batched ? "(float *)" + t->name + "->data + first * " +
                                     std::to_string(elementsPerSample(t->shape))
                               : t->name + "->data";
    os << "    release_device(&" << t->name << "_buffer);\n"
       << "    describe(&" << t->name << "_buffer, " << t->name << "_dims, " << host << ", "
       << t->shape.size() << ", " << t->name << "_shape, n);\n";
    if (info.gpu && isInput(i))
      os << "    " << t->name << "_buffer.flags = halide_buffer_flag_host_dirty;\n";
  }
  os << kernelCalls(
      program.kernels, [&](ValueRef ref) { return valueExpression(program, ref); }, "    ",
      "model->profile");
  if (info.gpu)
    for (const KernelCall &call : program.kernels)
      if (call.result.kind == ValueRef::Kind::Output)
        os << "    error = halide_copy_to_host(NULL, " << valueExpression(program, call.result)
           << ");\n    if (error) {\n      failed = \"copy of "
           << program.outputs[call.result.index].name
           << " to the host\";\n      goto done;\n    }\n";
  os << "  }\n";
  for (const OutputCopy &copy : program.copies) {
    const IOTensor &out = program.outputs[copy.output];
    std::string source;
    switch (copy.source.kind) {
    case ValueRef::Kind::Input:
      source = program.inputs[copy.source.index].name + "->data";
      break;
    case ValueRef::Kind::Parameter:
      source = "model->state[" + std::to_string(copy.source.index) + "]";
      break;
    case ValueRef::Kind::Activation: // never: returned kernel results are written in place
    case ValueRef::Kind::Derived:
    case ValueRef::Kind::Output:
      source = program.outputs[copy.source.index].name + "->data";
      break;
    }
    if (info.gpu && copy.source.kind == ValueRef::Kind::Parameter) // trained on the device
      os << "  error = halide_copy_to_host(NULL, &model->state_buffers["
         << copy.source.index << "]);\n  if (error) {\n    failed = \"copy of the state to the "
         << "host\";\n    goto done;\n  }\n";
    os << "  memcpy(" << out.name << "->data, " << source << ", (size_t)count(" << out.shape.size()
       << ", " << out.name << "_shape, batch) * sizeof(float));\n";
  }
  os << "done:\n";
  if (info.gpu)
    for (const IOTensor *t : tensors)
      os << "  release_device(&" << t->name << "_buffer);\n";
  os << "  if (error)\n    return kiln_status_from_halide(error, failed);\n"
     << "  return KILN_OK;\n}\n";
  return text;
}

} // namespace

std::string emitDriver(const LibraryProgram &library, const EmitInfo &info) {
  const ModelProgram &program = library.forward;
  std::vector<std::string> stateRows, activationRows, slotRows, inputRows, outputRows;
  for (const Parameter &p : library.state)
    stateRows.push_back("{" + stringLiteral(p.name) + ", " + std::to_string(p.shape.size()) +
                        ", " + shapeInitializer(p.shape) + ", " +
                        std::to_string(elementsPerSample(p.shape)) + ", " +
                        (p.init.uniform ? "1" : "0") + ", " + floatLiteral(p.init.value) + ", " +
                        std::to_string(p.stream) + "}");
  for (const Activation &a : program.activations)
    activationRows.push_back(activationRow(a));
  std::vector<std::string> derivedRows;
  for (const DerivedTensor &d : program.derived)
    derivedRows.push_back("{" + std::to_string(d.shape.size()) + ", " + shapeInitializer(d.shape) +
                          ", " + std::to_string(elementsPerSample(d.shape)) + ", " +
                          orderInitializer(d.layout, d.shape.size()) + "}");
  for (const Slot &s : program.slots)
    slotRows.push_back(slotRow(s));
  auto ioRow = [](const IOTensor &t) {
    return "{\"" + t.name + "\", KILN_F32, " + std::to_string(t.shape.size()) + ", " +
           shapeInitializer(t.shape) + "}";
  };
  for (const IOTensor &t : program.inputs)
    inputRows.push_back(ioRow(t));
  for (const IOTensor &t : program.outputs)
    outputRows.push_back(ioRow(t));

  std::string kernelDecls;
  llvm::StringSet<> declared; // kernels of identical code share a symbol
  auto declare = [&](const ModelProgram &p) {
    for (const KernelCall *call : p.allKernels()) {
      if (!declared.insert(call->symbol).second)
        continue;
      kernelDecls += "int " + call->symbol + "(";
      for (size_t i = 0; i < call->operands.size(); ++i)
        kernelDecls += "struct halide_buffer_t *in" + std::to_string(i) + ", ";
      kernelDecls += "struct halide_buffer_t *out);\n";
    }
  };
  for (const ModelProgram *p : library.programs())
    declare(*p);
  std::vector<std::string> kernelRows;
  double flops = 0;
  for (const KernelCall &call : program.kernels) {
    kernelRows.push_back("{" + stringLiteral(call.name) + ", " + stringLiteral(call.layers) + ", " +
                         std::to_string(call.flops) + "}");
    flops += call.flops;
  }
  std::string genericArgs, trainArgs;
  for (size_t i = 0; i < program.inputs.size(); ++i) {
    genericArgs += ", &inputs[" + std::to_string(i) + "]";
    trainArgs += ", &inputs[" + std::to_string(i) + "]";
  }
  for (size_t i = 0; i < program.outputs.size(); ++i)
    genericArgs += ", &outputs[" + std::to_string(i) + "]";

  int64_t chunk = forwardChunk(program);
  std::string chunkDoc = "the whole batch.";
  if (program.chunkBatch > 0) {
    chunkDoc = "chunks whose activations fit in cache, of at least 8\n * samples so weights "
               "are reused across them (kiln-plan-buffers).";
  }
  std::string optimizer = library.train ? library.train->optimizer : "";
  std::map<std::string, std::string> values = {
      {"MODEL", program.name},
      {"SOURCE", info.source},
      {"TARGET", info.target},
      {"HALIDE_TARGET", info.halideTarget},
      {"CPU_FEATURES", info.cpuFeatures},
      {"NUM_STATE", std::to_string(library.state.size())},
      {"NUM_REQUIRED", std::to_string(library.numRequired())},
      {"NUM_ACTIVATIONS", std::to_string(program.activations.size())},
      {"NUM_DERIVED", std::to_string(program.derived.size())},
      {"DERIVED", tableInitializer(derivedRows)},
      {"NUM_SLOTS", std::to_string(program.slots.size())},
      {"NUM_INPUTS", std::to_string(program.inputs.size())},
      {"NUM_OUTPUTS", std::to_string(program.outputs.size())},
      {"MAX_BATCH", std::to_string(program.dynamicBatch ? program.maxBatch : 1)},
      {"CHUNK", std::to_string(chunk)},
      {"CHUNK_DOC", chunkDoc},
      {"SEED", std::to_string(info.seed)},
      {"WEIGHTS_FROM_MODEL", info.weightsFromModel ? "1" : "0"},
      {"GPU", info.gpu ? "1" : "0"},
      {"TRAIN", library.train ? "1" : "0"},
      {"OPTIMIZER", optimizer},
      {"STATE", tableInitializer(stateRows)},
      {"ACTIVATIONS", tableInitializer(activationRows)},
      {"SLOTS", tableInitializer(slotRows)},
      {"INPUT_DESCS", tableInitializer(inputRows)},
      {"OUTPUT_DESCS", tableInitializer(outputRows)},
      {"KERNEL_DECLS", kernelDecls},
      {"GENERIC_ARGS", genericArgs},
      {"TRAIN_ARGS", trainArgs},
      {"NUM_KERNELS", std::to_string(program.kernels.size())},
      {"KERNEL_DESCS", tableInitializer(kernelRows)},
      {"FLOPS", std::to_string(flops)}};
  // Substituted in a second pass: their text holds markers of its own (MODEL, OPTIMIZER).
  std::string prologue = kDriverPrologue;
  prologue = substitute(prologue,
                        {{"TRAIN_TABLES", library.train ? emitTrainTables(library) : ""},
                         {"TRAIN_HELPERS", library.train ? kDriverTrainHelpers : ""}});
  std::string text = substitute(prologue, values) + prepareFunction(program) +
                     emitTrainingForward(library, info) +
                     forwardFunction(program, info, library.trainingForward.has_value());
  if (library.train)
    text += emitTrainStep(library, info);
  return text + substitute(kDriverDescriptor, values);
}

} // namespace kiln::package
