# Writes ${OUT}: a C++ source defining `const char* ${FUNCTION}()` that returns ${IN}'s text.
file(READ ${IN} content)
set(body "// Generated from ${IN} by cli/embed_manifest.cmake. Do not edit.\nnamespace cenv {\nconst char* ${FUNCTION}() {\n  return R\"CENVMANIFEST(${content})CENVMANIFEST\";\n}\n}  // namespace cenv\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
