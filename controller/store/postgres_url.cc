#include "controller/store/postgres_url.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace cenv {

namespace {

constexpr std::string_view kMask = "***";

bool is_secret_key(std::string_view key) {
  std::string k;
  for (size_t i = 0; i < key.size(); ++i) {
    // Query keys may be percent-encoded; decode the simple cases so %70assword is caught.
    if (key[i] == '%' && i + 2 < key.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(key[i + 1]), lo = hex(key[i + 2]);
      if (hi >= 0 && lo >= 0) {
        k.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(key[i]))));
  }
  return k == "password" || k == "sslpassword";
}

// scheme://user:password@host... → scheme://user:***@host...; then password query parameters.
std::string redact_uri(const std::string& url, size_t authority) {
  std::string out = url.substr(0, authority);
  // libpq takes the user info from before an '@' ahead of the first '/'. A password with a
  // raw '/', '?' or '@' (which a URI should percent-encode) still counts as one here: the
  // user info ends at the last '@' before the first '/', or before the first '?' when that is
  // later, so such a password is masked whole.
  auto last_at_before = [&](char stop) {
    size_t end = std::min(url.find(stop, authority), url.size());
    size_t at = end > authority ? url.rfind('@', end - 1) : std::string::npos;
    return at != std::string::npos && at >= authority ? at : std::string::npos;
  };
  size_t at = last_at_before('/');
  if (size_t q = last_at_before('?');
      q != std::string::npos && (at == std::string::npos || q > at)) {
    at = q;
  }
  size_t rest = authority;
  if (at != std::string::npos) {
    std::string_view userinfo(url.data() + authority, at - authority);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      out.append(userinfo);
    } else {
      out.append(userinfo.substr(0, colon + 1));
      out.append(kMask);
    }
    out.push_back('@');
    rest = at + 1;
  }
  size_t query = url.find('?', rest);
  if (query == std::string::npos) {
    out.append(url, rest, std::string::npos);
    return out;
  }
  out.append(url, rest, query + 1 - rest);
  size_t pos = query + 1;
  while (pos <= url.size()) {
    size_t end = url.find_first_of("&#", pos);
    if (end == std::string::npos) end = url.size();
    std::string_view param(url.data() + pos, end - pos);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_key(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append(kMask);
    } else {
      out.append(param);
    }
    if (end == url.size()) break;
    if (url[end] == '#') {
      out.append(url, end, std::string::npos);
      break;
    }
    out.push_back('&');
    pos = end + 1;
  }
  return out;
}

// key = value pairs, values optionally single-quoted with backslash escapes (libpq's
// conninfo syntax). Masks the value of every password key; text it cannot parse after a
// password key is masked to the end.
std::string redact_key_values(const std::string& s) {
  std::string out;
  size_t i = 0;
  const size_t n = s.size();
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    size_t start = i;
    while (i < n && is_space(s[i])) ++i;
    size_t key_start = i;
    while (i < n && !is_space(s[i]) && s[i] != '=') ++i;
    std::string_view key(s.data() + key_start, i - key_start);
    const bool secret = is_secret_key(key);
    while (i < n && is_space(s[i])) ++i;
    if (i >= n || s[i] != '=') {
      // Not key=value: copy as is, unless it follows a password key.
      if (secret) {
        out.append(s, start, key_start + key.size() - start);
        if (i < n) out.append(" ").append(kMask);
        return out;
      }
      out.append(s, start, i - start);
      continue;
    }
    ++i;  // '='
    while (i < n && is_space(s[i])) ++i;
    out.append(s, start, i - start);
    size_t value_start = i;
    if (i < n && s[i] == '\'') {
      ++i;
      while (i < n && s[i] != '\'') i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !is_space(s[i])) i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    }
    if (secret) {
      out.append(kMask);
    } else {
      out.append(s, value_start, i - value_start);
    }
  }
  return out;
}

// Where the authority of "scheme://..." starts, or npos when `url` has no such scheme.
size_t uri_authority(const std::string& url) {
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return std::string::npos;
  for (size_t i = 0; i < sep; ++i) {
    char c = url[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 &&
               (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::string::npos;
  }
  return sep + 3;
}

}  // namespace

std::string redacted_url(const std::string& url) {
  size_t authority = uri_authority(url);
  if (authority != std::string::npos) return redact_uri(url, authority);
  return redact_key_values(url);
}

std::string mask_password(std::string text, const std::string& password) {
  if (password.empty()) return text;
  // Searches on after each mask: a password such as "*" would otherwise be found in it again.
  for (size_t at = 0; (at = text.find(password, at)) != std::string::npos; at += kMask.size()) {
    text.replace(at, password.size(), kMask);
  }
  return text;
}

}  // namespace cenv
