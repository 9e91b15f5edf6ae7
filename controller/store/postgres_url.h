#pragma once
// Keeping a PostgreSQL connection URL's password out of every message. Pure functions;
// thread-safe.

#include <string>

namespace cenv {

// `url` with any password replaced by "***": the password of a URI's user info
// (postgres://user:***@host/db), a "password" URI query parameter and a password=... pair of a
// key=value connection string. Other text is returned unchanged. Never fails.
std::string redacted_url(const std::string& url);

// `text` with every occurrence of `password` replaced by "***"; `text` as it is when
// `password` is empty.
std::string mask_password(std::string text, const std::string& password);

}  // namespace cenv
