#include "controller/store/libpq.h"

#include <dlfcn.h>

#include <string>

namespace cenv {

namespace {

// Debian's libpq5 package; the soname has been 5 since PostgreSQL 8.2.
constexpr const char* kLibPqSoname = "libpq.so.5";

Result<const LibPq*> load_once() {
  // Never closed: the functions stay in use until the process exits.
  void* lib = dlopen(kLibPqSoname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    return Status::Unavailable(std::string("postgres: cannot load the PostgreSQL client library ") +
                               kLibPqSoname +
                               " (install libpq5): " + (err ? err : "unknown error"));
  }
  static LibPq table;
  auto bind = [&](auto& fn, const char* name) -> Status {
    void* sym = dlsym(lib, name);
    if (!sym) {
      return Status::Unavailable(std::string("postgres: ") + kLibPqSoname + " has no " + name +
                                 " (libpq 14 or newer is needed)");
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
    return Status::Ok();
  };
  Status s = Status::Ok();
#define CENV_BIND(name) \
  if (s.ok()) s = bind(table.name, #name);
  CENV_BIND(PQclear)
  CENV_BIND(PQcmdTuples)
  CENV_BIND(PQconnectdb)
  CENV_BIND(PQconnectdbParams)
  CENV_BIND(PQconninfoFree)
  CENV_BIND(PQconninfoParse)
  CENV_BIND(PQconsumeInput)
  CENV_BIND(PQenterPipelineMode)
  CENV_BIND(PQerrorMessage)
  CENV_BIND(PQexec)
  CENV_BIND(PQexitPipelineMode)
  CENV_BIND(PQfinish)
  CENV_BIND(PQfreemem)
  CENV_BIND(PQgetResult)
  CENV_BIND(PQgetisnull)
  CENV_BIND(PQgetlength)
  CENV_BIND(PQgetvalue)
  CENV_BIND(PQisBusy)
  CENV_BIND(PQnfields)
  CENV_BIND(PQnotifies)
  CENV_BIND(PQntuples)
  CENV_BIND(PQping)
  CENV_BIND(PQpipelineSync)
  CENV_BIND(PQreset)
  CENV_BIND(PQresultErrorField)
  CENV_BIND(PQresultErrorMessage)
  CENV_BIND(PQresultStatus)
  CENV_BIND(PQsendPrepare)
  CENV_BIND(PQsendQueryParams)
  CENV_BIND(PQsendQueryPrepared)
  CENV_BIND(PQsetNoticeProcessor)
  CENV_BIND(PQsocket)
  CENV_BIND(PQstatus)
  CENV_BIND(PQtransactionStatus)
#undef CENV_BIND
  if (!s.ok()) return s;
  return &table;
}

}  // namespace

Result<const LibPq*> LibPq::load() {
  static const Result<const LibPq*> loaded = load_once();
  return loaded;
}

}  // namespace cenv
