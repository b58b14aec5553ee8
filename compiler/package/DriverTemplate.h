// The fixed C text of a model's driver (DriverTemplate.cpp), filled in by DriverEmitter.cpp.
#ifndef KILN_PACKAGE_DRIVERTEMPLATE_H
#define KILN_PACKAGE_DRIVERTEMPLATE_H

namespace kiln::package {

// Up to <model>_forward: includes, tables, the model struct, helpers, create, save, destroy.
// Markers: MODEL SOURCE TARGET NUM_STATE NUM_REQUIRED NUM_ACTIVATIONS NUM_SLOTS MAX_BATCH CHUNK
// CHUNK_DOC SEED GPU TRAIN STATE ACTIVATIONS SLOTS TRAIN_TABLES KERNEL_DECLS TRAIN_HELPERS.
extern const char *const kDriverPrologue;
// TRAIN_HELPERS of a model with a training step (TrainTemplate.cpp): loading the step count,
// the step's buffers, argument checks, hyperparameters, the commit, <model>_step_count. Markers:
// MODEL OPTIMIZER; it uses the macros of TRAIN_TABLES (NUM_TRAIN_ACTIVATIONS, NUM_TRAIN_SLOTS,
// NUM_RESULTS, NUM_UPDATES, LABELS_EXTENT, CLASSES, ADAM) and tables (train_activation_table,
// train_slot_table, result_table, update_state).
extern const char *const kDriverTrainHelpers;
// After <model>_forward: the descriptor's entry points and data. Markers: MODEL NUM_INPUTS
// NUM_OUTPUTS INPUT_DESCS OUTPUT_DESCS GENERIC_ARGS.
extern const char *const kDriverDescriptor;

} // namespace kiln::package

#endif // KILN_PACKAGE_DRIVERTEMPLATE_H
