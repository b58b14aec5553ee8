// The kernel dialect's registration and verifiers.
#include "kiln/Dialect/Kernel/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln::kernel;

#include "kiln/Dialect/Kernel/KernelDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Kernel/KernelAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Kernel/KernelOps.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/Kernel/KernelOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/Kernel/KernelAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// ScheduleAttr: #kernel.schedule<vector_width = 16, tile = [6, 64], layout = [0, 2, 3, 1],
// input_layouts = [[0, 2, 3, 1], [], []]>; every field but vector_width optional.
//===----------------------------------------------------------------------===//

namespace {

void printList(AsmPrinter &printer, ArrayRef<int64_t> values) {
  printer << "[";
  llvm::interleaveComma(values, printer);
  printer << "]";
}

ParseResult parseList(AsmParser &parser, SmallVectorImpl<int64_t> &values) {
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
    int64_t value = 0;
    if (parser.parseInteger(value))
      return failure();
    values.push_back(value);
    return success();
  });
}

// Whether `layout` is empty or a permutation of [0, rank) for some rank.
bool isPermutation(ArrayRef<int64_t> layout) {
  SmallVector<bool> seen(layout.size(), false);
  for (int64_t d : layout) {
    if (d < 0 || d >= static_cast<int64_t>(layout.size()) || seen[d])
      return false;
    seen[d] = true;
  }
  return true;
}

} // namespace

void ScheduleAttr::print(AsmPrinter &printer) const {
  printer << "<vector_width = " << getVectorWidth();
  if (!getTile().empty()) {
    printer << ", tile = ";
    printList(printer, getTile());
  }
  if (!getLayout().empty()) {
    printer << ", layout = ";
    printList(printer, getLayout());
  }
  if (!getInputLayouts().empty()) {
    printer << ", input_layouts = [";
    llvm::interleaveComma(getInputLayouts(), printer,
                          [&](DenseI64ArrayAttr layout) { printList(printer, layout.asArrayRef()); });
    printer << "]";
  }
  if (!getOrder().empty())
    printer << ", order = " << getOrder();
  printer << ">";
}

Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  int64_t vectorWidth = 0;
  SmallVector<int64_t> tile, layout;
  SmallVector<DenseI64ArrayAttr> inputLayouts;
  std::string order;
  if (parser.parseLess() || parser.parseKeyword("vector_width") || parser.parseEqual() ||
      parser.parseInteger(vectorWidth))
    return {};
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "tile") {
      if (parseList(parser, tile))
        return {};
    } else if (key == "layout") {
      if (parseList(parser, layout))
        return {};
    } else if (key == "input_layouts") {
      if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
            SmallVector<int64_t> one;
            if (parseList(parser, one))
              return failure();
            inputLayouts.push_back(DenseI64ArrayAttr::get(parser.getContext(), one));
            return success();
          }))
        return {};
    } else if (key == "order") {
      StringRef word;
      if (parser.parseKeyword(&word))
        return {};
      order = word.str();
    } else {
      parser.emitError(parser.getCurrentLocation())
          << "unknown schedule field '" << key
          << "'; expected tile, layout, input_layouts or order";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<ScheduleAttr>(parser.getContext(), vectorWidth, tile, layout,
                                         inputLayouts, order);
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t vectorWidth, ArrayRef<int64_t> tile,
                                   ArrayRef<int64_t> layout,
                                   ArrayRef<DenseI64ArrayAttr> inputLayouts, StringRef order) {
  if (vectorWidth < 1)
    return emitError() << "expects a positive vector_width, got " << vectorWidth;
  if (llvm::any_of(tile, [](int64_t t) { return t < 1; }))
    return emitError() << "expects positive tile sizes";
  if (!isPermutation(layout))
    return emitError() << "expects layout to be a permutation of the result's dimensions";
  for (DenseI64ArrayAttr input : inputLayouts)
    if (!input || !isPermutation(input.asArrayRef()))
      return emitError() << "expects each input layout to be empty or a permutation";
  if (!llvm::is_contained({"", "rows", "rows_xo", "co_outer"}, order))
    return emitError() << "expects order rows, rows_xo or co_outer, got '" << order << "'";
  return success();
}

LogicalResult FusedOp::verify() {
  if (getName().empty())
    return emitOpError() << "expects a non-empty kernel name";
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "expects " << getInputs().size() << " region arguments, got "
                         << body.getNumArguments();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(body.getArgumentTypes(), getInputs().getTypes())))
    if (std::get<0>(pair) != std::get<1>(pair))
      return emitOpError() << "region argument " << i << " has type " << std::get<0>(pair)
                           << " but input " << i << " has type " << std::get<1>(pair);
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "expects its region to end in kernel.yield";
  if (yield.getValues().getTypes() != getOutputs().getTypes())
    return emitOpError() << "yields " << yield.getValues().getTypes().size()
                         << " value(s) whose types do not match its results";
  ScheduleAttr schedule = getSchedule();
  if (!schedule.getLayout().empty() && getNumResults() == 1 &&
      static_cast<int64_t>(schedule.getLayout().size()) !=
          cast<RankedTensorType>(getResult(0).getType()).getRank())
    return emitOpError() << "has a layout of " << schedule.getLayout().size()
                         << " dimensions for a result of rank "
                         << cast<RankedTensorType>(getResult(0).getType()).getRank();
  if (!schedule.getInputLayouts().empty()) {
    if (schedule.getInputLayouts().size() != getInputs().size())
      return emitOpError() << "has " << schedule.getInputLayouts().size()
                           << " input layouts for " << getInputs().size() << " inputs";
    for (auto [i, layout] : llvm::enumerate(schedule.getInputLayouts()))
      if (!layout.empty() && static_cast<int64_t>(layout.size()) !=
                                 cast<RankedTensorType>(getInputs()[i].getType()).getRank())
        return emitOpError() << "has an input layout of " << layout.size()
                             << " dimensions for input " << i << " of type "
                             << getInputs()[i].getType();
  }
  return success();
}
