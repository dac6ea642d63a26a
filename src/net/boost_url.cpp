// SPDX-License-Identifier: AGPL-3.0-or-later
// Boost.URL compiled into this library, once: Boost 1.81 ships it as sources to build with the
// program (this header) or as a separate shared library; building it here keeps the binary's
// dependencies those of the rest of Boost, which is header-only for us.
#include <boost/url/src.hpp>
