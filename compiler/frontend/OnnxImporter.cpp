// The ONNX frontend. Two passes over the graph: the first checks every node (a known op in a
// supported form, inputs defined before use, each output defined once) and reports all that
// is wrong at once; the second builds @forward, one nn op (or a view) per node, each op's result
// type inferred as it is built. Each ONNX op is one entry of a table: a check of its attributes
// and a build function.
#include "frontend/OnnxImporter.h"
#include "frontend/OpBuilders.h"
#include "frontend/KilnParser.h"
#include "frontend/LayerBuilders.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/ShapeFormulas.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

using namespace mlir;
namespace nn = kiln::nn;

namespace kiln {
namespace {

// Opset 6 too: ONNX's backend data converted from PyTorch (libonnx-testdata) uses it; its
// forms of the ops below differ from opset 7's only in attributes the checks reject.
constexpr int64_t kMinOpset = 6, kMaxOpset = 18;

// A decoded tensor (an initializer, or a Constant node's value): floats or 64-bit integers.
struct Tensor {
  std::vector<int64_t> dims;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  bool isFloat = true;
};

std::string describe(const onnx::NodeProto &node, int index) {
  std::string name = node.name().empty() ? "#" + std::to_string(index) : node.name();
  return "node '" + name + "' (" + node.op_type() + ")";
}

const char *typeName(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT: return "float32";
  case onnx::TensorProto::DOUBLE: return "float64";
  case onnx::TensorProto::FLOAT16: return "float16";
  case onnx::TensorProto::INT64: return "int64";
  case onnx::TensorProto::INT32: return "int32";
  case onnx::TensorProto::INT8: return "int8";
  case onnx::TensorProto::UINT8: return "uint8";
  case onnx::TensorProto::BOOL: return "bool";
  default: return "an unsupported type";
  }
}

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node, llvm::StringRef name) {
  for (const onnx::AttributeProto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t intAttr(const onnx::NodeProto &node, llvm::StringRef name, int64_t fallback) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr && attr->type() == onnx::AttributeProto::INT ? attr->i() : fallback;
}

float floatAttr(const onnx::NodeProto &node, llvm::StringRef name, float fallback) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr && attr->type() == onnx::AttributeProto::FLOAT ? attr->f() : fallback;
}

std::string stringAttr(const onnx::NodeProto &node, llvm::StringRef name, llvm::StringRef fallback) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr && attr->type() == onnx::AttributeProto::STRING ? attr->s() : fallback.str();
}

std::vector<int64_t> intsAttr(const onnx::NodeProto &node, llvm::StringRef name,
                              std::vector<int64_t> fallback) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  if (!attr || attr->type() != onnx::AttributeProto::INTS)
    return fallback;
  return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
}

std::string joinInts(llvm::ArrayRef<int64_t> values) {
  std::string text = "[";
  for (auto [i, v] : llvm::enumerate(values))
    text += (i ? ", " : "") + std::to_string(v);
  return text + "]";
}

class Importer;

// One ONNX op: `check` appends why a node cannot be imported (an attribute or form Kiln does not
// support), `build` makes its nn ops from the node's input values.
struct OpSpec {
  int minInputs; // the inputs every node of the op has (checked before any check or build)
  void (*check)(const Importer &, const onnx::NodeProto &, std::vector<std::string> &);
  LogicalResult (*build)(Importer &, const onnx::NodeProto &);
};

const llvm::StringMap<OpSpec> &opTable();

class Importer {
public:
  Importer(MLIRContext *context, llvm::StringRef path, InitialValues &values)
      : context(context), builder(context), path(path.str()), values(values) {}

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

  // --- what op checks and builders use ---
  int64_t opset = 0;
  MLIRContext *context;
  OpBuilder builder;
  Location loc() const { return currentLoc; }

  InFlightDiagnostic error(const onnx::NodeProto &node) {
    InFlightDiagnostic diag = emitError(fileLoc());
    diag << describe(node, currentIndex) << ": ";
    return diag;
  }
  bool isInitializer(const std::string &name) const { return initializers.count(name) > 0; }
  // An initializer or a Constant node's output (known from checkGraph on, before it is built).
  bool isConstant(const std::string &name) const {
    return isInitializer(name) || constantOutputs.count(name) > 0;
  }
  // The input's value in @forward; null for an initializer or constant.
  Value value(const std::string &name) const { return tensors.lookup(name); }
  // Input i of the node as a computed tensor, or failure with an error (a constant there).
  FailureOr<Value> input(const onnx::NodeProto &node, int i) {
    Value v = i < node.input_size() ? value(node.input(i)) : Value();
    if (!v) {
      error(node) << "input " << i << " ('" << (i < node.input_size() ? node.input(i) : "")
                  << "') must be a computed tensor, not a constant";
      return failure();
    }
    return v;
  }
  // A decoded initializer or Constant, or failure (with an error naming the node).
  FailureOr<const Tensor *> constant(const onnx::NodeProto &node, const std::string &name);
  // The nn.parameter holding initializer `name` (created on first use, its value recorded):
  // `transposed` stores a 2-D initializer transposed (a [K, N] weight as nn.dense's [N, K]).
  FailureOr<Value> parameter(const onnx::NodeProto &node, const std::string &name, bool buffer,
                             bool transposed = false);
  // Input i of a layer as its weight, bias or statistic: a constant becomes its nn.parameter
  // (as `parameter`), a tensor computed in the graph (a graph input, a Transpose's result) is
  // used as it is, through nn.transpose when `transposed`.
  FailureOr<Value> weight(const onnx::NodeProto &node, int i, bool buffer,
                          bool transposed = false);
  // A [1] nn.parameter buffer holding `value` (Gemm's alpha and beta), named after the node's
  // output and `what`.
  Value scalarBuffer(const onnx::NodeProto &node, const std::string &what, float value);
  // Binds the node's first output to value.
  void define(const onnx::NodeProto &node, Value result) { tensors[node.output(0)] = result; }
  void defineConstant(const std::string &name, Tensor tensor) {
    constants[name] = std::move(tensor);
  }
  // Binds the node's first output to the op built (kiln::build), passing on a failure.
  FailureOr<Value> finish(const onnx::NodeProto &node, FailureOr<Value> result) {
    if (succeeded(result))
      define(node, *result);
    return result;
  }
  RankedTensorType typeOf(Value v) const { return cast<RankedTensorType>(v.getType()); }
  // "node 'conv1' (Conv)": the node being checked or built.
  std::string current(const onnx::NodeProto &node) const { return describe(node, currentIndex); }
  // A TensorProto's data, checked against its shape; `what` names it in errors.
  FailureOr<Tensor> decode(const onnx::TensorProto &proto, const std::string &what);

private:
  Location fileLoc() const { return FileLineColLoc::get(context, path, 0, 0); }
  LogicalResult checkOpset(const onnx::ModelProto &model);
  LogicalResult checkGraph(const onnx::GraphProto &graph);
  FailureOr<Type> inputType(const onnx::ValueInfoProto &input);
  FailureOr<std::string> readExternal(const onnx::TensorProto &proto, const std::string &what,
                                      uint64_t bytes);
  LogicalResult buildLoss(func::FuncOp forward);

  std::string path;
  InitialValues &values;
  std::map<std::string, const onnx::TensorProto *> initializers;
  std::map<std::string, Tensor> decoded, constants;
  std::set<std::string> constantOutputs;
  llvm::StringMap<Value> tensors;
  llvm::StringMap<Value> parameters;
  llvm::StringMap<bool> transposedParameters;
  Location currentLoc = UnknownLoc::get(context);
  int currentIndex = 0;
};

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

FailureOr<std::string> Importer::readExternal(const onnx::TensorProto &proto,
                                              const std::string &what, uint64_t bytes) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const onnx::StringStringEntryProto &entry : proto.external_data()) {
    auto parse = [&](uint64_t &out) {
      return !llvm::StringRef(entry.value()).getAsInteger(10, out);
    };
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      if (!parse(offset)) {
        emitError(fileLoc()) << what << ": external data offset '" << entry.value()
                             << "' is not a number";
        return failure();
      }
    } else if (entry.key() == "length") {
      uint64_t n;
      if (!parse(n)) {
        emitError(fileLoc()) << what << ": external data length '" << entry.value()
                             << "' is not a number";
        return failure();
      }
      length = n;
    }
  }
  // The data must lie in the model's folder: a relative path without '..', and no symbolic link
  // out of it.
  llvm::SmallString<256> folder(path);
  llvm::sys::path::remove_filename(folder);
  if (folder.empty())
    folder = ".";
  bool escapes = location.empty() || llvm::sys::path::is_absolute(location) ||
                 location.find('\0') != std::string::npos;
  for (auto it = llvm::sys::path::begin(location), end = llvm::sys::path::end(location);
       it != end && !escapes; ++it)
    escapes = *it == "..";
  llvm::SmallString<256> file(folder);
  llvm::sys::path::append(file, location);
  llvm::SmallString<256> realFolder, realFile;
  if (!escapes && !llvm::sys::fs::real_path(folder, realFolder) &&
      !llvm::sys::fs::real_path(file, realFile)) {
    llvm::SmallString<256> prefix(realFolder);
    llvm::sys::path::append(prefix, "");
    escapes = !llvm::StringRef(realFile).starts_with(prefix);
  }
  if (escapes) {
    emitError(fileLoc()) << what << ": external data path '" << location
                         << "' leaves the model's folder";
    return failure();
  }
  if (length && *length != bytes) {
    emitError(fileLoc()) << what << ": external data length " << *length << " disagrees with its shape ("
                         << bytes << " bytes)";
    return failure();
  }
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(fileLoc()) << what << ": cannot read external data '" << file
                         << "': " << buffer.getError().message();
    return failure();
  }
  uint64_t size = (*buffer)->getBufferSize();
  if (offset > size || bytes > size - offset) {
    emitError(fileLoc()) << what << ": external data '" << location << "' holds " << size
                         << " bytes; the tensor needs " << bytes << " from offset " << offset;
    return failure();
  }
  return std::string((*buffer)->getBufferStart() + offset, bytes);
}

FailureOr<Tensor> Importer::decode(const onnx::TensorProto &proto, const std::string &what) {
  Tensor tensor;
  tensor.dims.assign(proto.dims().begin(), proto.dims().end());
  for (int64_t d : tensor.dims)
    if (d < 0) {
      emitError(fileLoc()) << what << " has a negative extent: " << joinInts(tensor.dims);
      return failure();
    }
  std::optional<int64_t> count = kiln::shape::checkedProduct(tensor.dims);
  if (!count) {
    emitError(fileLoc()) << what << " has more elements than fit in 64 bits: "
                         << joinInts(tensor.dims);
    return failure();
  }
  if (*count > (int64_t(1) << 40)) { // so that its size in bytes fits too
    emitError(fileLoc()) << what << " has " << *count << " elements, more than 2^40: "
                         << joinInts(tensor.dims);
    return failure();
  }
  int32_t type = proto.data_type();
  if (type != onnx::TensorProto::FLOAT && type != onnx::TensorProto::INT64) {
    emitError(fileLoc()) << what << " is " << typeName(type)
                         << "; Kiln reads float32 weights and int64 shapes";
    return failure();
  }
  tensor.isFloat = type == onnx::TensorProto::FLOAT;
  uint64_t elementBytes = tensor.isFloat ? 4 : 8, bytes = uint64_t(*count) * elementBytes;
  std::string external;
  const std::string *raw = nullptr;
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<std::string> data = readExternal(proto, what, bytes);
    if (failed(data))
      return failure();
    external = std::move(*data);
    raw = &external;
  } else if (proto.has_raw_data()) {
    raw = &proto.raw_data();
  }
  if (raw) {
    if (raw->size() != bytes) {
      emitError(fileLoc()) << what << " holds " << raw->size() << " bytes of data; its shape "
                           << joinInts(tensor.dims) << " needs " << bytes;
      return failure();
    }
    // Little-endian, as ONNX stores raw data and as every target Kiln runs on.
    if (tensor.isFloat) {
      tensor.floats.resize(*count);
      std::memcpy(tensor.floats.data(), raw->data(), bytes);
    } else {
      tensor.ints.resize(*count);
      std::memcpy(tensor.ints.data(), raw->data(), bytes);
    }
    return tensor;
  }
  int64_t held = tensor.isFloat ? proto.float_data_size() : proto.int64_data_size();
  if (held != *count) {
    emitError(fileLoc()) << what << " holds " << held << " values; its shape "
                         << joinInts(tensor.dims) << " has " << *count;
    return failure();
  }
  if (tensor.isFloat)
    tensor.floats.assign(proto.float_data().begin(), proto.float_data().end());
  else
    tensor.ints.assign(proto.int64_data().begin(), proto.int64_data().end());
  return tensor;
}

FailureOr<const Tensor *> Importer::constant(const onnx::NodeProto &node,
                                             const std::string &name) {
  if (auto it = constants.find(name); it != constants.end())
    return &it->second;
  if (auto it = decoded.find(name); it != decoded.end())
    return &it->second;
  auto proto = initializers.find(name);
  if (proto == initializers.end()) {
    error(node) << "input '" << name << "' must be an initializer or a Constant";
    return failure();
  }
  FailureOr<Tensor> tensor = decode(*proto->second, describe(node, currentIndex) +
                                                        ": initializer '" + name + "'");
  if (failed(tensor))
    return failure();
  return &(decoded[name] = std::move(*tensor));
}

FailureOr<Value> Importer::parameter(const onnx::NodeProto &node, const std::string &name,
                                     bool buffer, bool transposed) {
  if (Value existing = parameters.lookup(name)) {
    if (transposedParameters.lookup(name) != transposed) {
      error(node) << "initializer '" << name << "' is used both transposed and not";
      return failure();
    }
    return existing;
  }
  FailureOr<const Tensor *> tensor = constant(node, name);
  if (failed(tensor))
    return failure();
  if (!(*tensor)->isFloat) {
    error(node) << "initializer '" << name << "' is int64; a weight must be float32";
    return failure();
  }
  std::vector<int64_t> shape = (*tensor)->dims;
  if (shape.empty())
    shape = {1}; // a scalar (a Mul's scale): nn tensors have rank 1 or more
  std::vector<float> data = (*tensor)->floats;
  if (transposed) {
    if (shape.size() != 2) {
      error(node) << "weight '" << name << "' must be 2-D, got " << joinInts(shape);
      return failure();
    }
    int64_t rows = shape[0], columns = shape[1];
    std::vector<float> t(data.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < columns; ++c)
        t[c * rows + r] = data[r * columns + c];
    data = std::move(t);
    shape = {columns, rows};
  }
  for (int64_t d : shape)
    if (d == 0) {
      error(node) << "initializer '" << name << "' is empty: " << joinInts(shape);
      return failure();
    }
  auto type = RankedTensorType::get(shape, builder.getF32Type());
  Value result = builder.create<nn::ParameterOp>(loc(), type, name, buffer).getResult();
  parameters[name] = result;
  transposedParameters[name] = transposed;
  values[name] = std::move(data);
  return result;
}

FailureOr<Value> Importer::weight(const onnx::NodeProto &node, int i, bool buffer,
                                  bool transposed) {
  if (i < node.input_size() && isConstant(node.input(i)))
    return parameter(node, node.input(i), buffer, transposed);
  FailureOr<Value> computed = input(node, i);
  if (failed(computed) || !transposed)
    return computed;
  if (typeOf(*computed).getRank() != 2) {
    error(node) << "input " << i << " ('" << node.input(i) << "') must be 2-D, got "
                << joinInts(typeOf(*computed).getShape());
    return failure();
  }
  return build::create<nn::TransposeOp>(builder, loc(), *computed,
                                        builder.getDenseI64ArrayAttr({1, 0}));
}

Value Importer::scalarBuffer(const onnx::NodeProto &node, const std::string &what,
                             float value) {
  std::string base = node.output(0) + "." + what, name = base;
  for (int k = 1; parameters.count(name) || isConstant(name) || tensors.count(name); ++k)
    name = base + "." + std::to_string(k);
  auto type = RankedTensorType::get({1}, builder.getF32Type());
  Value result = builder.create<nn::ParameterOp>(loc(), type, name, /*buffer=*/true).getResult();
  parameters[name] = result;
  transposedParameters[name] = false;
  values[name] = {value};
  return result;
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

LogicalResult Importer::checkOpset(const onnx::ModelProto &model) {
  for (const onnx::OperatorSetIdProto &set : model.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      opset = set.version();
  if (opset == 0 && model.opset_import_size() == 0)
    opset = 1; // IR version 2 models without opset_import (ONNX's rule)
  if (opset < kMinOpset || opset > kMaxOpset) {
    emitError(fileLoc()) << "the model imports opset " << opset << " of the default domain; Kiln reads opsets "
                         << kMinOpset << " to " << kMaxOpset;
    return failure();
  }
  return success();
}

LogicalResult Importer::checkGraph(const onnx::GraphProto &graph) {
  llvm::StringMap<bool> defined;
  for (const onnx::TensorProto &init : graph.initializer()) {
    if (!initializers.emplace(init.name(), &init).second) {
      emitError(fileLoc()) << "initializer '" << init.name() << "' is defined twice";
      return failure();
    }
    defined[init.name()] = true;
  }
  for (const onnx::ValueInfoProto &input : graph.input())
    defined[input.name()] = true;
  bool ok = true;
  const llvm::StringMap<OpSpec> &table = opTable();
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    currentIndex = static_cast<int>(index);
    std::vector<std::string> reasons;
    auto spec = table.find(node.op_type());
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      reasons.push_back("its domain '" + node.domain() + "' is not ONNX's default domain");
    else if (spec == table.end())
      reasons.push_back("unsupported op");
    for (const std::string &input : node.input())
      if (!input.empty() && !defined.count(input))
        reasons.push_back("input '" + input +
                          "' is not defined before this node (a dangling edge or a cycle)");
    for (const std::string &output : node.output())
      if (!output.empty() && !defined.insert({output, true}).second)
        reasons.push_back("output '" + output + "' is already defined");
    if (spec != table.end() && node.input_size() < spec->second.minInputs)
      reasons.push_back("needs " + std::to_string(spec->second.minInputs) + " inputs, has " +
                        std::to_string(node.input_size()));
    if (node.output_size() < 1 || node.output(0).empty())
      reasons.push_back("has no output");
    if (spec != table.end() && reasons.empty())
      spec->second.check(*this, node, reasons);
    bool passesConstant = node.op_type() == "Identity" && node.input_size() > 0 &&
                          isConstant(node.input(0)); // buildIdentity keeps it a constant
    if ((node.op_type() == "Constant" || passesConstant) && reasons.empty())
      constantOutputs.insert(node.output(0));
    for (const std::string &reason : reasons) {
      error(node) << reason;
      ok = false;
    }
  }
  for (const onnx::ValueInfoProto &output : graph.output())
    if (!defined.count(output.name())) {
      emitError(fileLoc()) << "graph output '" << output.name() << "' is not defined by any node";
      ok = false;
    }
  return success(ok);
}

FailureOr<Type> Importer::inputType(const onnx::ValueInfoProto &input) {
  const onnx::TypeProto &type = input.type();
  if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
    emitError(fileLoc()) << "graph input '" << input.name() << "' must be a float32 tensor, got "
                         << (type.has_tensor_type() ? typeName(type.tensor_type().elem_type())
                                                    : "a non-tensor");
    return failure();
  }
  if (!type.tensor_type().has_shape()) {
    emitError(fileLoc()) << "graph input '" << input.name() << "' has no shape";
    return failure();
  }
  SmallVector<int64_t> shape;
  for (auto [i, dim] : llvm::enumerate(type.tensor_type().shape().dim())) {
    if (dim.has_dim_value() && dim.dim_value() > 0) {
      shape.push_back(dim.dim_value());
    } else if (i == 0 && !dim.has_dim_value()) {
      shape.push_back(ShapedType::kDynamic); // a symbolic batch
    } else {
      emitError(fileLoc()) << "graph input '" << input.name() << "' dimension " << i << " is "
                           << (dim.has_dim_value() ? std::to_string(dim.dim_value())
                                                   : "'" + dim.dim_param() + "'")
                           << "; Kiln needs positive static extents, except a symbolic batch";
      return failure();
    }
  }
  return Type(RankedTensorType::get(shape, builder.getF32Type()));
}

LogicalResult Importer::buildLoss(func::FuncOp forward) {
  // Like a .kiln model's `loss`: softmax cross-entropy of the (one) output against labels.
  auto logits = dyn_cast<RankedTensorType>(forward.getResultTypes().front());
  if (forward.getNumResults() != 1 || !logits || logits.getRank() != 2)
    return success();
  Location lossLoc = NameLoc::get(builder.getStringAttr("loss"), fileLoc());
  SmallVector<Type> argTypes(forward.getArgumentTypes());
  argTypes.push_back(RankedTensorType::get({logits.getDimSize(0)}, builder.getI64Type()));
  auto lossType = RankedTensorType::get({}, builder.getF32Type());
  auto lossFunc = builder.create<func::FuncOp>(lossLoc, "loss",
                                               builder.getFunctionType(argTypes, {lossType}));
  Block *entry = lossFunc.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  auto call = builder.create<func::CallOp>(lossLoc, forward, entry->getArguments().drop_back());
  FailureOr<Value> loss = build::create<nn::SoftmaxCrossEntropyOp>(
      builder, lossLoc, call.getResult(0), entry->getArguments().back());
  if (failed(loss))
    return failure();
  builder.create<func::ReturnOp>(lossLoc, *loss);
  return success();
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model) {
  if (failed(checkOpset(model)))
    return nullptr;
  const onnx::GraphProto &graph = model.graph();
  if (failed(checkGraph(graph)))
    return nullptr;

  OwningOpRef<ModuleOp> module =
      ModuleOp::create(fileLoc(), StringRef(modelNameForFile(path)));
  builder.setInsertionPointToEnd(module->getBody());
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  SmallVector<std::string> argNames;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (isInitializer(input.name())) // opsets before 9 list initializers as inputs too
      continue;
    FailureOr<Type> type = inputType(input);
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    argLocs.push_back(NameLoc::get(builder.getStringAttr(input.name()), fileLoc()));
    argNames.push_back(input.name());
  }
  if (graph.output_size() == 0) {
    emitError(fileLoc()) << "the graph has no outputs";
    return nullptr;
  }
  auto forward = builder.create<func::FuncOp>(fileLoc(), "forward",
                                              builder.getFunctionType(argTypes, {}));
  Block *entry = forward.addEntryBlock();
  for (auto [i, arg] : llvm::enumerate(entry->getArguments())) {
    arg.setLoc(argLocs[i]);
    tensors[argNames[i]] = arg;
  }
  builder.setInsertionPointToStart(entry);

  // nn's shape errors name the op; a note names the node they came from.
  ScopedDiagnosticHandler nodeNotes(context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && currentIndex >= 0 &&
        currentIndex < graph.node_size() && !llvm::StringRef(diag.str()).starts_with("node '"))
      diag.attachNote(fileLoc()) << "while importing "
                                 << describe(graph.node(currentIndex), currentIndex);
    return failure();
  });
  const llvm::StringMap<OpSpec> &table = opTable();
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    currentIndex = static_cast<int>(index);
    std::string layer = node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                                            : node.name();
    currentLoc = NameLoc::get(builder.getStringAttr(layer), fileLoc());
    if (failed(table.find(node.op_type())->second.build(*this, node)))
      return nullptr;
  }
  currentIndex = -1;
  SmallVector<Value> results;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    Value v = tensors.lookup(output.name());
    // A graph input returned unchanged (Identity, inference Dropout) is copied by the
    // library; a constant is not an output Kiln computes.
    if (!v) {
      emitError(fileLoc()) << "graph output '" << output.name()
                           << "' is a constant; Kiln's outputs are computed tensors";
      return nullptr;
    }
    results.push_back(v);
  }
  builder.create<func::ReturnOp>(fileLoc(), results);
  forward.setFunctionType(builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  builder.setInsertionPointToEnd(module->getBody());
  if (failed(buildLoss(forward)))
    return nullptr;
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// The ops
//===----------------------------------------------------------------------===//

void noCheck(const Importer &, const onnx::NodeProto &, std::vector<std::string> &) {}

void onlyFirstOutput(const onnx::NodeProto &node, std::vector<std::string> &why) {
  for (int i = 1; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      why.push_back("output " + std::to_string(i) + " ('" + node.output(i) +
                    "') is not supported");
}

// The padding of a conv or pooling window: `pads`, or auto_pad's SAME_UPPER / SAME_LOWER from
// the input's static extents (total = max((⌈n/s⌉−1)·s + d·(k−1) + 1 − n, 0)), or VALID (none).
FailureOr<SmallVector<int64_t>> windowPads(Importer &im, const onnx::NodeProto &node,
                                           RankedTensorType input, ArrayRef<int64_t> kernel,
                                           ArrayRef<int64_t> strides,
                                           ArrayRef<int64_t> dilations) {
  size_t rank = kernel.size();
  for (size_t i = 0; i < rank; ++i)
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1) {
      im.error(node) << "kernel " << joinInts(kernel) << ", strides " << joinInts(strides)
                     << " and dilations " << joinInts(dilations) << " must be positive";
      return failure();
    }
  std::string autoPad = stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    std::vector<int64_t> pads = intsAttr(node, "pads", std::vector<int64_t>(2 * rank, 0));
    if (pads.size() != 2 * rank) {
      im.error(node) << "pads " << joinInts(pads) << " must hold " << 2 * rank << " values";
      return failure();
    }
    return SmallVector<int64_t>(pads.begin(), pads.end());
  }
  if (autoPad == "VALID")
    return SmallVector<int64_t>(2 * rank, 0);
  for (size_t i = 0; i < rank; ++i)
    if (input.isDynamicDim(2 + i) && strides[i] != 1) {
      im.error(node) << "auto_pad " << autoPad << " with a stride of " << strides[i]
                     << " needs a static extent in spatial dimension " << i;
      return failure();
    }
  std::string why;
  FailureOr<SmallVector<int64_t>> pads = build::samePadding(
      input, kernel, strides, dilations, /*largerBefore=*/autoPad == "SAME_LOWER", why);
  if (failed(pads))
    im.error(node) << why;
  return pads;
}

void checkAutoPad(const onnx::NodeProto &node, std::vector<std::string> &why) {
  std::string autoPad = stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    why.push_back("auto_pad '" + autoPad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
}

LogicalResult spatialInput(Importer &im, const onnx::NodeProto &node, Value input) {
  int64_t rank = im.typeOf(input).getRank();
  if (rank >= 3 && rank <= 5)
    return success();
  im.error(node) << "expects a 3-D to 5-D input (N, C, spatial...), got rank " << rank;
  return failure();
}

void checkConv(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (node.input_size() < 2)
    why.push_back("needs an input and a weight");
  checkAutoPad(node, why);
}

LogicalResult buildConv(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in) || failed(spatialInput(im, node, *in)))
    return failure();
  Value input = *in;
  FailureOr<Value> weight = im.weight(node, 1, false);
  if (failed(weight))
    return failure();
  Value bias;
  if (node.input_size() > 2 && !node.input(2).empty()) {
    FailureOr<Value> b = im.weight(node, 2, false);
    if (failed(b))
      return failure();
    bias = *b;
  }
  RankedTensorType inputType = im.typeOf(input), weightType = im.typeOf(*weight);
  size_t rank = inputType.getRank() - 2;
  std::vector<int64_t> kernel(weightType.getShape().begin() + std::min<size_t>(2, weightType.getRank()),
                              weightType.getShape().end());
  if (kernel.size() != rank) {
    im.error(node) << "weight " << joinInts(weightType.getShape()) << " does not fit a "
                   << rank << "-D convolution";
    return failure();
  }
  std::vector<int64_t> given = intsAttr(node, "kernel_shape", kernel);
  if (given != kernel) {
    im.error(node) << "kernel_shape " << joinInts(given) << " disagrees with the weight "
                   << joinInts(weightType.getShape());
    return failure();
  }
  std::vector<int64_t> ones(rank, 1);
  std::vector<int64_t> strides = intsAttr(node, "strides", ones);
  std::vector<int64_t> dilations = intsAttr(node, "dilations", ones);
  if (strides.size() != rank || dilations.size() != rank) {
    im.error(node) << "strides " << joinInts(strides) << " and dilations " << joinInts(dilations)
                   << " must hold " << rank << " values";
    return failure();
  }
  FailureOr<SmallVector<int64_t>> pads = windowPads(im, node, inputType, kernel, strides, dilations);
  if (failed(pads))
    return failure();
  return im.finish(node, build::conv(im.builder, im.loc(), input, *weight, bias, strides, *pads,
                                     dilations, intAttr(node, "group", 1)));
}

void checkPool(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  checkAutoPad(node, why);
  onlyFirstOutput(node, why);
  if (!findAttr(node, "kernel_shape"))
    why.push_back("has no kernel_shape");
  std::vector<int64_t> dilations = intsAttr(node, "dilations", {});
  if (llvm::any_of(dilations, [](int64_t d) { return d != 1; }))
    why.push_back("dilations " + joinInts(dilations) + " are not supported (only 1)");
  if (intAttr(node, "storage_order", 0) != 0)
    why.push_back("storage_order 1 (column-major indices) is not supported");
}

template <typename PoolOp> LogicalResult buildPool(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in) || failed(spatialInput(im, node, *in)))
    return failure();
  Value input = *in;
  RankedTensorType inputType = im.typeOf(input);
  size_t rank = inputType.getRank() - 2;
  std::vector<int64_t> kernel = intsAttr(node, "kernel_shape", {});
  std::vector<int64_t> ones(rank, 1);
  std::vector<int64_t> strides = intsAttr(node, "strides", ones);
  if (kernel.size() != rank || strides.size() != rank) {
    im.error(node) << "kernel_shape " << joinInts(kernel) << " and strides " << joinInts(strides)
                   << " must hold " << rank << " values";
    return failure();
  }
  FailureOr<SmallVector<int64_t>> pads = windowPads(im, node, inputType, kernel, strides, ones);
  if (failed(pads))
    return failure();
  bool ceilMode = intAttr(node, "ceil_mode", 0) != 0;
  if constexpr (std::is_same_v<PoolOp, nn::AvgPoolOp>)
    return im.finish(node, build::avgPool(im.builder, im.loc(), input, kernel, strides, *pads,
                                          ceilMode, intAttr(node, "count_include_pad", 0) != 0));
  else
    return im.finish(node, build::maxPool(im.builder, im.loc(), input, kernel, strides, *pads,
                                          ceilMode));
}

template <typename OpTy> LogicalResult buildUnary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  Value input = *in;
  return im.finish(node, build::create<OpTy>(im.builder, im.loc(), input));
}

LogicalResult buildLeakyRelu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  float alpha = floatAttr(node, "alpha", 0.01f);
  if (!std::isfinite(alpha)) {
    im.error(node) << "alpha must be finite, got " << alpha;
    return failure();
  }
  return im.finish(node, build::leakyRelu(im.builder, im.loc(), *in, alpha));
}

// An int64 constant input of a node (the pads or axes of a Pad), or failure with an error.
FailureOr<std::vector<int64_t>> intsInput(Importer &im, const onnx::NodeProto &node, int i,
                                          llvm::StringRef what) {
  FailureOr<const Tensor *> tensor = im.constant(node, node.input(i));
  if (failed(tensor))
    return failure();
  if ((*tensor)->isFloat || (*tensor)->dims.size() > 1) {
    im.error(node) << what << " must be a 1-D int64 tensor";
    return failure();
  }
  return (*tensor)->ints;
}

// A float32 scalar constant input of a node (Clip's bounds, Pad's constant value), or failure
// with an error.
FailureOr<float> floatInput(Importer &im, const onnx::NodeProto &node, int i, llvm::StringRef what) {
  FailureOr<const Tensor *> tensor = im.constant(node, node.input(i));
  if (failed(tensor))
    return failure();
  if (!(*tensor)->isFloat || (*tensor)->floats.size() != 1) {
    im.error(node) << what << " must be one float32 value";
    return failure();
  }
  return (*tensor)->floats[0];
}

// Clip's bounds: attributes min and max before opset 11, optional constant scalar inputs 1 and 2
// since. An absent bound is infinite.
// Clip: constant bounds (attributes before opset 11, constant inputs from it) are nn.clip's;
// a bound computed in the graph (a graph input) is applied by nn.broadcast_max (min) and
// nn.broadcast_min (max) after it, which with min > max gives max, as ONNX says.
LogicalResult buildClip(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  float bounds[2] = {-std::numeric_limits<float>::infinity(),
                     std::numeric_limits<float>::infinity()};
  if (im.opset < 11) {
    bounds[0] = floatAttr(node, "min", bounds[0]);
    bounds[1] = floatAttr(node, "max", bounds[1]);
  }
  Value computed[2];
  for (int i : {1, 2}) {
    if (node.input_size() <= i || node.input(i).empty())
      continue;
    if (!im.isConstant(node.input(i))) {
      FailureOr<Value> bound = im.input(node, i);
      if (failed(bound))
        return failure();
      computed[i - 1] = *bound;
      continue;
    }
    FailureOr<float> bound = floatInput(im, node, i, i == 1 ? "min" : "max");
    if (failed(bound))
      return failure();
    bounds[i - 1] = *bound;
  }
  if (std::isnan(bounds[0]) || std::isnan(bounds[1])) {
    im.error(node) << "a bound is NaN";
    return failure();
  }
  FailureOr<Value> result = *in;
  if (!std::isinf(bounds[0]) || !std::isinf(bounds[1]) || (!computed[0] && !computed[1]))
    result = build::clip(im.builder, im.loc(), *in, bounds[0], bounds[1]);
  if (succeeded(result) && computed[0])
    result = build::create<nn::BroadcastMaxOp>(im.builder, im.loc(), *result, computed[0]);
  if (succeeded(result) && computed[1])
    result = build::create<nn::BroadcastMinOp>(im.builder, im.loc(), *result, computed[1]);
  return im.finish(node, result);
}

void checkBatchNorm(const Importer &im, const onnx::NodeProto &node,
                    std::vector<std::string> &why) {
  if (node.input_size() != 5)
    why.push_back("needs 5 inputs (X, scale, B, mean, var)");
  onlyFirstOutput(node, why);
  if (intAttr(node, "training_mode", 0) != 0)
    why.push_back("training_mode 1 is not supported: Kiln derives training from inference");
  if (findAttr(node, "spatial") && intAttr(node, "spatial", 1) != 1)
    why.push_back("spatial 0 is not supported");
  if (findAttr(node, "is_test") && intAttr(node, "is_test", 0) == 0)
    why.push_back("is_test 0 (training) is not supported: Kiln derives training from inference");
}

LogicalResult buildBatchNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  Value input = *in;
  FailureOr<Value> scale = im.weight(node, 1, false);
  FailureOr<Value> bias = im.weight(node, 2, false);
  FailureOr<Value> mean = im.weight(node, 3, true);
  FailureOr<Value> var = im.weight(node, 4, true);
  if (failed(scale) || failed(bias) || failed(mean) || failed(var))
    return failure();
  // ONNX's momentum weighs the running statistic (0.9), PyTorch's and nn's the batch's (0.1).
  double momentum = 1.0 - floatAttr(node, "momentum", 0.9f);
  return im.finish(node, build::batchNorm(im.builder, im.loc(), input, *scale, *bias, *mean, *var,
                                          floatAttr(node, "epsilon", 1e-5f), momentum));
}

void checkGemm(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (node.input_size() < 2)
    why.push_back("needs inputs A and B");
}

// nn.dense of A (N × K) with a weight [units, K], as Gemm with transB = 1 and PyTorch's Linear
// store it; B of Gemm without transB and of MatMul is K × units and goes through a transpose
// (a constant B is stored transposed when imported). `bias`: a constant [units] added by
// nn.dense itself (fused into its kernel), or null.
FailureOr<Value> buildDenseOp(Importer &im, const onnx::NodeProto &node, Value a, bool transposeB,
                              Value bias = {}) {
  if (im.typeOf(a).getRank() != 2) {
    im.error(node) << "expects a 2-D input A (N, features), got rank " << im.typeOf(a).getRank()
                   << " (batched matrix products are not supported)";
    return failure();
  }
  FailureOr<Value> weight = im.weight(node, 1, false, transposeB);
  if (failed(weight))
    return failure();
  return build::dense(im.builder, im.loc(), a, *weight, bias);
}

// Whether Gemm's C is a constant vector of one value per unit: nn.dense's own bias.
bool isDenseBias(Importer &im, const onnx::NodeProto &node, int64_t units) {
  if (node.input_size() < 3 || node.input(2).empty() || !im.isConstant(node.input(2)))
    return false;
  FailureOr<const Tensor *> c = im.constant(node, node.input(2));
  return succeeded(c) && (*c)->isFloat && (*c)->dims == std::vector<int64_t>{units};
}

// Gemm: Y = alpha · A' · B' + beta · C, A' and B' transposed by transA and transB, C broadcast
// to Y (NumPy's rule). The common layer (alpha = beta = 1, C a constant vector) is one nn.dense
// with its bias; otherwise the scalings are nn.broadcast_mul by [1] buffers and C is added by
// nn.broadcast_add.
LogicalResult buildGemm(Importer &im, const onnx::NodeProto &node) {
  bool transA = intAttr(node, "transA", 0) != 0, transB = intAttr(node, "transB", 0) != 0;
  float alpha = floatAttr(node, "alpha", 1.0f), beta = floatAttr(node, "beta", 1.0f);
  FailureOr<Value> a = im.weight(node, 0, /*buffer=*/true, transA);
  if (failed(a))
    return failure();
  bool hasC = node.input_size() > 2 && !node.input(2).empty() && beta != 0.0f;
  // A constant B is [K, units] without transB, [units, K] with it.
  int64_t units = -1;
  if (im.isConstant(node.input(1))) {
    FailureOr<const Tensor *> b = im.constant(node, node.input(1));
    if (failed(b))
      return failure();
    if ((*b)->dims.size() == 2)
      units = (*b)->dims[transB ? 0 : 1];
  }
  if (hasC && alpha == 1.0f && beta == 1.0f && units > 0 && isDenseBias(im, node, units)) {
    FailureOr<Value> bias = im.parameter(node, node.input(2), false);
    if (failed(bias))
      return failure();
    FailureOr<Value> y = buildDenseOp(im, node, *a, !transB, *bias);
    if (failed(y))
      return failure();
    im.define(node, *y);
    return success();
  }
  // value · factor through a [1] buffer named after `what`; value itself when factor is 1.
  auto scaled = [&](FailureOr<Value> value, const char *what, float factor) -> FailureOr<Value> {
    if (failed(value) || factor == 1.0f)
      return value;
    return build::create<nn::BroadcastMulOp>(im.builder, im.loc(), *value,
                                             im.scalarBuffer(node, what, factor));
  };
  FailureOr<Value> y = scaled(buildDenseOp(im, node, *a, !transB), "alpha", alpha);
  if (failed(y))
    return failure();
  Value result = *y;
  if (hasC) {
    FailureOr<Value> c = scaled(im.weight(node, 2, /*buffer=*/true), "beta", beta);
    if (failed(c))
      return failure();
    Value term = *c;
    FailureOr<Value> sum = build::create<nn::BroadcastAddOp>(im.builder, im.loc(), result, term);
    if (failed(sum))
      return failure();
    if (im.typeOf(*sum).getShape() != im.typeOf(result).getShape()) {
      im.error(node) << "C " << joinInts(im.typeOf(term).getShape())
                     << " does not broadcast to the product's shape "
                     << joinInts(im.typeOf(result).getShape());
      return failure();
    }
    result = *sum;
  }
  im.define(node, result);
  return success();
}

LogicalResult buildMatMul(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> a = im.weight(node, 0, /*buffer=*/true);
  if (failed(a))
    return failure();
  FailureOr<Value> y = buildDenseOp(im, node, *a, /*transposeB=*/true);
  if (failed(y))
    return failure();
  im.define(node, *y);
  return success();
}

// Add, Sub, Mul, Div: NumPy's broadcasting (opset 7 on; opset 6's `broadcast` without `axis`
// is the same rule). A constant operand (an initializer or a Constant: a bias, a scale) becomes
// an nn.parameter buffer, so it keeps its value when the model trains.
void checkBinary(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (im.isConstant(node.input(0)) && im.isConstant(node.input(1)))
    why.push_back("both operands are constants (nothing computed to apply it to)");
  if (im.opset < 7 && findAttr(node, "axis"))
    why.push_back("opset 6's broadcasting along an 'axis' is not supported");
}

// Operand i: the computed tensor, or the constant as a parameter buffer.
FailureOr<Value> binaryOperand(Importer &im, const onnx::NodeProto &node, int i) {
  if (im.isConstant(node.input(i)))
    return im.parameter(node, node.input(i), /*buffer=*/true);
  return im.input(node, i);
}

template <typename BroadcastOp>
LogicalResult buildBinary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in0 = binaryOperand(im, node, 0), in1 = binaryOperand(im, node, 1);
  if (failed(in0) || failed(in1))
    return failure();
  Value a = *in0, b = *in1;
  // The same-shape sum is nn.add, the residual connection that fuses into a convolution.
  if constexpr (std::is_same_v<BroadcastOp, nn::BroadcastAddOp>)
    if (im.typeOf(a).getShape() == im.typeOf(b).getShape() && !a.getDefiningOp<nn::ParameterOp>() &&
        !b.getDefiningOp<nn::ParameterOp>())
      return im.finish(node, build::create<nn::AddOp>(im.builder, im.loc(), a, b));
  return im.finish(node, build::create<BroadcastOp>(im.builder, im.loc(), a, b));
}

// Max and Min of one or more operands, with NumPy's broadcasting: one operand is itself.
void checkVariadic(const Importer &im, const onnx::NodeProto &node,
                   std::vector<std::string> &why) {
  if (llvm::all_of(node.input(), [&](const std::string &n) { return im.isConstant(n); }))
    why.push_back("every operand is a constant (nothing computed to apply it to)");
}

template <typename BroadcastOp>
LogicalResult buildVariadic(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> result = binaryOperand(im, node, 0);
  for (int i = 1; succeeded(result) && i < node.input_size(); ++i) {
    FailureOr<Value> next = binaryOperand(im, node, i);
    if (failed(next))
      return failure();
    result = build::create<BroadcastOp>(im.builder, im.loc(), *result, *next);
  }
  return im.finish(node, result);
}

// Transpose: `perm` (default: the dimensions reversed); the batch must stay first. A constant
// input is a parameter (PyTorch exports Linear without bias as MatMul of a transposed weight).
LogicalResult buildTranspose(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.weight(node, 0, /*buffer=*/false);
  if (failed(in))
    return failure();
  int64_t rank = im.typeOf(*in).getRank();
  std::vector<int64_t> reversed;
  for (int64_t d = rank - 1; d >= 0; --d)
    reversed.push_back(d);
  std::vector<int64_t> perm = intsAttr(node, "perm", reversed);
  return im.finish(node, build::create<nn::TransposeOp>(im.builder, im.loc(), *in,
                                                        im.builder.getDenseI64ArrayAttr(perm)));
}

void checkPad(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  std::string mode = stringAttr(node, "mode", "constant");
  if (mode != "constant")
    why.push_back("mode '" + mode + "' is not supported (only constant)");
  if (im.opset >= 11) {
    if (node.input_size() < 2 || node.input(1).empty())
      why.push_back("has no pads");
    for (int i : {1, 2, 3})
      if (node.input_size() > i && !node.input(i).empty() && !im.isConstant(node.input(i)))
        why.push_back(std::string("the ") + (i == 1 ? "pads" : i == 2 ? "constant value" : "axes") +
                      " must be a constant (an initializer or a Constant)");
  } else if (!findAttr(node, "pads")) {
    why.push_back("has no pads");
  }
}

// Pad in constant mode: `pads` (an attribute before opset 11, a constant input from 11 on) holds
// the amounts before each dimension, then after each; from opset 18 `axes` names the dimensions
// they apply to.
LogicalResult buildPad(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  int64_t rank = im.typeOf(*in).getRank();
  std::vector<int64_t> given;
  float value = 0.0f;
  std::vector<int64_t> axes;
  if (im.opset < 11) {
    given = intsAttr(node, "pads", {});
    value = floatAttr(node, "value", 0.0f);
  } else {
    FailureOr<std::vector<int64_t>> pads = intsInput(im, node, 1, "pads");
    if (failed(pads))
      return failure();
    given = *pads;
    if (node.input_size() > 2 && !node.input(2).empty()) {
      FailureOr<float> v = floatInput(im, node, 2, "the constant value");
      if (failed(v))
        return failure();
      value = *v;
    }
    if (node.input_size() > 3 && !node.input(3).empty()) {
      FailureOr<std::vector<int64_t>> a = intsInput(im, node, 3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (given.size() != 2 * axes.size()) {
    im.error(node) << "pads " << joinInts(given) << " must have " << 2 * axes.size()
                   << " values (before, then after each of " << axes.size() << " dimensions)";
    return failure();
  }
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    int64_t d = axis < 0 ? axis + rank : axis;
    if (d < 0 || d >= rank || seen[static_cast<size_t>(d)]) {
      im.error(node) << "axes " << joinInts(axes) << " are not distinct dimensions of a rank-"
                     << rank << " input";
      return failure();
    }
    seen[static_cast<size_t>(d)] = true;
    pads[static_cast<size_t>(d)] = given[i];
    pads[static_cast<size_t>(rank + d)] = given[axes.size() + i];
  }
  if (!std::isfinite(value)) {
    im.error(node) << "the constant value " << value << " is not finite";
    return failure();
  }
  return im.finish(node, build::create<nn::PadOp>(im.builder, im.loc(), *in,
                                                  im.builder.getDenseI64ArrayAttr(pads),
                                                  im.builder.getF32FloatAttr(value)));
}

void checkConcat(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (im.opset >= 4 && !findAttr(node, "axis"))
    why.push_back("has no axis");
  for (int i = 0; i < node.input_size(); ++i)
    if (im.isConstant(node.input(i)))
      why.push_back("input " + std::to_string(i) + " ('" + node.input(i) +
                    "') is a constant; only computed tensors are joined");
}

// Concat along `axis` (negative: from the end; opset 1's default is 1).
LogicalResult buildConcat(Importer &im, const onnx::NodeProto &node) {
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    FailureOr<Value> in = im.input(node, i);
    if (failed(in))
      return failure();
    inputs.push_back(*in);
  }
  int64_t rank = im.typeOf(inputs[0]).getRank();
  int64_t given = intAttr(node, "axis", 1), axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) {
    im.error(node) << "axis " << given << " is outside a rank-" << rank << " input";
    return failure();
  }
  return im.finish(node, build::create<nn::ConcatOp>(im.builder, im.loc(), inputs,
                                                     static_cast<uint64_t>(axis)));
}

template <bool Log> LogicalResult buildSoftmax(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  Value input = *in;
  int64_t rank = im.typeOf(input).getRank();
  // Before opset 13 the op flattens the input to 2-D at `axis` (default 1): the same as a
  // softmax along one axis only where that axis is the last.
  int64_t given = intAttr(node, "axis", im.opset < 13 ? 1 : -1);
  int64_t axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank || (im.opset < 13 && axis != rank - 1)) {
    im.error(node) << "axis " << given << " of a rank-" << rank << " input is not supported"
                   << (im.opset < 13 ? " (before opset 13, only the last axis)" : "");
    return failure();
  }
  return im.finish(node, build::softmax(im.builder, im.loc(), input, axis, Log));
}

LogicalResult buildFlatten(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  Value input = *in;
  int64_t rank = im.typeOf(input).getRank();
  int64_t given = intAttr(node, "axis", 1), axis = given < 0 ? given + rank : given;
  if (axis != 1) {
    im.error(node) << "axis " << given << " is not supported (only 1: keep the batch)";
    return failure();
  }
  if (rank == 2) {
    im.define(node, input);
    return success();
  }
  return buildUnary<nn::FlattenOp>(im, node);
}

void checkReshape(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (node.input_size() < 2 || !im.isConstant(node.input(1)))
    why.push_back("the shape must be a constant (an initializer or a Constant)");
  if (!findAttr(node, "shape") && node.input_size() < 2)
    why.push_back("has no shape");
}

// Reshapes that keep the batch and flatten the rest (what CNN exports put before the
// classifier) are a flatten, a view; others are not supported yet.
LogicalResult buildReshape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in))
    return failure();
  Value input = *in;
  FailureOr<const Tensor *> shape = im.constant(node, node.input(1));
  if (failed(shape))
    return failure();
  RankedTensorType type = im.typeOf(input);
  std::optional<int64_t> features =
      kiln::shape::checkedProduct(std::vector<int64_t>(type.getShape().begin() + 1, type.getShape().end()));
  const std::vector<int64_t> &target = (*shape)->ints;
  // With allowzero, a 0 is an extent of 0, not "copy the input's".
  bool copyBatch = target.size() == 2 && target[0] == 0 && intAttr(node, "allowzero", 0) == 0;
  bool keepsBatch = target.size() == 2 && features && !type.isDynamicDim(1) &&
                    (copyBatch || target[0] == -1 || target[0] == type.getDimSize(0)) &&
                    (target[1] == -1 || target[1] == *features) && !(target[0] == -1 && target[1] == -1);
  if ((*shape)->isFloat || !keepsBatch || llvm::any_of(type.getShape().drop_front(), ShapedType::isDynamic)) {
    im.error(node) << "reshape of " << formatShape(type) << " to " << joinInts(target)
                   << " is not supported (only [N, features], a flatten)";
    return failure();
  }
  if (type.getRank() == 2) {
    im.define(node, input);
    return success();
  }
  return buildUnary<nn::FlattenOp>(im, node);
}

void checkReduce(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  if (node.input_size() > 1 && !node.input(1).empty() && !im.isConstant(node.input(1)))
    why.push_back("the axes must be a constant (an initializer or a Constant)");
  if (node.input_size() < 2 && !findAttr(node, "axes"))
    why.push_back("a reduction over every axis is not supported (only the spatial axes)");
}

// ReduceMean / ReduceMax over exactly the spatial axes (PyTorch's adaptive pooling to 1×1 and
// mean(dim=[-1, -2])): a global pooling, flattened when keepdims is 0.
template <typename GlobalPoolOp>
LogicalResult buildReduce(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Value> in = im.input(node, 0);
  if (failed(in) || failed(spatialInput(im, node, *in)))
    return failure();
  Value input = *in;
  int64_t rank = im.typeOf(input).getRank();
  std::vector<int64_t> axes = intsAttr(node, "axes", {});
  if (node.input_size() > 1 && !node.input(1).empty()) {
    FailureOr<const Tensor *> given = im.constant(node, node.input(1));
    if (failed(given))
      return failure();
    axes = (*given)->ints;
  }
  std::vector<int64_t> normalized;
  for (int64_t axis : axes)
    normalized.push_back(axis < 0 ? axis + rank : axis);
  llvm::sort(normalized);
  std::vector<int64_t> spatial;
  for (int64_t axis = 2; axis < rank; ++axis)
    spatial.push_back(axis);
  if (normalized != spatial) {
    im.error(node) << "axes " << joinInts(axes) << " of a rank-" << rank
                   << " input are not supported (only the spatial axes, a global pooling)";
    return failure();
  }
  FailureOr<Value> pooled =
      im.finish(node, build::create<GlobalPoolOp>(im.builder, im.loc(), input));
  if (failed(pooled) || intAttr(node, "keepdims", 1) != 0)
    return pooled;
  return im.finish(node, build::create<nn::FlattenOp>(im.builder, im.loc(), *pooled));
}

LogicalResult buildIdentity(Importer &im, const onnx::NodeProto &node) {
  Value input = im.value(node.input(0));
  if (!input) { // a constant passed through keeps being a constant
    FailureOr<const Tensor *> tensor = im.constant(node, node.input(0));
    if (failed(tensor))
      return failure();
    im.defineConstant(node.output(0), **tensor);
    return success();
  }
  im.define(node, input);
  return success();
}

void checkDropout(const Importer &im, const onnx::NodeProto &node, std::vector<std::string> &why) {
  onlyFirstOutput(node, why);
  if (node.input_size() > 2 && !node.input(2).empty())
    why.push_back("a training_mode input is not supported (inference: Dropout is the identity)");
  if (findAttr(node, "is_test") && intAttr(node, "is_test", 0) == 0)
    why.push_back("is_test 0 (training) is not supported (inference: Dropout is the identity)");
}

void checkConstant(const Importer &, const onnx::NodeProto &node, std::vector<std::string> &why) {
  const onnx::AttributeProto *value = findAttr(node, "value");
  if (!value || value->type() != onnx::AttributeProto::TENSOR)
    why.push_back("only a tensor 'value' is supported");
  else if (value->t().data_type() != onnx::TensorProto::INT64 &&
           value->t().data_type() != onnx::TensorProto::FLOAT)
    why.push_back(std::string("a Constant of ") + typeName(value->t().data_type()) +
                  " is not supported (only int64 and float32)");
}

LogicalResult buildConstant(Importer &im, const onnx::NodeProto &node) {
  FailureOr<Tensor> tensor = im.decode(findAttr(node, "value")->t(), im.current(node) + ": value");
  if (failed(tensor))
    return failure();
  im.defineConstant(node.output(0), std::move(*tensor));
  return success();
}

const llvm::StringMap<OpSpec> &opTable() {
  static const llvm::StringMap<OpSpec> table = {
      {"Conv", {2, checkConv, buildConv}},
      {"MaxPool", {1, checkPool, buildPool<nn::MaxPoolOp>}},
      {"AveragePool", {1, checkPool, buildPool<nn::AvgPoolOp>}},
      {"GlobalAveragePool", {1, noCheck, buildUnary<nn::GlobalAvgPoolOp>}},
      {"GlobalMaxPool", {1, noCheck, buildUnary<nn::GlobalMaxPoolOp>}},
      {"BatchNormalization", {5, checkBatchNorm, buildBatchNorm}},
      {"Gemm", {2, checkGemm, buildGemm}},
      {"MatMul", {2, noCheck, buildMatMul}},
      {"Add", {2, checkBinary, buildBinary<nn::BroadcastAddOp>}},
      {"Sub", {2, checkBinary, buildBinary<nn::BroadcastSubOp>}},
      {"Mul", {2, checkBinary, buildBinary<nn::BroadcastMulOp>}},
      {"Div", {2, checkBinary, buildBinary<nn::BroadcastDivOp>}},
      {"Transpose", {1, noCheck, buildTranspose}},
      {"Pad", {1, checkPad, buildPad}},
      {"Concat", {1, checkConcat, buildConcat}},
      {"Relu", {1, noCheck, buildUnary<nn::ReluOp>}},
      {"Tanh", {1, noCheck, buildUnary<nn::TanhOp>}},
      {"Sigmoid", {1, noCheck, buildUnary<nn::SigmoidOp>}},
      {"LeakyRelu", {1, noCheck, buildLeakyRelu}},
      {"Clip", {1, noCheck, buildClip}},
      {"Max", {1, checkVariadic, buildVariadic<nn::BroadcastMaxOp>}},
      {"Min", {1, checkVariadic, buildVariadic<nn::BroadcastMinOp>}},
      {"Softmax", {1, noCheck, buildSoftmax</*Log=*/false>}},
      {"LogSoftmax", {1, noCheck, buildSoftmax</*Log=*/true>}},
      {"Flatten", {1, noCheck, buildFlatten}},
      {"Reshape", {2, checkReshape, buildReshape}},
      {"ReduceMean", {1, checkReduce, buildReduce<nn::GlobalAvgPoolOp>}},
      {"ReduceMax", {1, checkReduce, buildReduce<nn::GlobalMaxPoolOp>}},
      {"Identity", {1, noCheck, buildIdentity}},
      {"Dropout", {1, checkDropout, buildIdentity}},
      {"Constant", {0, checkConstant, buildConstant}},
  };
  return table;
}

} // namespace

OwningOpRef<ModuleOp> importOnnxModel(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                                      InitialValues &values) {
  context->loadDialect<nn::NNDialect, func::FuncDialect>();
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  std::string path = buffer->getBufferIdentifier().str();
  onnx::ModelProto model;
  if (buffer->getBufferSize() > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(buffer->getBufferStart(), static_cast<int>(buffer->getBufferSize()))) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "not a valid ONNX model: the protobuf does not parse (truncated or not ONNX)";
    return nullptr;
  }
  bool printOp = context->shouldPrintOpOnDiagnostic();
  context->printOpOnDiagnostic(false);
  OwningOpRef<ModuleOp> module = Importer(context, path, values).run(model);
  context->printOpOnDiagnostic(printOp);
  return module;
}

} // namespace kiln
