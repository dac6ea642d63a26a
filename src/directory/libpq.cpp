// SPDX-License-Identifier: AGPL-3.0-or-later
// dlopen() of libpq on the first use of a PostgreSQL directory.
#include "directory/libpq.hpp"

#include <dlfcn.h>

#include <cerrno>

namespace nexus::directory {
namespace {

// libpq's soname has been libpq.so.5 since PostgreSQL 8.0; the package's dependency on
// libpq5 comes from debian/control, since the linker no longer records it.
constexpr const char* kSoname = "libpq.so.5";

template <typename Function>
bool bind(void* handle, const char* name, Function& function) {
    function = reinterpret_cast<Function>(::dlsym(handle, name));
    return function != nullptr;
}

const Libpq* load() {
    // RTLD_LOCAL: libpq's dependencies do not join the global symbol scope, so nothing
    // loaded later binds to them by accident. Never closed: a connection may outlive any
    // directory object, and unloading buys nothing.
    void* handle = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        return nullptr;
    }
    static Libpq functions{};
    Libpq& f = functions;
    const bool complete =
        bind(handle, "PQconninfoParse", f.conninfoParse) &&
        bind(handle, "PQconninfoFree", f.conninfoFree) && bind(handle, "PQfreemem", f.freemem) &&
        bind(handle, "PQconnectdbParams", f.connectdbParams) &&
        bind(handle, "PQfinish", f.finish) && bind(handle, "PQstatus", f.status) &&
        bind(handle, "PQerrorMessage", f.errorMessage) &&
        bind(handle, "PQsetNoticeProcessor", f.setNoticeProcessor) &&
        bind(handle, "PQsocket", f.socket) && bind(handle, "PQconsumeInput", f.consumeInput) &&
        bind(handle, "PQisBusy", f.isBusy) &&
        bind(handle, "PQsendQueryParams", f.sendQueryParams) &&
        bind(handle, "PQgetResult", f.getResult) &&
        bind(handle, "PQresultStatus", f.resultStatus) &&
        bind(handle, "PQresultErrorField", f.resultErrorField) &&
        bind(handle, "PQresultErrorMessage", f.resultErrorMessage) &&
        bind(handle, "PQntuples", f.ntuples) && bind(handle, "PQgetvalue", f.getvalue) &&
        bind(handle, "PQgetlength", f.getlength) && bind(handle, "PQcmdTuples", f.cmdTuples) &&
        bind(handle, "PQclear", f.clear);
    return complete ? &functions : nullptr;
}

}  // namespace

Result<const Libpq*> loadLibpq() {
    static const Libpq* const kLoaded = load();
    if (kLoaded == nullptr) {
        return ErrorCode(ELIBACC, boost::system::system_category());
    }
    return kLoaded;
}

const Libpq& libpq() {
    return **loadLibpq();
}

}  // namespace nexus::directory
