// Generates the training step's part of a model's driver: the tables of @train_step's program
// (activations, slots, results, which state each result updates) and <model>_train_step, which
// checks its arguments, runs the kernels on the whole batch into scratch results and commits
// them to the state only when the loss is finite.
#include "package/Emitters.h"

#include "llvm/Support/raw_ostream.h"

namespace kiln::package {

namespace {

// A C initializer of state indices, "{3, 4}" ("{0}" when empty: C has no empty arrays).
std::string indexList(const std::vector<unsigned> &indices) {
  return shapeInitializer(std::vector<int64_t>(indices.begin(), indices.end()));
}

// How the step's C names a program value: the caller's data, the model's labels and hyper
// buffers, the shared state, the step's activations and results.
std::string trainValue(const TrainStep &train, ValueRef ref) {
  const ModelProgram &program = train.program;
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    if (ref.index < train.numDataInputs)
      return "&" + program.inputs[ref.index].name + "_buffer";
    return ref.index == train.numDataInputs ? "&model->labels_buffer" : "&model->hyper_buffer";
  case ValueRef::Kind::Parameter:
    return "&model->state_buffers[" + std::to_string(train.parameterState[ref.index]) + "]";
  case ValueRef::Kind::Activation:
    return "&model->train_activation_buffers[" + std::to_string(ref.index) + "]";
  case ValueRef::Kind::Derived: // only @forward has prepare kernels
  case ValueRef::Kind::Output:
    break;
  }
  return "&model->result_buffers[" + std::to_string(ref.index) + "]";
}

// The host data of a value a result is copied from (an output no kernel writes: a state tensor
// returned unchanged, or a value returned twice).
std::string trainHost(const TrainStep &train, ValueRef ref) {
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    if (ref.index < train.numDataInputs)
      return "(float *)" + train.program.inputs[ref.index].name + "->data";
    return "model->hyper"; // the labels are i64: no f32 result is a copy of them
  case ValueRef::Kind::Parameter:
    return "model->state[" + std::to_string(train.parameterState[ref.index]) + "]";
  case ValueRef::Kind::Activation: // never: returned kernel results are written in place
  case ValueRef::Kind::Derived:    // only @forward has derived tensors
  case ValueRef::Kind::Output:
    break;
  }
  return "model->results[" + std::to_string(ref.index) + "]";
}

} // namespace

std::string emitTrainTables(const LibraryProgram &library) {
  const TrainStep &train = *library.train;
  const ModelProgram &program = train.program;
  std::vector<std::string> activationRows, slotRows, resultRows;
  for (const Activation &a : program.activations)
    activationRows.push_back(activationRow(a));
  for (const Slot &s : program.slots)
    slotRows.push_back(slotRow(s));
  for (const IOTensor &t : program.outputs)
    resultRows.push_back("{" + std::to_string(t.shape.size()) + ", " + shapeInitializer(t.shape) +
                         ", " + std::to_string(elementsPerSample(t.shape)) + "}");
  std::string updates = indexList(train.updateState);
  const IOTensor &labels = program.inputs[train.numDataInputs];

  std::string text;
  llvm::raw_string_ostream os(text);
  os << "\n/* The training step (@train_step, optimizer " << train.optimizer << "). */\n"
     << "#define NUM_TRAIN_ACTIVATIONS " << program.activations.size() << "\n"
     << "#define NUM_TRAIN_SLOTS " << program.slots.size() << "\n"
     << "#define NUM_RESULTS " << program.outputs.size() << " /* the loss, then the next state */\n"
     << "#define NUM_UPDATES " << train.updateState.size() << "\n"
     << "#define TRAIN_MAX_BATCH " << program.maxBatch << "LL\n"
     << "#define LABELS_EXTENT " << labels.shape[0] << "LL /* -1: the batch */\n"
     << "#define CLASSES " << train.classes << "LL /* labels lie in [0, CLASSES); 0: unchecked */\n"
     << "#define ADAM " << (train.optimizer == "adam" ? 1 : 0) << "\n\n"
     << "typedef struct result_info {\n  int32_t rank;\n  int64_t shape[KILN_MAX_RANK];\n"
     << "  int64_t elements;\n} result_info;\n\n"
     << "static const activation_info train_activation_table[ARRAY(NUM_TRAIN_ACTIVATIONS)] = "
     << tableInitializer(activationRows) << ";\n"
     << "static const slot_info train_slot_table[ARRAY(NUM_TRAIN_SLOTS)] = "
     << tableInitializer(slotRows) << ";\n"
     << "static const result_info result_table[NUM_RESULTS] = " << tableInitializer(resultRows)
     << ";\n"
     << "/* results[1 + k] is the next value of state[update_state[k]]. */\n"
     << "static const int32_t update_state[ARRAY(NUM_UPDATES)] = " << updates << ";\n";
  os << "\n/* The forward pass in training mode (@forward_train): what " << program.name
     << "_forward runs after\n * " << program.name << "_set_training(model, 1). */\n";
  if (!library.trainingForward) {
    os << "#define TRAIN_FORWARD 0 /* no batch norm: @forward serves both modes */\n";
    return text;
  }
  const TrainingForward &tf = *library.trainingForward;
  std::vector<std::string> tfActivations, tfSlots;
  for (const Activation &a : tf.program.activations)
    tfActivations.push_back(activationRow(a));
  for (const Slot &slot : tf.program.slots)
    tfSlots.push_back(slotRow(slot));
  os << "#define TRAIN_FORWARD 1\n"
     << "#define NUM_TF_ACTIVATIONS " << tf.program.activations.size() << "\n"
     << "#define NUM_TF_SLOTS " << tf.program.slots.size() << "\n"
     << "#define NUM_TF_UPDATES " << tf.updateState.size() << "\n"
     << "static const activation_info tf_activation_table[ARRAY(NUM_TF_ACTIVATIONS)] = "
     << tableInitializer(tfActivations) << ";\n"
     << "static const slot_info tf_slot_table[ARRAY(NUM_TF_SLOTS)] = "
     << tableInitializer(tfSlots) << ";\n"
     << "/* next_stats[k] is the next value of state[tf_update_state[k]]. */\n"
     << "static const int32_t tf_update_state[ARRAY(NUM_TF_UPDATES)] = " << indexList(tf.updateState)
     << ";\n";
  return text;
}

namespace {

// How the training-mode forward's C names a program value: the caller's tensors, the shared
// state, its own activations, and the next running statistics.
std::string trainingForwardValue(const TrainingForward &tf, ValueRef ref) {
  const ModelProgram &program = tf.program;
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    return "&" + program.inputs[ref.index].name + "_buffer";
  case ValueRef::Kind::Parameter:
    return "&model->state_buffers[" + std::to_string(tf.parameterState[ref.index]) + "]";
  case ValueRef::Kind::Activation:
    return "&model->tf_activation_buffers[" + std::to_string(ref.index) + "]";
  case ValueRef::Kind::Derived: // only @forward has prepare kernels
  case ValueRef::Kind::Output:
    break;
  }
  if (ref.index < tf.numOutputs)
    return "&" + program.outputs[ref.index].name + "_buffer";
  return "&model->next_stats_buffers[" + std::to_string(ref.index - tf.numOutputs) + "]";
}

// The host data behind a value an output is copied from.
std::string trainingForwardHost(const TrainingForward &tf, ValueRef ref) {
  const ModelProgram &program = tf.program;
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    return "(float *)" + program.inputs[ref.index].name + "->data";
  case ValueRef::Kind::Parameter:
    return "model->state[" + std::to_string(tf.parameterState[ref.index]) + "]";
  case ValueRef::Kind::Activation: // never: returned kernel results are written in place
  case ValueRef::Kind::Derived:    // only @forward has derived tensors
  case ValueRef::Kind::Output:
    break;
  }
  if (ref.index < tf.numOutputs)
    return "(float *)" + program.outputs[ref.index].name + "->data";
  return "model->next_stats[" + std::to_string(ref.index - tf.numOutputs) + "]";
}

} // namespace

std::string emitTrainingForward(const LibraryProgram &library, const EmitInfo &info) {
  if (!library.trainingForward)
    return "";
  const TrainingForward &tf = *library.trainingForward;
  const ModelProgram &program = tf.program;
  const std::string &m = program.name;
  std::vector<const IOTensor *> tensors;
  for (const IOTensor &t : program.inputs)
    tensors.push_back(&t);
  for (unsigned i = 0; i < tf.numOutputs; ++i)
    tensors.push_back(&program.outputs[i]);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "\n/* " << m << "_forward in training mode, its arguments checked: the whole batch at once "
     << "(batch statistics),\n * then the next running statistics become the state (buffers "
     << "swapped, as a step's commit does). */\n"
     << "static kiln_status forward_training(" << m << " *model";
  for (size_t i = 0; i < tensors.size(); ++i)
    os << (i < program.inputs.size() ? ", const kiln_tensor *" : ", kiln_tensor *")
       << tensors[i]->name;
  os << ", int64_t batch) {\n";
  for (const IOTensor *t : tensors)
    os << bufferLocals(*t);
  os << "  int error = 0;\n  const char *failed = NULL;\n  int32_t k;\n"
     << "  kiln_status status;\n"
     << "  if (batch > TRAIN_MAX_BATCH)\n"
     << "    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_forward: batch %lld exceeds the largest this library runs in training mode, %lld "
        "(a tensor would reach 2^31 bytes)\", (long long)batch, TRAIN_MAX_BATCH);\n"
     << "  status = set_bind(&model->tf, batch);\n"
     << "  if (status != KILN_OK)\n    return status;\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const IOTensor *t = tensors[i];
    os << "  memset(&" << t->name << "_buffer, 0, sizeof " << t->name << "_buffer);\n"
       << "  describe(&" << t->name << "_buffer, " << t->name << "_dims, " << t->name
       << "->data, " << t->shape.size() << ", " << t->name << "_shape, batch);\n";
    if (info.gpu && i < program.inputs.size())
      os << "  " << t->name << "_buffer.flags = halide_buffer_flag_host_dirty;\n";
  }
  os << kernelCalls(
      program.kernels, [&](ValueRef ref) { return trainingForwardValue(tf, ref); }, "  ");
  if (info.gpu)
    for (const KernelCall &call : program.kernels)
      if (call.result.kind == ValueRef::Kind::Output && call.result.index < tf.numOutputs)
        os << "  error = halide_copy_to_host(NULL, " << trainingForwardValue(tf, call.result)
           << ");\n  if (error) {\n    failed = \"copy of "
           << program.outputs[call.result.index].name << " to the host\";\n    goto done;\n  }\n";
  for (const OutputCopy &copy : program.copies) {
    const IOTensor &out = program.outputs[copy.output];
    if (info.gpu && copy.source.kind == ValueRef::Kind::Parameter)
      os << "  error = halide_copy_to_host(NULL, " << trainingForwardValue(tf, copy.source)
         << ");\n  if (error) {\n    failed = \"copy of the state to the host\";\n"
         << "    goto done;\n  }\n";
    std::string destination =
        trainingForwardHost(tf, ValueRef{ValueRef::Kind::Output, copy.output});
    std::string elements =
        copy.output < tf.numOutputs
            ? "count(" + std::to_string(out.shape.size()) + ", " + out.name + "_shape, batch)"
            : "state_table[" + std::to_string(tf.updateState[copy.output - tf.numOutputs]) +
                  "].elements";
    os << "  memcpy(" << destination << ", " << trainingForwardHost(tf, copy.source)
       << ", (size_t)" << elements << " * sizeof(float));\n";
    if (info.gpu && copy.output >= tf.numOutputs)
      os << "  model->next_stats_buffers[" << copy.output - tf.numOutputs
         << "].flags = halide_buffer_flag_host_dirty;\n";
  }
  os << "  for (k = 0; k < NUM_TF_UPDATES; ++k)\n"
     << "    swap_into_state(model, tf_update_state[k], &model->next_stats[k],\n"
     << "                    &model->next_stats_buffers[k]);\n"
     << "done:\n";
  if (info.gpu)
    for (const IOTensor *t : tensors)
      os << "  release_device(&" << t->name << "_buffer);\n";
  os << "  if (error)\n    return kiln_status_from_halide(error, failed);\n"
     << "  return KILN_OK;\n}\n";
  return text;
}

std::string emitTrainStep(const LibraryProgram &library, const EmitInfo &info) {
  const TrainStep &train = *library.train;
  const ModelProgram &program = train.program;
  const std::string &m = program.name;
  std::string text;
  llvm::raw_string_ostream os(text);

  std::vector<const IOTensor *> data;
  for (unsigned i = 0; i < train.numDataInputs; ++i)
    data.push_back(&program.inputs[i]);
  os << "\nkiln_status " << m << "_train_step(" << m << " *model";
  for (const IOTensor *t : data)
    os << ", const kiln_tensor *" << t->name;
  os << ", const kiln_tensor *labels,\n    const kiln_optimizer_params *optimizer, float *loss) {\n";
  for (const IOTensor *t : data)
    os << bufferLocals(*t);
  os << "  kiln_optimizer_params defaults;\n  int64_t batch = 1;\n  int error = 0;\n"
     << "  const char *failed = NULL;\n  kiln_status status;\n  float value;\n"
     << "  if (loss)\n    *loss = 0.0f;\n"
     << "  if (!model)\n    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_train_step: model is NULL\");\n"
     << "  if (!loss)\n    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_train_step: loss is NULL\");\n";
  os << tensorChecks(data, m + "_train_step");
  // The whole batch is one step: batch statistics and the loss's mean are over all of it.
  os << "  status = check_labels(labels, batch);\n  if (status != KILN_OK)\n    return status;\n"
     << "  if (batch > TRAIN_MAX_BATCH)\n"
     << "    return kiln_fail(KILN_INVALID_ARGUMENT, \"" << m
     << "_train_step: batch %lld exceeds the largest this library trains on, %lld (a tensor "
        "would reach 2^31 bytes)\", (long long)batch, TRAIN_MAX_BATCH);\n"
     << "  if (!optimizer) {\n    kiln_optimizer_params_init(&defaults);\n"
     << "    optimizer = &defaults;\n  }\n"
     << "  status = check_optimizer(optimizer);\n  if (status != KILN_OK)\n    return status;\n"
     << "  status = prepare_train(model, batch);\n  if (status != KILN_OK)\n    return status;\n"
     << "  status = convert_labels(model, labels);\n  if (status != KILN_OK)\n    return status;\n"
     << "  fill_hyper(model, optimizer);\n";
  for (const IOTensor *t : data) {
    os << "  memset(&" << t->name << "_buffer, 0, sizeof " << t->name << "_buffer);\n"
       << "  describe(&" << t->name << "_buffer, " << t->name << "_dims, " << t->name
       << "->data, " << t->shape.size() << ", " << t->name << "_shape, batch);\n";
    if (info.gpu)
      os << "  " << t->name << "_buffer.flags = halide_buffer_flag_host_dirty;\n";
  }
  // Every kernel writes scratch (activations, results): the state is only read until commit().
  os << kernelCalls(program.kernels, [&](ValueRef ref) { return trainValue(train, ref); }, "  ");
  if (info.gpu)
    os << "  error = halide_copy_to_host(NULL, &model->result_buffers[0]);\n"
       << "  if (error) {\n    failed = \"copy of the loss to the host\";\n    goto done;\n  }\n";
  os << "  value = model->results[0][0];\n  *loss = value;\n"
     << "  if (!isfinite(value)) {\n"
     << "    status = kiln_fail(KILN_NUMERIC_ERROR, \"" << m
     << "_train_step: the loss is %g at step %lld; the model is unchanged (a smaller learning "
        "rate may help)\", (double)value, (long long)(model->step + 1));\n"
     << "    goto done;\n  }\n";
  for (const OutputCopy &copy : program.copies) {
    if (info.gpu && (copy.source.kind == ValueRef::Kind::Parameter ||
                     copy.source.kind == ValueRef::Kind::Output))
      os << "  error = halide_copy_to_host(NULL, " << trainValue(train, copy.source)
         << ");\n  if (error) {\n    failed = \"copy to the host\";\n    goto done;\n  }\n";
    os << "  memcpy(model->results[" << copy.output << "], " << trainHost(train, copy.source)
       << ", (size_t)result_table[" << copy.output << "].elements * sizeof(float));\n";
    if (info.gpu)
      os << "  model->result_buffers[" << copy.output
         << "].flags = halide_buffer_flag_host_dirty;\n";
  }
  os << "  commit(model);\n"
     << "done:\n";
  if (info.gpu)
    for (const IOTensor *t : data)
      os << "  release_device(&" << t->name << "_buffer);\n";
  os << "  if (error)\n    return kiln_status_from_halide(error, failed);\n"
     << "  return status;\n}\n";
  return text;
}

} // namespace kiln::package
