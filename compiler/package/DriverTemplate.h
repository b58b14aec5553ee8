// The fixed C text of a model's driver (DriverTemplate.cpp), filled in by DriverEmitter.cpp.
#ifndef KILN_PACKAGE_DRIVERTEMPLATE_H
#define KILN_PACKAGE_DRIVERTEMPLATE_H

namespace kiln::package {

// Up to <model>_forward: includes, tables, the model struct, helpers, create, save, destroy.
// Markers: MODEL SOURCE TARGET NUM_PARAMETERS NUM_ACTIVATIONS NUM_SLOTS MAX_BATCH CHUNK
// CHUNK_DOC SEED GPU PARAMETERS ACTIVATIONS SLOTS KERNEL_DECLS.
extern const char *const kDriverPrologue;
// After <model>_forward: the descriptor's entry points and data. Markers: MODEL NUM_INPUTS
// NUM_OUTPUTS INPUT_DESCS OUTPUT_DESCS GENERIC_ARGS.
extern const char *const kDriverDescriptor;

} // namespace kiln::package

#endif // KILN_PACKAGE_DRIVERTEMPLATE_H
