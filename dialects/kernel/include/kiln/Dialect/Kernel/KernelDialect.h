// The kernel dialect: kernel.fused regions and their terminator.
#ifndef KILN_DIALECT_KERNEL_KERNELDIALECT_H
#define KILN_DIALECT_KERNEL_KERNELDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kiln/Dialect/Kernel/KernelDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Kernel/KernelAttrs.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Kernel/KernelOps.h.inc"

#endif // KILN_DIALECT_KERNEL_KERNELDIALECT_H
