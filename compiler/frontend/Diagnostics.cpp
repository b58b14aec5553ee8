// The source-line diagnostic printer shared by kilnc's .kiln and .mlir paths.
#include "frontend/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace kiln;
using namespace mlir;

std::optional<FileLineColLoc> kiln::findFileLineColLoc(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return file;
  if (auto name = dyn_cast<NameLoc>(loc))
    return findFileLineColLoc(name.getChildLoc());
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return findFileLineColLoc(callSite.getCallee());
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      if (std::optional<FileLineColLoc> file = findFileLineColLoc(inner))
        return file;
    return std::nullopt;
  }
  if (auto opaque = dyn_cast<OpaqueLoc>(loc))
    return findFileLineColLoc(opaque.getFallbackLocation());
  return std::nullopt;
}

SourceDiagnosticHandler::SourceDiagnosticHandler(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                                                 llvm::raw_ostream &os)
    : ScopedDiagnosticHandler(context), sourceMgr(sourceMgr), os(os) {
  setHandler([this](Diagnostic &diag) {
    emitDiagnostic(diag);
    return success();
  });
}

void SourceDiagnosticHandler::emitDiagnostic(Diagnostic &diag) {
  emit(diag.getLocation(), diag.getSeverity(), diag.str());
  // A call site's caller, as mlir::SourceMgrDiagnosticHandler shows it.
  Location loc = diag.getLocation();
  while (auto name = dyn_cast<NameLoc>(loc))
    loc = name.getChildLoc();
  for (auto callSite = dyn_cast<CallSiteLoc>(loc); callSite;
       callSite = dyn_cast<CallSiteLoc>(callSite.getCaller()))
    emit(callSite.getCaller(), DiagnosticSeverity::Note, "called from");
  for (Diagnostic &note : diag.getNotes())
    emit(note.getLocation(), note.getSeverity(), note.str());
  os.flush();
}

unsigned SourceDiagnosticHandler::findBuffer(llvm::StringRef filename) {
  auto cached = buffers.find(filename);
  if (cached != buffers.end())
    return cached->second;
  unsigned id = 0;
  for (unsigned i = 1, e = sourceMgr.getNumBuffers(); i <= e; ++i)
    if (sourceMgr.getMemoryBuffer(i)->getBufferIdentifier() == filename) {
      id = i;
      break;
    }
  if (!id && !filename.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
        llvm::MemoryBuffer::getFile(filename, /*IsText=*/true);
    if (file)
      id = sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  }
  buffers[filename] = id;
  return id;
}

// The extent of the token starting at `start`: an identifier (with MLIR's sigils and dotted
// names such as nn.conv), a number, a quoted string, or one character.
static size_t tokenLength(llvm::StringRef rest) {
  if (rest.empty() || rest.front() == '\n' || rest.front() == '\r')
    return 0;
  auto isWordChar = [](char c) { return llvm::isAlnum(c) || c == '_' || c == '.' || c == '$'; };
  char first = rest.front();
  if (first == '\'' || first == '"') {
    size_t close = rest.find_first_of(llvm::StringRef(&first, 1), 1);
    size_t eol = rest.find_first_of("\r\n");
    if (close != llvm::StringRef::npos && close < eol)
      return close + 1;
    return eol == llvm::StringRef::npos ? rest.size() : eol;
  }
  size_t length = 0;
  if (llvm::StringRef("%@^#!").contains(first) && rest.size() > 1 && isWordChar(rest[1]))
    length = 1;
  if (length < rest.size() && (llvm::isAlnum(rest[length]) || rest[length] == '_')) {
    while (length < rest.size() && isWordChar(rest[length]))
      ++length;
    // A dotted name does not end with its dot ("conv1." in "conv1.weight" is not a token end).
    while (length > 1 && rest[length - 1] == '.')
      --length;
    return length;
  }
  return 1;
}

void SourceDiagnosticHandler::emit(Location loc, DiagnosticSeverity severity,
                                   const llvm::Twine &message) {
  llvm::SourceMgr::DiagKind kind = llvm::SourceMgr::DK_Error;
  llvm::StringRef label = "error";
  switch (severity) {
  case DiagnosticSeverity::Error:
    break;
  case DiagnosticSeverity::Warning:
    kind = llvm::SourceMgr::DK_Warning;
    label = "warning";
    break;
  case DiagnosticSeverity::Note:
    kind = llvm::SourceMgr::DK_Note;
    label = "note";
    break;
  case DiagnosticSeverity::Remark:
    kind = llvm::SourceMgr::DK_Remark;
    label = "remark";
    break;
  }

  std::optional<FileLineColLoc> file = findFileLineColLoc(loc);
  if (!file) {
    os << label << ": " << message << "\n";
    return;
  }
  llvm::StringRef filename = file->getFilename().getValue();
  unsigned line = file->getLine(), column = file->getColumn();
  if (line == 0) {
    os << filename << ": " << label << ": " << message << "\n";
    return;
  }
  unsigned buffer = findBuffer(filename);
  llvm::SMLoc at;
  if (buffer)
    at = sourceMgr.FindLocForLineAndColumn(buffer, line, std::max(column, 1u));
  if (!at.isValid()) {
    os << filename << ":" << line << ":" << column << ": " << label << ": " << message << "\n";
    return;
  }
  const char *end = sourceMgr.getMemoryBuffer(buffer)->getBufferEnd();
  size_t length = tokenLength(llvm::StringRef(at.getPointer(), end - at.getPointer()));
  llvm::SmallVector<llvm::SMRange, 1> ranges;
  if (length > 1)
    ranges.push_back(llvm::SMRange(at, llvm::SMLoc::getFromPointer(at.getPointer() + length)));
  sourceMgr.PrintMessage(os, at, kind, message, ranges);
}
