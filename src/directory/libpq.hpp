// SPDX-License-Identifier: AGPL-3.0-or-later
// libpq, loaded when a PostgreSQL directory is opened instead of by the dynamic linker at
// start. The agent and the relay are one binary: linked, libpq and what it pulls in (Kerberos,
// LDAP, GnuTLS, SASL, p11-kit: twenty libraries) were mapped and relocated in every process,
// about 3.5 MiB of the agent's resident memory, for a backend only a relay on PostgreSQL uses.
#pragma once

#include "common/error.hpp"

#include <libpq-fe.h>

namespace nexus::directory {

/// The libpq functions the PostgreSQL directory calls, with libpq-fe.h's own signatures.
struct Libpq {
    decltype(&::PQconninfoParse) conninfoParse;
    decltype(&::PQconninfoFree) conninfoFree;
    decltype(&::PQfreemem) freemem;
    decltype(&::PQconnectdbParams) connectdbParams;
    decltype(&::PQfinish) finish;
    decltype(&::PQstatus) status;
    decltype(&::PQerrorMessage) errorMessage;
    decltype(&::PQsetNoticeProcessor) setNoticeProcessor;
    decltype(&::PQsocket) socket;
    decltype(&::PQconsumeInput) consumeInput;
    decltype(&::PQisBusy) isBusy;
    decltype(&::PQsendQueryParams) sendQueryParams;
    decltype(&::PQgetResult) getResult;
    decltype(&::PQresultStatus) resultStatus;
    decltype(&::PQresultErrorField) resultErrorField;
    decltype(&::PQresultErrorMessage) resultErrorMessage;
    decltype(&::PQntuples) ntuples;
    decltype(&::PQgetvalue) getvalue;
    decltype(&::PQgetlength) getlength;
    decltype(&::PQcmdTuples) cmdTuples;
    decltype(&::PQclear) clear;
};

/// Loads libpq on the first call (once, thread-safe) and keeps it loaded. A system error
/// ELIBACC ("cannot access a needed shared library") when libpq.so.5 or one of the functions
/// is missing.
Result<const Libpq*> loadLibpq();

/// The loaded functions. Only valid once loadLibpq() succeeded: PgConnection::create()
/// checks it, so everything that holds a connection or a result may call this.
const Libpq& libpq();

}  // namespace nexus::directory
